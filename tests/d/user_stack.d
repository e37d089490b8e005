/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O0} 200 slow"
 * expect-in-order:
 * first:
 *               sdt_basic_O0`repeated_a+0x*
 *               sdt_basic_O0`main+0x*
 *
 *               sdt_basic_O0`repeated_a+0x*
 *               sdt_basic_O0`main+0x*
 *                200
 *
 *               sdt_basic_O0`repeated_b+0x*
 *               sdt_basic_O0`main+0x*
 *                200
 */
/* ustack() names the fixture's functions from the probe's function up to
 * main (the -O0 build keeps frame pointers), as an action and as an
 * aggregation key; the aggregation prints at the end, after the fixture
 * has exited. repeated_a and repeated_b each fire `repeated` 200 times,
 * 1 ms apart, so the run lasts long enough for sdtrace to read the
 * fixture's maps. */
int done;

fixture$target:::repeated
/done == 0/
{
	done = 1;
	printf("first:");
	ustack(2);
}

fixture$target:::repeated
{
	@[ustack()] = count();
}
