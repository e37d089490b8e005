/*
 * sdtrace-test
 * requires:
 * status: 2
 * stderr:
 * feature_errors.d:18:2: error: `a` is keyed by [integer] elsewhere, not by [string]
 * feature_errors.d:19:19: error: strjoin needs a string here
 * feature_errors.d:20:6: error: the built-in `stackdepth` is not supported yet
 */
/* Misused associative arrays and string functions are reported with
 * file:line:col, all at once. */
BEGIN
{
	a[1] = 2;
}

BEGIN {
	a["x"] = 3;
	s = strjoin("a", 1);
	t = stackdepth;
}
