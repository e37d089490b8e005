/*
 * sdtrace-test
 * args: -q
 * expect:
 * before the fault
 * ERROR in clause 0: fault 1 at address 16
 * the next clause runs
 * stderr:
 * sdtrace: 1 error (invalid user address in copyin or copyinstr); it ended its clause early
 */
/* A bad address in copyinstr ends its clause, fires ERROR (arg2 the
 * clause, arg4 the fault type, arg5 the address), is counted and reported
 * at the end, and the program goes on. */
BEGIN
{
	printf("before the fault\n");
	s = copyinstr(16);
	printf("not reached: the fault ended the clause\n");
}

ERROR
{
	printf("%s in clause %d: fault %d at address %d\n", probename, arg2, arg4, arg5);
}

BEGIN
{
	printf("the next clause runs\n");
	exit(0);
}
