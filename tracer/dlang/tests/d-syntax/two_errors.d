BEGIN
{
	x = ;
}

END / /
{
	exit(0);
}
