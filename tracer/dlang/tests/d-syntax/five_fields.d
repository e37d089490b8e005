pid$target:a.out:main:entry:extra
{
	trace(arg0);
}
