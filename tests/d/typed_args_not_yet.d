/*
 * sdtrace-test
 * requires:
 * args: -q -Z -c "{example:runtime_provider} 1"
 * status: 2
 * stderr:
 * typed_args_not_yet.d:12:30: error: no probe this clause names is there yet, so neither are its argument names
 *   = hint: args->name needs the probe when the program starts (trace the running process with -p PID); until then use arg0, arg1, …
 */
/* With -Z and a provider the command loads later, argument names are not
 * known when the program is compiled. */
rtprov$target:::ints { trace(args->a); }
