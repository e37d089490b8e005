/*
 * sdtrace-test
 * args: -c "/bin/sh {file:sleeps.sh}"
 * expect:
 * waited at least 200 ms: 1, under 10 s: 1; on-cpu execname is sh: 1; switched in about as often as out: 1
 */
/* sched:::off-cpu fires in the thread leaving the CPU, sched:::on-cpu is
 * about the one coming on (pid, execname and self-> are its own): once
 * the command is sh (before its exec it is sdtrace's held child), it waits for twenty 10 ms sleeps, so the time from each of its
 * off-cpu to its next on-cpu adds up to at least 200 ms. Were on-cpu
 * about the thread leaving, that time would be the shell's own short runs. */
#pragma D option quiet

sched:::off-cpu
/pid == $target && execname == "sh"/
{
	self->off = timestamp;
	outs++;
}

sched:::on-cpu
/pid == $target && self->off/
{
	waited += timestamp - self->off;
	self->off = 0;
	ins++;
	names += execname == "sh";
}

END
{
	printf("waited at least 200 ms: %d, under 10 s: %d; on-cpu execname is sh: %d; switched in about as often as out: %d\n",
	    waited >= 200000000, waited < 10000000000, names == ins && ins > 0, ins <= outs && ins + 3 >= outs && ins >= 20);
}
