/*
 * sdtrace-test
 * args: -q -c "{fixture:sdt_basic_O2} 3"
 * expect:
 * round 1 last=
 * round 2 last=héllo wörld
 * round 3 last=héllo wörld
 * freed 0
 */
self string last;

fixture$target:::gated
{
	self->n++;
	printf("round %d last=%s\n", self->n, self->last);
}

fixture$target:::text
{
	self->last = copyinstr(arg0);
}

fixture$target:::text
/self->n == 3/
{
	self->n = 0;
	printf("freed %d\n", self->n);
}
