/*
 * sdtrace-test
 * args: -q
 * expect:
 * key        count   bytes   calls
 * z              0       5       0
 * a              1       0       3
 * b              2      10       3
 */
/* printa with several aggregations: one line per key of any of them, the
 * k-th %@ the k-th aggregation's value (0 where it has none), in the order
 * of the first one's values; normalize() applies to its aggregation only. */
BEGIN
{
	@c["a"] = count();
	@c["b"] = count();
	@c["b"] = count();
	@s["b"] = sum(20);
	@s["z"] = sum(10);
	@n["a"] = sum(3);
	@n["b"] = sum(3);
	normalize(@s, 2);
	exit(0);
}

END
{
	printf("%-8s %7s %7s %7s\n", "key", "count", "bytes", "calls");
	printa("%-8s %@7d %@7d %@7d\n", @c, @s, @n);
}
