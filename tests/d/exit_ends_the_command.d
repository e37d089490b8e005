/*
 * sdtrace-test
 * args: -q -c "sleep 30"
 * timeout: 10
 * status: 4
 * expect:
 * leaving
 */
/* Regression: exit() ended tracing at once, but sdtrace then waited for
 * the -c command to finish on its own (30 s here), untraced. Now, as with
 * dtrace(1) and bpftrace, the command does not outlive the run. */
BEGIN
{
	printf("leaving\n");
	exit(4);
}
