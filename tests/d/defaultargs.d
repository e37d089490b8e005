/*
 * sdtrace-test
 * args: hello
 * expect:
 * [hello] 0 []
 */
/* With defaultargs, a `$N` the script was not given is 0 and a `$$N` ""
 * (without it they are compile errors; see compile_errors.d). */
#pragma D option quiet
#pragma D option defaultargs

BEGIN
{
	printf("[%s] %d [%s]\n", $$1, $2, $$3);
	exit(0);
}
