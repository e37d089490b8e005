#!/bin/sh
# Twenty sleeps of 10 ms, each in a child the shell waits for (for sched_cpu.d).
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	/bin/sleep 0.01
done
