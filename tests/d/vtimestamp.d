/*
 * sdtrace-test
 * requires: root, /usr/bin/python3.11
 * args: -q -c "/usr/bin/python3.11 {file:cpu_then_sleep.py}"
 * expect:
 * work on a CPU counted: 1
 * time asleep left out: 1
 * on-CPU time within elapsed time: 1
 */
/* vtimestamp counts only the time the thread spends on a CPU. Between the
 * script's two getppid calls it computes for about 0.1 s, then sleeps for
 * 0.3 s: the vtimestamp difference must hold the first and not the
 * second. */
self uint64_t t;
self uint64_t v;
self int seen;

syscall::getppid:entry
/pid == $target && self->seen == 1/
{
	this->elapsed = timestamp - self->t;
	this->oncpu = vtimestamp - self->v;
	printf("work on a CPU counted: %d\n", this->oncpu >= 30000000);
	printf("time asleep left out: %d\n", this->elapsed - this->oncpu >= 250000000);
	printf("on-CPU time within elapsed time: %d\n", this->oncpu <= this->elapsed);
	exit(0);
}

syscall::getppid:entry
/pid == $target && self->seen == 0/
{
	self->t = timestamp;
	self->v = vtimestamp;
	self->seen = 1;
}
