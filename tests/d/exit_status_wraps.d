/*
 * sdtrace-test
 * args: -q
 * status: 1
 * expect:
 * exiting
 */
/* Regression: exit(257) made sdtrace exit 255. The status is the low 8
 * bits of the value, as exit(3) takes it. */
BEGIN
{
	printf("exiting\n");
	exit(257);
}
