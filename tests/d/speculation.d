/*
 * sdtrace-test
 * args: -q -c "cat /etc/hostname /nonexistent-sdtrace-a /etc/hostname /nonexistent-sdtrace-b"
 * status: 0
 * expect:
 * open /nonexistent-sdtrace-a (ENOENT)
 * open /nonexistent-sdtrace-b (ENOENT)
 */
/* The classic pattern: each openat of the files named here speculates its
 * line, and only the calls that fail commit it; the successful opens of
 * /etc/hostname are discarded, so they never print. */
syscall::openat:entry
/pid == $target && (index(copyinstr(arg1), "/etc/hostname") == 0 ||
    index(copyinstr(arg1), "/nonexistent-sdtrace") == 0)/
{
	self->spec = speculation();
	speculate(self->spec);
	printf("open %s", copyinstr(arg1));
}

syscall::openat:return
/self->spec/
{
	speculate(self->spec);
	printf(" (%s)\n", errno == 2 ? "ENOENT" : "ok");
}

syscall::openat:return
/self->spec && errno != 0/
{
	commit(self->spec);
	self->spec = 0;
}

syscall::openat:return
/self->spec/
{
	discard(self->spec);
	self->spec = 0;
}
