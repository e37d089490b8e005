/*
 * sdtrace-test
 * args: -q -c "sh -c '/bin/echo one; /bin/echo two\ \ words'"
 * expect:
 * echo wrote 4 bytes
 * echo wrote 11 bytes
 */
/* -c COMMAND is split into words as a shell would: the single-quoted
 * script reaches sh as one argument, and sh passes "two  words" (two
 * spaces, 10 bytes and a newline) to echo as one argument. */
syscall::write:entry
/progenyof($target) && execname == "echo"/
{
	printf("echo wrote %d bytes\n", arg2);
}
