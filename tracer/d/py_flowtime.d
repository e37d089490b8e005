#!/usr/bin/env -S sdtrace -s
/*
 * py_flowtime.d: Python function entries and returns, indented by call
 * depth, with the syscalls they make interleaved and the time between one
 * line and the next.
 *
 *   sdtrace -s tracer/d/py_flowtime.d -c 'python3.11 app.py'
 *   sdtrace -s tracer/d/py_flowtime.d -p PID
 *
 * Columns: CPU, microseconds since the previous line (DELTA), then the
 * event: `-> FUNC (FILE:LINE)` on entry, `<- FUNC (FILE:LINE)` on return,
 * `=> SYSCALL` / `<= SYSCALL = RESULT` for syscalls made inside Python code.
 *
 * CPython 3.11 fires function-entry only while its `line` probe is
 * enabled (cpython#98894); sdtrace enables it for function-entry itself,
 * with no program on its sites (docs/d-language.md).
 */

#pragma D option quiet
#pragma D option switchrate=10ms

self int depth;

dtrace:::BEGIN
{
	printf("%3s %9s  %s\n", "CPU", "DELTA(us)", "EVENT");
	last = timestamp;
}

python$target:::function-entry
{
	printf("%3d %9d  %*s-> %s (%s:%d)\n", cpu, (timestamp - last) / 1000, self->depth * 2, "",
	    copyinstr(arg1), basename(copyinstr(arg0)), arg2);
	self->depth++;
	last = timestamp;
}

python$target:::function-return
{
	self->depth -= self->depth > 0 ? 1 : 0;
	printf("%3d %9d  %*s<- %s (%s:%d)\n", cpu, (timestamp - last) / 1000, self->depth * 2, "",
	    copyinstr(arg1), basename(copyinstr(arg0)), arg2);
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
