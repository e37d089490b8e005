/*
 * sdtrace-test
 * args: -q -c "{rust:debug} 2"
 * expect:
 * ints 1 -1 1001 -1001 100001 -100001 18446744073709551614 -9223372036854775807
 * text héllo wörld 1|c string|15|15
 * twelve 1 -12
 * json {"x":1,"label":"pt"}
 * generic 1 1
 * generic 2 two
 * generic 3 3.5
 * ints 2 -2 1002 -1002 100002 -100002 18446744073709551613 -9223372036854775806
 * text héllo wörld 2|c string|15|15
 * twelve 2 -13
 * json {"x":2,"label":"pt"}
 * generic 1 2
 * generic 2 two
 * generic 3 3.5
 */
/* args[N] and args->name take the types of the probes' metadata records:
 * integers of every width and sign, &str and Json (pointer + length, two
 * note slots, read as strings), &CStr (read up to its NUL). */
fixture$target:::ints
{
	printf("ints %d %d %d %d %d %d %u %d\n", args->a, args->b, args[2], args->d,
	    args->e, args->f, args->g, args->h);
}

fixture$target:::text
{
	printf("text %s|%s|%d|%d\n", args[0], args->c, strlen(args->s), arg1);
}

fixture$target:::twelve
{
	printf("twelve %d %d\n", args[0], args->a11);
}

fixture$target:::json
{
	printf("json %s\n", args->v);
}

fixture$target:::generic
{
	printf("generic %d %s\n", args->which, args->what);
}
