/*
 * sdtrace-test
 * args: -q -c "{rust:debug} 2"
 * expect:
 * misc 1.50 -2.250000 |   1.5|
 * 1.500000
 * exp 1.500000e+00 -2.25E+00 general 1.5 -2.25 [  1.50000]
 * misc 1.50 -4.500000 |   1.5|
 * 1.500000
 * exp 1.500000e+00 -4.50E+00 general 1.5 -4.5 [  1.50000]
 */
/* f32 and f64 arguments (misc(flag, ch, x: f32, y: f64, p): x is 1.5, y
 * is -2.25 times the round) print with %f, its precision, width and
 * flags, with trace(), and with %e/%E/%g (what C's printf prints for
 * these formats: printf(1) gives the same). */
fixture$target:::misc
{
	printf("misc %.2f %f |%6.1f|\n", args->x, args[3], args->x);
	trace(args->x);
	printf("\n");
	printf("exp %e %.2E general %g %g [%#9g]\n", args->x, args->y, args->x, args->y, args->x);
}
