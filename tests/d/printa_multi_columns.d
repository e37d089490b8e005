/*
 * sdtrace-test
 * args: -q
 * expect:
 *
 *   z                                                                 0               10
 *   a                                                                 1                0
 *   b                                                                 2               20
 * --- normalized ties
 * b 0
 * a 0
 * b 0 0
 * a 0 1
 * --- a histogram
 * a: 1 calls
 * b: 2 calls
 *            value  ------------- Distribution ------------- count
 *                0 |                                         0
 *                1 |@@@@@@@@@@@@@                            1
 *                2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@              2
 *                4 |                                         0
 *
 * --- a histogram, no format
 *   a                                                                 1
 *
 *   b                                                                 2
 *
 *            value  ------------- Distribution ------------- count
 *                0 |                                         0
 *                1 |@@@@@@@@@@@@@                            1
 *                2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@              2
 *                4 |                                         0
 */
/* printa of several aggregations without a format prints the keys, then
 * each aggregation's value in a column; with histograms, each histogram
 * (none where the key has none) below the keys. Rows go in the order of
 * the first aggregation's values as printa of it alone would print them:
 * before normalize() divides them (@t's 3 and 4 both print as 0, and b,
 * with 3, comes first, alone or with @u). */
BEGIN
{
	@c["a"] = count();
	@c["b"] = count();
	@c["b"] = count();
	@s["b"] = sum(20);
	@s["z"] = sum(10);
	@t["a"] = sum(4);
	@t["b"] = sum(3);
	@u["a"] = sum(1);
	@h["b"] = quantize(1);
	@h["b"] = quantize(2);
	@h["b"] = quantize(2);
	normalize(@t, 8);
	exit(0);
}

END
{
	printa(@c, @s);
	printf("--- normalized ties\n");
	printa("%s %@d\n", @t);
	printa("%s %@d %@d\n", @t, @u);
	printf("--- a histogram\n");
	printa("%s: %@d calls%@d\n", @c, @h);
	printf("--- a histogram, no format");
	printa(@c, @h);
}
