syscall::read:entry
/execname == "ls"
{
	@ = count();
}
