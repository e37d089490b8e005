/* Probes declared in DTrace's provider syntax, expanded by dtrace_provider!. */
#pragma D attributes Evolving/Evolving/Common provider dfix provider
provider dfix {
	/* Says hello to `who`, `n` times. */
	probe hello(int32_t n, const char *who);
	probe tick(void);
};
