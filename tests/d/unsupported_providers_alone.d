/*
 * sdtrace-test
 * status: 2
 * stderr:
 * unsupported_providers_alone.d:11:1: error: `fbt::vfs_read:return`: the fbt provider (entry and return of kernel functions) is not supported by sdtrace yet
 * unsupported_providers_alone.d:12:1: error: `pid123::malloc:entry`: the pid provider (entry and return of any user function) is not supported by sdtrace yet
 * unsupported_providers_alone.d:13:1: error: `app:::request` names a USDT probe, which needs processes to look in
 */
/* Without -p or -c: an unsupported DTrace provider is named as such; a
 * USDT provider still asks for processes to look in. */
fbt::vfs_read:return { @a = count(); }
pid123::malloc:entry { @b = count(); }
app:::request { @c = count(); }
