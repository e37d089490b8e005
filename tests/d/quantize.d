/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O2} 3"
 * expect:
 *
 *
 *            value  ------------- Distribution ------------- count
 *               -1 |                                         0
 *                0 |@@@@@@@@@@@@@                            2
 *                1 |@@@@@@@                                  1
 *                2 |@@@@@@@@@@@@@                            2
 *                4 |@@@@@@@                                  1
 *                8 |                                         0
 *
 *   repeated
 *
 *            value  ------------- Distribution ------------- count
 *              < 0 |                                         0
 *                0 |@@@@@@@@@@@@@@@@@@@@                     3
 *                2 |@@@@@@@@@@@@@                            2
 *             >= 4 |@@@@@@@                                  1
 */
/* fixture:repeated fires with 0 0 1 3 2 6 (two sites, three rounds):
 * power-of-two and linear histograms, printed as dtrace(1) prints them. */
fixture$target:::repeated
{
	@q = quantize(arg0);
	@l[probename] = lquantize(arg0, 0, 4, 2);
}

END
{
	printa(@q);
	printa(@l);
}
