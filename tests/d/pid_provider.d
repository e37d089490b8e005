/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O0} 3"
 * expect:
 * atoll("3") = 3
 * repeated_a(0)
 * repeated_a(1)
 * repeated_a(2)
 * repeated_b: 3 calls, arguments sum to 3
 */
/* The pid provider: entry and return of functions of the command's
 * executable (the fixture's static repeated_a and repeated_b, from its
 * symbol table; module `a.out` names the executable, as in dtrace(1)) and
 * of a library (libc's atoll, from .dynsym, named `libc.so.6` or, as
 * dtrace(1) allows, without its version: `libc`), with the arguments on
 * entry and the return value in arg1 on return. */
pid$target:libc.so.6:atoll:entry
{
	self->s = arg0;
}

pid$target:libc:atoll:return
/self->s/
{
	printf("atoll(\"%s\") = %d\n", copyinstr(self->s), arg1);
	self->s = 0;
}

pid$target:a.out:repeated_a:entry
{
	printf("%s(%d)\n", probefunc, arg0);
}

pid$target::repeated_b:entry
{
	@n = count();
	@s = sum(arg0);
}

END
{
	printa("repeated_b: %@d calls, ", @n);
	printa("arguments sum to %@d\n", @s);
}
