/*
 * sdtrace-test
 * requires:
 * status: 2
 * stderr:
 * destructive_refused.d:14:2: error: `system()` is a destructive action
 * destructive_refused.d:15:2: error: `raise()` is a destructive action
 * destructive_refused.d:16:2: error: `chill()` is not supported: a BPF program cannot spin for a time
 */
/* Destructive actions need -w (or #pragma D option destructive); some
 * are refused whatever the options. Nothing runs: these are compile errors. */
BEGIN
{
	system("touch /tmp/sdtrace-must-not-exist");
	raise(9);
	chill(1000);
}
