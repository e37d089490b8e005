/*
 * sdtrace-test
 * args: -q -x nspec=1
 * expect:
 * first: 1
 * after committing it twice, one more: 1
 * and another while that one is active: 0
 */
/* Ending a speculation that has already ended does nothing: with nspec=1,
 * committing the same id twice still leaves room for exactly one. */
BEGIN
{
	a = speculation();
	printf("first: %d\n", a != 0);
	commit(a);
	commit(a);
	discard(a);
	b = speculation();
	c = speculation();
	printf("after committing it twice, one more: %d\n", b != 0);
	printf("and another while that one is active: %d\n", c != 0);
	exit(0);
}
