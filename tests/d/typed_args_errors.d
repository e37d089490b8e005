/*
 * sdtrace-test
 * requires:
 * args: -q -c "{rust:debug} 1"
 * status: 2
 * stderr:
 * typed_args_errors.d:17:31: error: the probe has no argument named `nope`
 *   = hint: args[0] s: str, args[1] c: cstr, args[2] b: bytes
 * typed_args_errors.d:18:36: error: the probe has 3 arguments; args[3] does not exist
 * typed_args_errors.d:19:31: error: argument `x` is a float: it can only be printed (printf's %f, trace)
 * typed_args_errors.d:20:59: error: this clause's probes describe their arguments differently
 * typed_args_errors.d:21:29: error: this clause's probes have no argument names (no metadata record)
 *   = hint: use arg0, arg1, … (or args[N]) for the raw arguments
 */
/* Typed arguments that do not exist, cannot be read, or are ambiguous:
 * errors with the span of the argument and the probe's description. */
fixture$target:::text { trace(args->nope); }
fixture$target:::text { trace(args[3]); }
fixture$target:::misc { trace(args->x + 1); }
fixture$target:::text, fixture$target:::ints { trace(args[0]); }
syscall::read:entry { trace(args->fd); }
