#!/usr/sbin/dtrace -s
/*
 * Latency of read(2) by process, with a threshold from the command line.
 */
#pragma D option quiet
#pragma D option bufsize=16m

self uint64_t start;
int seen[string, int];
this char *name;

syscall::read:entry
/pid == $target/
{
	self->start = timestamp;
	this->fd = (int)arg0;
}

syscall::read:return
/self->start/
{
	this->delta = timestamp - self->start;
	if (this->delta > $1 * 1000) {
		@slow[execname, probefunc] = quantize(this->delta);
		seen[execname, 0]++;
	} else
		@fast = count();
	self->start = 0;
}

END
{
	printa("%s %s %@d\n", @slow);
	trace(sizeof(struct task));
}
