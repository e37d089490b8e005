/*
 * sdtrace-test
 * args: -c /bin/true
 * status: 2
 * stderr:
 * unsupported_providers.d:14:1: error: `fbt::vfs_read:entry`: the fbt provider (entry and return of kernel functions) is not supported by sdtrace yet
 * unsupported_providers.d:15:1: error: `pid$target::malloc:entry`: the pid provider (entry and return of any user function) is not supported by sdtrace yet
 * unsupported_providers.d:16:1: error: `sched:::on-cpu`: this DTrace provider is not supported by sdtrace yet
 * = hint: system calls are syscall::NAME:entry and syscall::NAME:return
 */
/* DTrace providers that sdtrace does not offer are named as such, with a
 * hint, rather than reported as USDT probes that matched nothing (with a
 * process to look in, as here, and without: unsupported_providers_alone.d). */
fbt::vfs_read:entry { @a = count(); }
pid$target::malloc:entry { @b = count(); }
sched:::on-cpu { @c = count(); }
