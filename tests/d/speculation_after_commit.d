/*
 * sdtrace-test
 * args: -q
 * expect:
 * speculated, then committed
 * stderr:
 * sdtrace: 1 speculative record(s) dropped
 */
/* A speculation that has ended takes no more records and ends no more:
 * the record speculated after the commit is dropped (and counted), and
 * neither the second commit nor the discard prints it. */
BEGIN
{
	a = speculation();
}

BEGIN
{
	speculate(a);
	printf("speculated, then committed\n");
}

BEGIN
{
	commit(a);
}

BEGIN
{
	speculate(a);
	printf("speculated after the commit\n");
}

BEGIN
{
	commit(a);
	discard(a);
	exit(0);
}
