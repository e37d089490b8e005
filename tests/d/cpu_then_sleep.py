# Between two getppid calls: about 0.1 to 0.3 s of work on a CPU, then 0.3 s asleep.
import os
import time

os.getppid()
x = sum(range(10_000_000))
time.sleep(0.3)
os.getppid()
