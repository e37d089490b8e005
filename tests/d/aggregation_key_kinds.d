/*
 * sdtrace-test
 * expect:
 *
 *   sdtrace                                            BEGIN                                                             2
 *
 *                  1                2
 *                 -1               12
 */
/* Aggregation keys are typed by kind of value, as in DTrace: a string is
 * a string whether the program built it or it names the probe (so the
 * literal "BEGIN" and probename are one key, counted twice), and integers
 * of any width are one 64-bit key (so (uint8_t)257, which is 1, and 1ll
 * are one key; (int16_t)-1 and 2^64-1 another). */
#pragma D option quiet

BEGIN
{
	@calls["sdtrace", "BEGIN"] = count();
	@calls[execname, probename] = count();
	@w[(uint8_t)257] = sum(1);
	@w[1ll] = sum(1);
	@w[(int16_t)-1] = sum(5);
	@w[0xffffffffffffffff] = sum(7);
	exit(0);
}
