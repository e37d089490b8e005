/*
 * sdtrace-test
 * requires: root, /usr/bin/python3.11
 * args: -q -c "/usr/bin/python3.11 {file:flow.py}"
 * expect:
 * main       1 calls
 * read_file  2 calls
 * work       2 calls
 * fib        5 calls
 * fib        timed 1
 * main       timed 1
 * read_file  timed 1
 * work       timed 1
 * main includes work: 1
 */
/* Time spent per Python function, the classic way: a self-> timestamp per
 * call depth, taken at entry and read at the matching return. (CPython
 * 3.11 fires function-entry only while its line probe is enabled, hence
 * the empty line clause.) Each time must be under a second: a stale or
 * missing start would not be. */
self int depth;

python$target:::line
/0/
{
}

python$target:::function-entry
{
	self->ts[self->depth++] = timestamp;
}

python$target:::function-return
/self->depth > 0/
{
	this->name = copyinstr(arg1);
	this->elapsed = timestamp - self->ts[--self->depth];
	self->ts[self->depth] = 0;
}

python$target:::function-return
/basename(copyinstr(arg0)) == "flow.py" && this->name != "<module>"/
{
	@calls[this->name] = count();
	@timed[this->name] = min(this->elapsed > 0 && this->elapsed < 1000000000 ? 1 : 0);
	work_total += this->name == "work" ? this->elapsed : 0;
	main_total += this->name == "main" ? this->elapsed : 0;
}

END
{
	printa("%-10s %@d calls\n", @calls);
	printa("%-10s timed %@d\n", @timed);
	printf("main includes work: %d\n", main_total > work_total && work_total > 0);
}
