/*
 * sdtrace-test
 * args: -q -c "sh -c 'kill -9 $$'"
 * expect:
 * ended
 * stderr:
 * (`sh -c kill -9 $$`) was killed by SIGKILL (9)
 */
/* Regression: a -c command killed by a signal ended the run without a
 * word; it is reported, then END runs. */
END
{
	printf("ended\n");
}
