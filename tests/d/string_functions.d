/*
 * sdtrace-test
 * args: -q -c "/bin/echo /usr/share/doc"
 * expect:
 * strjoin [foobar] [x] [a] [sdtrace/x]
 * index [4] [7] [-1] [0] [1]
 * strstr [world] []
 * substr [ello] [ell] [llo] [hell] [] [llo]
 * lltostr [0] [12345] [-42] [-9223372036854775808] [9223372036854775807]
 * basename [ls] [bin] [ls] [/] [.] [a] [b] [/]
 * dirname [/usr/bin] [/usr] [.] [/] [.] [/] [a] [/]
 * write [/usr/share/doc] base [doc] dir [/usr/share] copyin [/usr/] joined [/usr/share/doc!]
 */
/* The string functions on literals (BEGIN) and on strings read from the
 * traced command (write's buffer). */
BEGIN
{
	printf("strjoin [%s] [%s] [%s] [%s]\n", strjoin("foo", "bar"), strjoin("", "x"), strjoin("a", ""),
	    strjoin(execname, "/x"));
	printf("index [%d] [%d] [%d] [%d] [%d]\n", index("hello world", "o"), index("hello world", "o", 5),
	    index("hello", "z"), index("abc", ""), index("aab", "ab"));
	printf("strstr [%s] [%s]\n", strstr("hello world", "wor"), strstr("abc", "z"));
}

BEGIN
{
	printf("substr [%s] [%s] [%s] [%s] [%s] [%s]\n", substr("hello", 1), substr("hello", 1, 3),
	    substr("hello", -3), substr("hello", 0, -1), substr("hello", 9), substr("hello", 2, 100));
	printf("lltostr [%s] [%s] [%s] [%s] [%s]\n", lltostr(0), lltostr(12345), lltostr(-42),
	    lltostr(-9223372036854775807 - 1), lltostr(9223372036854775807));
}

BEGIN
{
	printf("basename [%s] [%s] [%s] [%s] [%s] [%s] [%s] [%s]\n", basename("/usr/bin/ls"),
	    basename("/usr/bin/"), basename("ls"), basename("/"), basename(""), basename("//a//"),
	    basename("a/b"), basename("///"));
}

BEGIN
{
	printf("dirname [%s] [%s] [%s] [%s] [%s] [%s] [%s] [%s]\n", dirname("/usr/bin/ls"),
	    dirname("/usr/bin/"), dirname("ls"), dirname("/"), dirname(""), dirname("//a//"),
	    dirname("a/b"), dirname("/a"));
}

syscall::write:entry
/pid == $target/
{
	this->path = copyinstr(arg1, arg2 - 1);
	printf("write [%s] base [%s] dir [%s] copyin [%s] joined [%s]\n", this->path, basename(this->path),
	    dirname(this->path), copyin(arg1, 5), strjoin(this->path, "!"));
}
