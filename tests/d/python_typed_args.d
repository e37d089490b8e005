/*
 * sdtrace-test
 * requires: root, /usr/bin/python3.11
 * args: -q -c "/usr/bin/python3.11 {file:fib.py}"
 * expect-lines:
 * fib {file:fib.py} 177
 * main {file:fib.py} 1
 */
/* CPython has no metadata records: sdtrace's catalog names its arguments
 * (filename, funcname, lineno) and says they are C strings, so neither
 * args[0] nor args->funcname needs copyinstr. */
python$target:::function-return
{
	@calls[args->funcname, args[0]] = count();
}

END
{
	printa("%s %s %@d\n", @calls);
}
