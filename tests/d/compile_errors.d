/*
 * sdtrace-test
 * requires:
 * status: 2
 * stderr:
 * compile_errors.d:15:24: error: `%d` needs an integer, this is a string
 * compile_errors.d:16:6: error: `y` is read but never assigned
 */
/* Two type errors, both reported, with file:line:col. */
BEGIN
{
	x = 1;
}

BEGIN {	printf("%d\n", execname);
	x = y + 1;
}
