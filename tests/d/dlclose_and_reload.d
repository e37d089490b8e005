/*
 * sdtrace-test
 * args: -Z -q -c "{fixture:sdt_dlopen} {fixture:libsdtfixture.so.1} 3"
 * timeout: 30
 * expect-lines:
 * round 1: 3
 * round 2: 3
 * round 3: 3
 */
/* A library with a probe is dlopened, fired three times, dlclosed, and
 * loaded again, three rounds, while traced: each reload is traced again
 * (every call counted), and no probe is left in unmapped memory (the
 * process would die before the next round). */
fixturelib$target:::work
{
	@[arg0] = count();
}

END
{
	printa("round %d: %@d\n", @);
}
