/*
 * sdtrace-test
 * requires: root, cpp
 * args: -C -D EXTRA=21 -q
 * expect:
 * hello 42 on line 19
 */
/* -C runs the C preprocessor over the script, as dtrace -C does:
 * #define, #ifdef and -D NAME=VALUE work, and lines keep their numbers
 * (__LINE__ below is this file's). */
#define GREETING "hello"
#ifdef EXTRA
#define N (EXTRA * 2)
#else
#define N 0
#endif

BEGIN {
	printf("%s %d on line %d\n", GREETING, N, __LINE__);
	exit(0);
}
