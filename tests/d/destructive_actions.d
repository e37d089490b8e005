/*
 * sdtrace-test
 * args: -w -c "/bin/sh {file:trap_usr1.sh}"
 * expect:
 * before
 * system says 42
 * after
 * /bin/echo shell got USR1
 */
/* With -w, system() runs its text with /bin/sh -c between the records
 * around it (its output is the program's), and raise() signals the
 * process that fired: the shell waits for sleep (wait4), gets SIGUSR1
 * there, and only then does its trap run echo, whose exec is seen. */
#pragma D option quiet

BEGIN
{
	printf("before\n");
	system("echo system says %d", 42);
	printf("after\n");
}

syscall::wait4:entry
/pid == $target && !sent/
{
	sent = 1;
	raise(10);
}

proc:::exec-success
/execname == "echo" && ppid == $target/
{
	printf("%s\n", curpsinfo->pr_psargs);
}
