/*
 * sdtrace-test
 * args: -q -c "{file:read_stdin.sh} {file:flow.py}"
 * expect-lines:
 * calls dd
 * calls read_stdin.sh
 * calls true
 * expect-in-order:
 *   dd
 *               32 |                                         0
 *               64 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 3
 *              128 |                                         0
 * dd read 300 bytes from stdin
 */
/* Two classic one-liners, scoped to the command and its children with
 * progenyof(): syscalls by process, and read sizes by process name (reads
 * of stdin only, so the dynamic loader's reads do not count). The counts
 * per process vary with the C library; the names and dd's three reads of
 * 100 bytes do not. */
syscall:::entry
/progenyof($target)/
{
	@calls[execname] = count();
}

syscall::read:entry
/progenyof($target) && arg0 == 0/
{
	self->stdin = 1;
}

syscall::read:return
/self->stdin && arg0 > 0/
{
	@sizes[execname] = quantize(arg0);
	@bytes[execname] = sum(arg0);
}

syscall::read:return
/self->stdin/
{
	self->stdin = 0;
}

END
{
	printa("calls %s\n", @calls);
	printa(@sizes);
	printa("%s read %@d bytes from stdin\n", @bytes);
}
