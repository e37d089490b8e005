/*
 * sdtrace-test
 * args: -q -c "cat /etc/hostname"
 * expect-in-order:
 *
 *               vmlinux`*
 *               vmlinux`do_syscall_64+0x*
 *               vmlinux`entry_SYSCALL_64*
 *
 *               vmlinux`do_syscall_64+0x*
 *               vmlinux`entry_SYSCALL_64*
 *                1
 */
/* stack() as an action prints the kernel stack of the syscall (sys_enter
 * runs from do_syscall_64, entered from entry_SYSCALL_64), and as an
 * aggregation key it prints the stack and then the count. */
int done;

syscall::openat:entry
/pid == $target && done == 0/
{
	done = 1;
	stack();
	@[stack()] = count();
}
