/*
 * sdtrace-test
 * args: -q
 * expect:
 * 1 3 3 2
 * 10 11 0
 */
/* ++ and -- as values, as in C: a post-increment yields the old value, a
 * pre-increment the new one; thread-locals and array subscripts too. */
BEGIN
{
	i = 1;
	a = i++;
	b = ++i;
	c = i--;
	printf("%d %d %d %d\n", a, b, c, i);
	self->depth = 0;
	self->ts[self->depth++] = 10;
	self->ts[self->depth++] = 11;
	printf("%d %d %d\n", self->ts[--self->depth - 1], self->ts[self->depth], self->ts[self->depth + 1]);
	exit(0);
}
