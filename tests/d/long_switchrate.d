/*
 * sdtrace-test
 * args: -q -x switchrate=60s -c "sleep 0.3"
 * timeout: 10
 * expect:
 * ended
 */
/* Regression: the run loop slept a whole switchrate between checks, so
 * the end of the command (and Ctrl-C) was seen only 60 s later. */
END
{
	printf("ended\n");
}
