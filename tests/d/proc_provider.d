/*
 * sdtrace-test
 * args: -q -c {file:spawn.sh}
 * expect:
 * exec spawn.sh
 * create: a child of the target
 * exec true
 * exit true
 * create: a child of the target
 * exec echo
 * exit echo
 * exit spawn.sh
 */
/* proc:::create (arg0 is the child's pid), exec-success and exit, limited
 * to the target and its children. */
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
	printf("exit %s\n", execname);
}
