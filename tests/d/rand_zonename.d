/*
 * sdtrace-test
 * expect:
 * global 1 1
 */
/* zonename is "global" (Linux has no zones); rand() gives 32-bit
 * pseudo-random numbers: three in a row are not all equal (one chance in
 * 2^64 that they are) and none is over 2^32 - 1. */
#pragma D option quiet

BEGIN
{
	a = rand();
	b = rand();
	c = rand();
	printf("%s %d %d\n", zonename, a != b || b != c, a <= 0xffffffff && b <= 0xffffffff);
	exit(0);
}
