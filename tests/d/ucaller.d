/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O0} 50 slow"
 * expect:
 *
 *   entry                                              sdt_basic_O0`main                                                50
 *   return                                             sdt_basic_O0`main                                                50
 */
/* ucaller in pid provider probes: the fixture's main calls repeated_a
 * once a round (50 rounds, 1 ms apart so that sdtrace reads its maps while
 * it runs), so on entry (the return address at the stack pointer) and on
 * return (the instruction pointer a uretprobe sees) the caller is main. */
pid$target:a.out:repeated_a:entry,
pid$target:a.out:repeated_a:return
{
	@[probename, ufunc(ucaller)] = count();
}
