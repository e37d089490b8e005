/*
 * sdtrace-test
 * expect:
 * first: 0 [] 0 0
 * firing 1: [] 0 [.]
 * firing 2: [] 0 [.]
 * firing 3: [] 0 [.]
 * later: 5 [str] 3
 */
/* A clause may read a variable that only a later clause assigns, as in
 * DTrace: it reads 0 or "" and has the type of that assignment. A
 * clause-local starts at zero in every firing (the second and third ticks
 * must not see the first one's "abc" and 7), and NULL compares with a
 * string as the empty string. */
#pragma D option quiet

BEGIN
{
	printf("first: %d [%s] %d %d\n", x, s, a["k"], self->t);
}

BEGIN
{
	x = 5;
	s = "str";
	a["k"] = 3;
	self->t = 1;
}

tick-10ms
{
	n++;
	this->file = this->file != NULL ? this->file : ".";
	printf("firing %d: [%s] %d [%s]\n", n, this->s, this->n, this->file);
	this->s = "abc";
	this->n = 7;
}

tick-10ms
/n == 3/
{
	printf("later: %d [%s] %d\n", x, s, a["k"]);
	exit(0);
}
