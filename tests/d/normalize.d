/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O2} 3"
 * expect:
 * per 4: 3
 * raw: 12
 * per 3: 4
 */
/* fixture:repeated fires with 0 0 1 3 2 6: the sum is 12. normalize
 * divides what printa shows (the divisor evaluated in the clause),
 * denormalize undoes it. */
fixture$target:::repeated
{
	@s = sum(arg0);
	n = 4;
}

END
{
	normalize(@s, n);
	printa("per 4: %@d\n", @s);
	denormalize(@s);
	printa("raw: %@d\n", @s);
	normalize(@s, n - 1);
	printa("per 3: %@d\n", @s);
}
