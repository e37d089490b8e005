#!/bin/sh
# Two children, one after the other, then exit 3 (for proc_provider.d).
/bin/true
/bin/echo spawned
exit 3
