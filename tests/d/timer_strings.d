/*
 * sdtrace-test
 * args: -q -c "dd if=/dev/zero of=/dev/null bs=1 count=100000"
 * expect-lines:
 * strings built wrong: 0
 * timer fired: 1
 */
/* Regression: a profile-N clause runs from the timer interrupt and can
 * interrupt the syscall clause on its CPU. Both used to share the CPU's
 * scratch space, so the timer overwrote the string the syscall clause was
 * building (about 150 of these 200,000 strings came out wrong). */
syscall:::entry
/pid == $target && execname == "dd"/
{
	this->s = strjoin(execname, ";x");
	@bad = sum(this->s != "dd;x");
}

profile-4999
{
	this->t = strjoin("a timer clause", " that fills its scratch space");
	@t[this->t] = count();
	fired = 1;
}

END
{
	printa("strings built wrong: %@d\n", @bad);
	printf("timer fired: %d\n", fired);
}
