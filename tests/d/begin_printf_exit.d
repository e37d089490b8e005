/*
 * sdtrace-test
 * args: -q
 * status: 3
 * expect:
 * hello 42 -7 0x2a [ab   ] [   ab] sdtrace
 * 5 1 1
 */
BEGIN
{
	x = 40 + 2;
	s = "ab";
	printf("hello %d %d %#x [%-5s] [%5s] %s\n", x, -7, x, s, s, execname);
	printf("%d %d %d\n", strlen("hello"), s == "ab", (uint8_t)257);
	exit(3);
}

BEGIN
{
	printf("never: exit() ended the run in the first clause\n");
}
