/*
 * sdtrace-test
 * args: -q -c "{rust:debug} 3 300"
 * expect-in-order:
 * ints
 *               rust_fixture`rust_fixture::fire_round+0x*
 * generic
 *               rust_fixture`rust_fixture::generic_site+0x*
 */
/* ustack() names the frames of a Rust program as Rust code does, without
 * the symbols' hashes (the binary's .symtab holds
 * _ZN12rust_fixture10fire_round17h...E). Only the probe's own frame is
 * printed: the debug build does not keep frame pointers everywhere, so
 * the frames above it vary. generic_site is the generic function that
 * fires `generic`. The stacks of the first round print while the fixture
 * sleeps 0.3 s before the next, so its mappings can still be read. */
int generic_done;

fixture$target:::ints
/args->a == 1/
{
	printf("ints");
	ustack(1);
}

fixture$target:::generic
/args->which == 1 && generic_done == 0/
{
	generic_done = 1;
	printf("generic");
	ustack(1);
}
