/*
 * sdtrace-test
 * requires: root, /usr/bin/python3.11
 * args: -q -c "/usr/bin/python3.11 {file:fib.py}"
 * expect-lines:
 * fib {file:fib.py} 177
 * main {file:fib.py} 1
 */
/* Python calls by function and file (function-return: CPython 3.11 fires
 * function-entry only for frames entered from C). */
python$target:::function-return
{
	@calls[copyinstr(arg1), copyinstr(arg0)] = count();
}

END
{
	printa("%s %s %@d\n", @calls);
}
