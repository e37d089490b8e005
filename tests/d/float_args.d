/*
 * sdtrace-test
 * args: -q -c "{rust:debug} 2"
 * expect:
 * misc 1.50 -2.250000 |   1.5|
 * 1.500000
 * misc 1.50 -4.500000 |   1.5|
 * 1.500000
 */
/* f32 and f64 arguments (misc(flag, ch, x: f32, y: f64, p): x is 1.5, y
 * is -2.25 times the round) print with %f, its precision, width and
 * flags, and with trace(). */
fixture$target:::misc
{
	printf("misc %.2f %f |%6.1f|\n", args->x, args[3], args->x);
	trace(args->x);
	printf("\n");
}
