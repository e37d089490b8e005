/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O2} 3"
 * expect:
 * repeated 6
 *
 */
/* A probe-name test that no probe of the program can pass is a constant
 * (it was once a branch the verifier refused as unreachable). */
fixture$target:::repeated
/probefunc != "no_such_function"/
{
	@[probename] = count();
}

fixture$target:::repeated
/probefunc == "no_such_function"/
{
	@never = count();
}

END
{
	printa("%s %@d\n", @);
}
