#!/usr/bin/env -S sdtrace -s
/*
 * py_cputime.d: for each Python function, the calls, the time elapsed
 * inside it and the part of that time its thread spent on a CPU
 * (children included in both), so that waiting (sleep, I/O, locks, being
 * preempted) shows as the difference.
 *
 *   sdtrace -s tracer/d/py_cputime.d -c 'python3.11 app.py'
 *   sdtrace -s tracer/d/py_cputime.d -p PID      (Ctrl-C to print)
 *
 * Times are in microseconds. `vtimestamp` counts a thread's time on a
 * CPU; see docs/d-language.md.
 */

#pragma D option quiet

self int depth;

python$target:::function-entry
{
	self->ts[self->depth] = timestamp;
	self->vts[self->depth] = vtimestamp;
	self->depth++;
}

python$target:::function-return
/self->depth > 0/
{
	this->ts = timestamp;
	this->vts = vtimestamp;
	self->depth--;
	this->file = basename(copyinstr(arg0));
	this->func = copyinstr(arg1);
	@calls[this->file, this->func] = count();
	@elapsed[this->file, this->func] = sum(this->ts - self->ts[self->depth]);
	@oncpu[this->file, this->func] = sum(this->vts - self->vts[self->depth]);
	self->ts[self->depth] = 0;
	self->vts[self->depth] = 0;
}

dtrace:::END
{
	normalize(@elapsed, 1000);
	normalize(@oncpu, 1000);
	printf("%-16s %-24s %8s %12s %12s\n", "FILE", "FUNCTION", "CALLS", "ELAPSED(us)", "ON-CPU(us)");
	printa("%-16s %-24s %@8d %@12d %@12d\n", @calls, @elapsed, @oncpu);
}
