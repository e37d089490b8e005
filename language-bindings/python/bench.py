"""Disabled-probe cost beside an empty Python function call, in one run,
and the time to declare and load a provider of 10 probes.

    python3 language-bindings/python/bench.py     (no tracer attached)
"""

import os
import tempfile
import timeit

import usdt_runtime

os.environ.setdefault("SDTRACE_PROVIDER_DIR", tempfile.mkdtemp(prefix="usdt-bench-"))

app = usdt_runtime.Provider("bench")
noargs = app.probe("noargs")
two = app.probe("two", id=int, path=str)
app.load()
assert not two.enabled, "run the benchmark with no tracer attached"


def empty(a=None, b=None):
    pass


N = 2_000_000
cases = [
    ("empty()", lambda: timeit.timeit("f()", globals={"f": empty}, number=N)),
    ("noargs.fire()", lambda: timeit.timeit("p.fire()", globals={"p": noargs}, number=N)),
    ("empty(7, '/x')", lambda: timeit.timeit("f(7, '/x')", globals={"f": empty}, number=N)),
    ("two.fire(7, '/x')", lambda: timeit.timeit("p.fire(7, '/x')", globals={"p": two}, number=N)),
    ("two.enabled", lambda: timeit.timeit("p.enabled", globals={"p": two}, number=N)),
]
best = {}
for name, run in cases:
    best[name] = min(run() for _ in range(5)) / N * 1e9
    print(f"{name:20} {best[name]:7.1f} ns per call")
times = [best[name] for name, _ in cases]
print(f"ratio disabled fire / empty call: no args {times[1] / times[0]:.2f}, two args {times[3] / times[2]:.2f}")

counter = [0]


def create_and_load():
    counter[0] += 1
    p = usdt_runtime.Provider(f"load{counter[0]}")
    for k in range(10):
        p.probe(f"probe{k}", id=int, name=str, doc="A probe.")
    p.load()


loads = 50
t = min(timeit.timeit(create_and_load, number=loads) for _ in range(3)) / loads
print(f"create + load a provider of 10 probes: {t * 1e6:.0f} us")
