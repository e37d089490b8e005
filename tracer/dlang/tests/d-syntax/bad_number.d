BEGIN
{
	x = 0x;
	y = 09;
}
