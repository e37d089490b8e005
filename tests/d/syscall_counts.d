/*
 * sdtrace-test
 * args: -q -c /bin/true
 * expect-lines:
 * execve 1
 * exit_group 1
 */
/* The classic: count a command's syscalls by name. */
syscall:::entry
/pid == $target/
{
	@[probefunc] = count();
}

END
{
	printa("%s %@d\n", @);
}
