/*
 * sdtrace-test
 * args: -F -c "{fixture:sdt_basic_O0} 2"
 * expect-in-order:
 * CPU FUNCTION
 *   *  -> _start
 *   *    -> main
 *   *      -> repeated_a
 *   *      <- repeated_a
 *   *      -> repeated_b
 *   *      <- repeated_b
 *   *      -> repeated_a
 *   *      <- repeated_a
 *   *      -> repeated_b
 *   *      <- repeated_b
 *   *    <- main
 * stderr:
 * _start:return left out: the function is not entered by a call
 */
/* dtrace(1)'s classic call flow of a program: -F indents entries and
 * returns of every function of the executable by call depth. The entry
 * point gets no return probe: a uretprobe there takes argc for a return
 * address and overwrites it (bpftrace's `uretprobe:PROG:_start` makes a
 * program see argc -8192), and on Linux 6.18 the return probes of the
 * calls below it then fired only once: the second round was missing. */
pid$target:a.out::entry,
pid$target:a.out::return
{
}
