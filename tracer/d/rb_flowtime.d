#!/usr/bin/env -S sdtrace -s
/*
 * rb_flowtime.d: Ruby method entries and returns, indented by call depth,
 * with the syscalls they make interleaved and the time between one line
 * and the next.
 *
 *   sdtrace -s tracer/d/rb_flowtime.d -c 'ruby -r./tracer/d/rb_tracepoint.rb app.rb'
 *
 * Columns: CPU, microseconds since the previous line (DELTA), then the
 * event: `-> Class#method (FILE:LINE)` on entry, `<- Class#method` on
 * return, `=> SYSCALL` / `<= SYSCALL = RESULT` for syscalls made inside
 * Ruby methods.
 *
 * Ruby 3.1 fires method-entry and method-return only while a TracePoint
 * for :call and :return is enabled: run the program with
 * `-r./tracer/d/rb_tracepoint.rb` (a path: `-r` without `./` searches
 * Ruby's load path), which enables an empty one. Methods
 * written in C (cmethod-entry) are left out: Debian's Ruby 3.1.2 crashes
 * when that probe is enabled.
 */

#pragma D option quiet
#pragma D option switchrate=10ms

self int depth;

dtrace:::BEGIN
{
	printf("%3s %9s  %s\n", "CPU", "DELTA(us)", "EVENT");
	last = timestamp;
}

ruby$target:::method-entry
{
	printf("%3d %9d  %*s-> %s#%s (%s:%d)\n", cpu, (timestamp - last) / 1000, self->depth * 2, "",
	    copyinstr(arg0), copyinstr(arg1), basename(copyinstr(arg2)), arg3);
	self->depth++;
	last = timestamp;
}

ruby$target:::method-return
{
	self->depth -= self->depth > 0 ? 1 : 0;
	printf("%3d %9d  %*s<- %s#%s (%s:%d)\n", cpu, (timestamp - last) / 1000, self->depth * 2, "",
	    copyinstr(arg0), copyinstr(arg1), basename(copyinstr(arg2)), arg3);
	last = timestamp;
}

syscall:::entry
/pid == $target && self->depth > 0/
{
	printf("%3d %9d  %*s=> %s\n", cpu, (timestamp - last) / 1000, self->depth * 2, "", probefunc);
	last = timestamp;
}

syscall:::return
/pid == $target && self->depth > 0/
{
	printf("%3d %9d  %*s<= %s = %d\n", cpu, (timestamp - last) / 1000, self->depth * 2, "", probefunc,
	    (int)arg0);
	last = timestamp;
}
