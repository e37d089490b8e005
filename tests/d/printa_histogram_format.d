/*
 * sdtrace-test
 * args: -q
 * expect:
 * key alpha 1:
 *            value  ------------- Distribution ------------- count
 *                1 |                                         0
 *                2 |@@@@@@@@@@@@@@@@@@@@                     1
 *                4 |@@@@@@@@@@@@@@@@@@@@                     1
 *                8 |                                         0
 * --
 * key beta 2:
 *            value  ------------- Distribution ------------- count
 *                0 |                                         0
 *                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 3
 *                2 |                                         0
 * --
 */
/* printa with a format prints each key tuple's histogram where `%@d`
 * stands, after the keys the format prints first (as DTrace does); the
 * other key's histogram follows in the order of their totals. */
BEGIN
{
	@h["alpha", 1] = quantize(3);
	@h["alpha", 1] = quantize(5);
	@h["beta", 2] = quantize(1);
	@h["beta", 2] = quantize(1);
	@h["beta", 2] = quantize(1);
	printa("key %s %d:%@d--\n", @h);
	exit(0);
}
