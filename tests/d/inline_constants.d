/*
 * sdtrace-test
 * expect:
 * 1024 2048 me 1 -1
 */
/* `inline` names a typed expression: every use stands for the value,
 * converted to the declared type (257 in a uint8_t is 1; 255 in an
 * int8_t is -1), and an inline may use another. */
#pragma D option quiet

inline int MAXCPUID = 1024;
inline int TWICE = MAXCPUID * 2;
inline string WHO = "me";
inline uint8_t SMALL = 257;
inline int8_t NEG = 255;

BEGIN
{
	printf("%d %d %s %d %d\n", MAXCPUID, TWICE, WHO, SMALL, NEG);
	exit(0);
}
