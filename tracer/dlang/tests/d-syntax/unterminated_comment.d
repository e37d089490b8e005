BEGIN
{
	x = 1; /* remember to
	exit(0);
}
