/*
 * sdtrace-test
 * requires:
 * status: 2
 * stderr:
 * unsupported_providers_alone.d:14:1: error: `fbt::vfs_read:return`: the fbt provider (entry and return of kernel functions) is not supported by sdtrace yet
 * unsupported_providers_alone.d:15:1: error: `pid123::malloc:entry`: the pid provider traces process 123, which was not given
 * = hint: add -p 123, or use pid$target with -c 'COMMAND'
 * unsupported_providers_alone.d:16:1: error: probe description `app:::request` matches no probes
 */
/* Without -p or -c: an unsupported DTrace provider is named as such, the
 * pid provider asks for its process, and a USDT provider is looked for in
 * every process (no process here has an `app` provider). */
fbt::vfs_read:return { @a = count(); }
pid123::malloc:entry { @b = count(); }
app:::request { @c = count(); }
