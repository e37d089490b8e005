/*
 * sdtrace-test
 * args: --json
 * expect:
 * {"output":"a \"quoted\"\tline\n"}
 * {"aggregation":"@calls","function":"count","entries":[{"keys":["x",1],"value":1},{"keys":["y",2],"value":2}]}
 * {"aggregation":"@","function":"lquantize","entries":[{"keys":[],"buckets":[{"value":"< 0","count":0},{"value":0,"count":1},{"value":10,"count":0}]}]}
 */
/* --json (-x oformat=json): one object per printf record and one per
 * aggregation at exit, with no dtrace(1) probe lines (a record says what
 * it is). Text is escaped as JSON; a histogram's buckets are its rows. */
BEGIN
{
	printf("a \"quoted\"\tline\n");
	@calls["x", 1] = count();
	@calls["y", 2] = count();
	@calls["y", 2] = count();
	@ = lquantize(5, 0, 20, 10);
	exit(0);
}
