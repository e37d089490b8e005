/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O2} 3"
 * expect:
 * sum 12
 * min 0
 * max 6
 * avg 2
 * 6:1
 * 0:2
 */
/* fixture:repeated fires with 0 0 1 3 2 6 (two sites, three rounds). */
fixture$target:::repeated
{
	@c[arg0] = count();
	@s = sum(arg0);
	@mn = min(arg0);
	@mx = max(arg0);
	@av = avg(arg0);
}

END
{
	printa("sum %@d\n", @s);
	printa("min %@d\n", @mn);
	printa("max %@d\n", @mx);
	printa("avg %@d\n", @av);
	trunc(@c, 2);
	printa("%d:%@d\n", @c);
}
