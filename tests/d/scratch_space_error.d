/*
 * sdtrace-test
 * args: -q -x strsize=4096
 * status: 2
 * stderr:
 * sdtrace: the program needs 53264 bytes of scratch space per CPU, more than the 32768 the kernel allows; lower strsize (-x strsize=N)
 */
/* Regression: this limit was reported with exit status 1, the status of
 * a description that matches no probes; it is an error (2). */
BEGIN
{
	this->a = strjoin("x", "y");
	this->b = strjoin(this->a, this->a);
	this->c = strjoin(this->b, this->b);
	this->d = strjoin(this->c, this->c);
	this->e = strjoin(this->d, this->d);
	this->f = strjoin(this->e, this->e);
	this->g = strjoin(this->f, this->f);
	this->h = strjoin(this->g, this->g);
	printf("%s\n", this->h);
	exit(0);
}
