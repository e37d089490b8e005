/*
 * sdtrace-test
 * args: -q -c "/bin/sh {file:run_child.sh} {rust:debug} 2"
 * expect:
 * generic 1 1 rust_fixture child
 * generic 2 two rust_fixture child
 * generic 3 3.5 rust_fixture child
 * generic 1 2 rust_fixture child
 * generic 2 two rust_fixture child
 * generic 3 3.5 rust_fixture child
 */
/* A module field that is a path traces the object in every process, with
 * no -p or -c needed: here the probes fire in a child of the -c command,
 * which a $target-scoped probe would not see. The predicate keeps out
 * other runs of the fixture on the machine. */
fixture:{rust:debug}::generic
/progenyof($target)/
{
	printf("generic %d %s %s %s\n", args->which, args->what, execname,
	    pid == $target ? "target" : "child");
}
