/*
 * sdtrace-test
 * requires: root, /usr/bin/python3.11
 * args: -c "/usr/bin/python3.11 {file:fib.py}"
 * expect-lines:
 * fib {file:fib.py} 177
 * main {file:fib.py} 1
 * stderr:
 * sdtrace enables `line` too, with no program on its sites
 */
/* function-entry on CPython 3.11 sees every call made from Python: the
 * interpreter fires it only while its line probe is enabled (cpython
 * #98894), so sdtrace raises that probe's semaphore itself and says so (unless -q).
 * fib(10) makes 177 calls. Without that help this counted main only. */
python$target:::function-entry
{
	@calls[copyinstr(arg1), copyinstr(arg0)] = count();
}

END
{
	printa("%s %s %@d\n", @calls);
}
