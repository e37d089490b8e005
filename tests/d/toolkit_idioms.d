/*
 * sdtrace-test
 * expect:
 * without an argument
 * [] 1 9
 * lines 4
 */
/* Idioms of the DTraceToolkit's scripts: `$1 ? printf(…) : printf(…);`
 * as a statement (cpuwalk.d), 0 assigned to a string thread-local frees
 * it (py_malloc.d), signal names (crash.d), and an increment in a
 * predicate, which happens as the predicate is tested (sar-c.d): the
 * fourth tick sees 3 > 2 and leaves lines at 4. */
#pragma D option quiet
#pragma D option defaultargs

BEGIN
{
	$1 ? printf("with an argument\n") : printf("without an argument\n");
	self->f = "x";
	self->f = 0;
	printf("[%s] %d %d\n", self->f, self->f == NULL, SIGKILL);
}

tick-1ms
/lines++ > 2/
{
	printf("lines %d\n", lines);
	exit(0);
}
