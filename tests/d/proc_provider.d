/*
 * sdtrace-test
 * args: -q -c {file:spawn.sh}
 * expect:
 * exec spawn.sh
 * create: a child of the target
 * exec true
 * exit true, reason 1
 * create: a child of the target
 * exec echo
 * exit echo, reason 1
 * create: a child of the target
 * exec sh
 * exit sh, reason 2
 * exit spawn.sh, reason 1
 */
/* proc:::create (arg0 is the child's pid), exec-success and exit (arg0 is
 * 1 for an exit, 2 for a kill by a signal), limited to the target and its
 * children. */
proc:::create
/pid == $target/
{
	child[arg0] = 1;
	printf("create: %s\n", arg0 != pid ? "a child of the target" : "the target itself");
}

proc:::exec-success
/pid == $target || child[pid]/
{
	printf("exec %s\n", execname);
}

proc:::exit
/pid == $target || child[pid]/
{
	printf("exit %s, reason %d\n", execname, arg0);
}
