/*
 * sdtrace-test
 * args: -q
 * expect:
 * before
 * ERROR in clause 0: fault 2 at address 0
 * ERROR in clause 2: fault 2 at address 0
 * 7 / 2 = 3, 7 % 2 = 1
 * stderr:
 * sdtrace: 2 errors (division by zero); each ended its clause early
 */
/* Regression: an integer division or remainder by zero yielded 0 and the
 * clause went on. As in DTrace, it ends the clause, fires ERROR with
 * fault type 2 (DTRACEFLT_DIVZERO) and is counted; a fault in a predicate
 * ends the clause too. */
BEGIN
{
	zero = 0;
	printf("before\n");
	x = 7 / zero;
	printf("not reached: x = %d\n", x);
}

ERROR
{
	printf("%s in clause %d: fault %d at address %d\n", probename, arg2, arg4, arg5);
}

BEGIN
/7 % zero == 0/
{
	printf("not reached: the predicate faulted\n");
}

BEGIN
{
	two = 2;
	printf("7 / 2 = %d, 7 %% 2 = %d\n", 7 / two, 7 % two);
	exit(0);
}
