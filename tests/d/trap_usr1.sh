#!/bin/sh
# Waits for sleeps until SIGUSR1 comes, and says so (for destructive_actions.d).
trap '/bin/echo shell got USR1; exit 0' USR1
while :; do sleep 0.1; done
