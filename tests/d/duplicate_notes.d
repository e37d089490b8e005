/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_dup_notes} 1000"
 * expect:
 * hits 1000
 */
/* Regression: a site described by three identical notes (the fixture's
 * readelf -n shows three) was probed three times, so each of the 1,000
 * hits the fixture makes counted three times. */
fixture$target:::dup
{
	@ = count();
}

END
{
	printa("hits %@d\n", @);
}
