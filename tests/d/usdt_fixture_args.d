/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O2} 3"
 * expect:
 * gated 0 0 -100 18446744073709551615
 * text héllo wörld 0
 * gated -1 7 -101 18446744073709551614
 * text héllo wörld 1
 * gated -2 14 -102 18446744073709551613
 * text héllo wörld 2
 *
 *   repeated                                                          6
 *
 *   total                                                            12
 */
fixture$target:::gated
{
	printf("%s %d %d %d %u\n", probename, arg0, arg1, arg2, arg3);
}

fixture$target:::text
{
	printf("%s %s %d\n", probename, copyinstr(arg0), arg1);
}

fixture*:::repeated
{
	@n[probename] = count();
	@total["total"] = sum(arg0);
}
