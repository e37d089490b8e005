profile-97 /arg0 / 2 > 1/
{
	@ = count();
}
