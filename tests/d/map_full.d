/*
 * sdtrace-test
 * args: -q -c "dd if=/dev/zero of=/dev/null bs=1 count=70000"
 * timeout: 60
 * stderr:
 * values were not stored: an aggregation, associative array or thread-local store was full (65536 entries)
 */
/* Regression: keys past an aggregation's 65,536 entries were lost
 * without a word; they are counted and reported. (dd makes 70,000 writes,
 * each a key of its own; printing 65,536 rows is left out with trunc.)
 * Printing the aggregation used to take half a minute here: merging
 * kernel keys was quadratic. */
syscall::write:entry
/pid == $target/
{
	@[arg2, timestamp] = count();
}

END
{
	trunc(@, 0);
}
