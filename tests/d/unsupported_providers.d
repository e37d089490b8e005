/*
 * sdtrace-test
 * requires:
 * args: -c /bin/true
 * status: 2
 * stderr:
 * unsupported_providers.d:17:1: error: `fbt::vfs_read:entry`: the fbt provider (entry and return of kernel functions) is not supported by sdtrace yet
 * unsupported_providers.d:18:1: error: probe description `pid$target::no_such_function:entry` matches no probes
 * = hint: pid provider probes are pidPID:MODULE:FUNCTION:entry and :return
 * unsupported_providers.d:19:1: error: `io:::start`: this DTrace provider is not supported by sdtrace yet
 * = hint: system calls are syscall::NAME:entry and syscall::NAME:return
 */
/* DTrace providers that sdtrace does not offer are named as such, with a
 * hint, rather than reported as USDT probes that matched nothing (with a
 * process to look in, as here, and without: unsupported_providers_alone.d);
 * a pid-provider function that does not exist gets the pid provider's hint. */
fbt::vfs_read:entry { @a = count(); }
pid$target::no_such_function:entry { @b = count(); }
io:::start { @c = count(); }
