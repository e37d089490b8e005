/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O0} 1 soak"
 * expect:
 * [sdt_basic_O0`on_term] [sdt_basic_O0`on_term] [sdt_basic_O0] [sdt_basic_O0`on_term+0x4]
 *
 *   sdt_basic_O0`on_term                                              1
 */
/* usym(), ufunc(), umod() and uaddr() show a user address as the symbol
 * that holds it in the process that fired: in soak mode the fixture
 * installs its `on_term` function as the SIGTERM handler, so libc's
 * signal() gets that function's address as its second argument. As an
 * aggregation key, usym() prints as the symbol. */
pid$target:libc.so.6:signal:entry
{
	printf("[%s] [%s] [%s] [%s]\n", usym(arg1), ufunc(arg1), umod(arg1), uaddr(arg1 + 4));
	@[usym(arg1)] = count();
	exit(0);
}
