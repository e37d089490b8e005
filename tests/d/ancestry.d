/*
 * sdtrace-test
 * args: -q -c {file:spawn.sh}
 * expect:
 * spawn.sh: parent is sdtrace 1, progeny of sdtrace 1, of init 1, of pid 0 0
 * true: parent is the target 1, progeny of the target 1, curthread set 1
 * echo: parent is the target 1, progeny of the target 1, curthread set 1
 * sh: parent is the target 1, progeny of the target 1, curthread set 1
 */
/* ppid, progenyof() and curthread: the command's parent is sdtrace, its
 * children's parent is the command. */
proc:::exec-success
/pid == $target/
{
	printf("%s: parent is sdtrace %d, progeny of sdtrace %d, of init %d, of pid 0 %d\n", execname,
	    ppid == $pid, progenyof($pid), progenyof(1), progenyof(0));
}

proc:::exec-success
/pid != $target && progenyof($target)/
{
	printf("%s: parent is the target %d, progeny of the target %d, curthread set %d\n", execname,
	    ppid == $target, progenyof($target), curthread != 0);
}
