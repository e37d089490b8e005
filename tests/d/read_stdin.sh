#!/bin/sh
# Two children: dd reads the file named by $1 from its stdin, 100 bytes
# three times; true reads nothing (for syscalls_by_process.d).
/bin/dd bs=100 count=3 status=none < "$1" > /dev/null
/bin/true
