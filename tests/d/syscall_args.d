/*
 * sdtrace-test
 * args: -q -c "/bin/echo hello"
 * expect-lines:
 * write fd=1 n=6
 * wrote 6 errno=0
 */
syscall::write:entry
/pid == $target/
{
	printf("write fd=%d n=%d\n", arg0, arg2);
}

syscall::write:return
/pid == $target/
{
	printf("wrote %d errno=%d\n", arg0, errno);
}
