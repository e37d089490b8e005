BEGIN
{
	printf("tab\q\n");
}
