#!/bin/sh
# Three children, one after the other: two exit, one is killed; then
# exit 3 (for proc_provider.d and ancestry.d).
/bin/true
/bin/echo spawned
/bin/sh -c 'kill -9 $$'
exit 3
