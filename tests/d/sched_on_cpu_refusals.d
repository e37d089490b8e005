/*
 * sdtrace-test
 * status: 2
 * stderr:
 * sdtrace: sched:::on-cpu is about the thread coming onto the CPU, which is not running yet: user memory (copyinstr, copyin) cannot be read there (sched:::off-cpu, in the thread leaving, can)
 */
/* In sched:::on-cpu the running thread is still the one leaving: what
 * only it could give (its user memory here) is refused, not read from
 * the wrong thread. */
sched:::on-cpu
{
	trace(copyinstr(arg0));
}
