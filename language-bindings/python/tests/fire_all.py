"""A program for the tracing tests: declares the `pyrt` provider, prints
its paths with `path`, or fires every probe ROUNDS times with `run ROUNDS`.
The second generation (`late`) is declared after the first load."""

import sys
import time

import usdt_runtime

p = usdt_runtime.Provider("pyrt")
ints = p.probe("ints", a="i8", b="u16", c="i32", d="u64", e=int, doc="Integers of several widths.")
text = p.probe("text", s=str, c="cstr", b=bytes, doc="Text and bytes.")
floats = p.probe("floats", x=float, y="f32", flag=bool)
twelve = p.probe("twelve", *[(f"a{k}", int) for k in range(12)], doc="Twelve arguments.")
query = p.span("query", sql=str)


@p.traced()
def handle(n):
    return n * 2


p.load()
late = p.probe("late", n="u32", doc="Declared after the first load.")
p.load()

if sys.argv[1] == "path":
    print("\n".join(p.paths))
    sys.exit(0)

rounds = int(sys.argv[2])
# Give a tracer attached by -p time to attach (it prints "ready" on stdout first).
print(f"ready enabled={ints.enabled}", flush=True)
if len(sys.argv) > 3:
    time.sleep(float(sys.argv[3]))
for r in range(1, rounds + 1):
    ints.fire(-r, 60000 + r, -100000 * r, 2**64 - 1 - r, -(2**63) + r)
    text.fire(f"héllo wörld {r}", "c string", b"\x01\x02\x03\xff")
    floats.fire(-1.25 * r, 0.5, r % 2 == 1)
    twelve.fire(*[100 * r + k for k in range(11)], -r)
    with query(f"select {r}"):
        time.sleep(0.001)
    handle(r)
    late.fire(r)
    print(f"round {r} enabled={ints.enabled}", flush=True)
