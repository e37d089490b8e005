#!/bin/sh
# Run the program given as $1 with the remaining arguments, as a child
# (for usdt_by_path.d: the traced process is not the -c target).
prog="$1"
shift
"$prog" "$@"
