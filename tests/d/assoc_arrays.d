/*
 * sdtrace-test
 * args: -q -c "/bin/echo hello"
 * expect:
 * wrote 6 of 6 to fd 1
 * after delete: 0 []
 * echo: 1 write(s) to fd 1, 0 to fd 2
 * missing: 0 []
 */
/* Associative arrays: global tuple keys (string, integer), thread-local
 * arrays, string values, and assigning 0 or "" to delete an entry. */
syscall::write:entry
/pid == $target/
{
	self->len["write", arg0] = arg2;
	self->what[arg0] = "stdout";
	writes[execname, arg0]++;
	name[pid] = execname;
}

syscall::write:return
/pid == $target && self->len["write", 1] != 0/
{
	printf("wrote %d of %d to fd %d\n", arg0, self->len["write", 1], 1);
	self->len["write", 1] = 0;
	self->what[1] = "";
	printf("after delete: %d [%s]\n", self->len["write", 1], self->what[1]);
}

END
{
	printf("%s: %d write(s) to fd 1, %d to fd 2\n", name[$target], writes["echo", 1], writes["echo", 2]);
	printf("missing: %d [%s]\n", writes["nobody", 0], name[0]);
}
