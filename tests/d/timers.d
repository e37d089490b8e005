/*
 * sdtrace-test
 * args: -q
 * expect:
 * tick 1
 * tick 2
 * tick 3
 * profile fired on CPU 0: 1
 */
/* tick-N fires on one CPU at its rate; profile-N fires on every CPU,
 * idle ones included, so CPU 0 sees it too. */
profile-997
{
	seen[cpu] = 1;
}

tick-20ms
{
	n++;
	printf("tick %d\n", n);
}

tick-20ms
/n == 3/
{
	printf("profile fired on CPU 0: %d\n", seen[0]);
	exit(0);
}
