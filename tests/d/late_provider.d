/*
 * sdtrace-test
 * args: -q -Z -c "{example:runtime_provider} 12 100"
 * env: RTPROV_DELAY_MS=600
 * expect-lines:
 * ints -10
 * ints -11
 * ints -12
 * twelve 1200 -12
 * last -12
 */
/* The run-time provider is loaded 600 ms after the command starts, so at
 * the start nothing matches (-Z): sdtrace reads the command's maps while it
 * runs, and compiles and attaches the clauses for the new object then.
 * Rounds are 100 ms apart and the maps are read every 100 ms, so the first
 * round or two may come before the attachment; the last ones may not. */
rtprov$target:::ints
{
	printf("ints %d\n", arg0);
	last = arg0;
}

/* probename is compared with the ids of the probes found later. */
rtprov$target:::*
/probename == "twelve" && arg11 == -12/
{
	printf("twelve %d %d\n", arg0, arg11);
}

END
{
	printf("last %d\n", last);
}
