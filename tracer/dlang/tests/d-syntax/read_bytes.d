syscall::read:return /execname == "ls"/ { @bytes[execname] = sum(arg0); }
