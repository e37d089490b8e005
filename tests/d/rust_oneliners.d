/*
 * sdtrace-test
 * args: -q -c "{rust:debug} 3"
 * expect:
 * ints     3
 * json     3
 * misc     3
 * text     3
 * twelve   3
 * generic  9
 * sum of a 6
 * rounds 3, each timed 1
 * generic 1: 3
 * generic 2: 3
 * generic 3: 3
 */
/* Classic one-liners on a Rust program whose probes come from
 * #[provider] (tests/rust-fixture; each round fires ints, misc, text,
 * twelve, json, then generic from three sites, with a = the round):
 * probes by name, a sum of a typed argument, a round's time from its first
 * probe to its last with a self-> timestamp, and counts by argument. */
fixture$target:::
{
	@fires[probename] = count();
}

fixture$target:::ints
{
	@a = sum(args->a);
	self->start = timestamp;
}

/* One round is well under a second: a missing or stale start would not be. */
fixture$target:::generic
/args->which == 3 && self->start/
{
	@rounds = count();
	@timed = min(timestamp - self->start < 1000000000 ? 1 : 0);
	self->start = 0;
}

fixture$target:::generic
{
	@by_which[args->which] = count();
}

END
{
	printa("%-8s %@d\n", @fires);
	printa("sum of a %@d\n", @a);
	printa("rounds %@d", @rounds);
	printa(", each timed %@d\n", @timed);
	printa("generic %d: %@d\n", @by_which);
}
