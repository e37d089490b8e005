/*
 * sdtrace-test
 * args: -q
 * status: 255
 * expect:
 * exiting
 */
/* Regression: exit(-1) made sdtrace exit 0. Like dtrace(1), whose status
 * goes through exit(3), sdtrace exits with the low 8 bits: 255. */
BEGIN
{
	printf("exiting\n");
	exit(-1);
}
