/*
 * sdtrace-test
 * args: -q
 * expect:
 *
 *   classic                                                           2
 *   wide                                                     5000000000
 *
 *
 *            value  ------------- Distribution ------------- count
 *              < 1 |@@@@@@@@                                 1
 *                1 |                                         0
 *                2 |                                         0
 *                3 |@@@@@@@@@@@@@@@@                         2
 *                4 |                                         0
 *                5 |                                         0
 *                6 |                                         0
 *                7 |                                         0
 *                8 |                                         0
 *                9 |                                         0
 *               10 |                                         0
 *               15 |@@@@@@@@                                 1
 *               20 |                                         0
 *               25 |                                         0
 *               30 |                                         0
 *               35 |                                         0
 *               40 |                                         0
 *               45 |                                         0
 *               50 |                                         0
 *               55 |                                         0
 *               60 |                                         0
 *               65 |                                         0
 *               70 |                                         0
 *               75 |                                         0
 *               80 |                                         0
 *               85 |                                         0
 *               90 |                                         0
 *               95 |@@@@@@@@                                 1
 *           >= 100 |                                         0
 */
/* stddev: 2, 4, 4, 4, 5, 5, 7, 9 has mean 5 and standard deviation 2; two
 * values of ±5e9 need the 128-bit sum of squares (5e9² · 2 > 2^64).
 * llquantize(x, 10, 0, 1, 20): below 1, then 1..9 (steps of 10/20,
 * at least 1), 10..95 in steps of 5, then 100 and above (dtrace(1)'s layout). */
BEGIN
{
	@s["classic"] = stddev(2);
	@s["classic"] = stddev(4);
	@s["classic"] = stddev(4);
	@s["classic"] = stddev(4);
	@s["classic"] = stddev(5);
	@s["classic"] = stddev(5);
	@s["classic"] = stddev(7);
	@s["classic"] = stddev(9);
	@s["wide"] = stddev(-5000000000);
	@s["wide"] = stddev(5000000000);
	@l = llquantize(-4, 10, 0, 1, 20);
	@l = llquantize(3, 10, 0, 1, 20);
	@l = llquantize(3, 10, 0, 1, 20);
	@l = llquantize(17, 10, 0, 1, 20);
	@l = llquantize(99, 10, 0, 1, 20);
	exit(0);
}
