"""The Python API: declarations, errors, generations, decorator and span,
and (as root) the probes traced by sdtrace and by bpftrace."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import usdt_runtime

HERE = Path(__file__).resolve().parent
FIRE_ALL = HERE / "fire_all.py"
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def provider_dir(tmp_path_factory, monkeypatch):
    # One directory for the whole session, so every process computes the same paths.
    d = os.environ.get("SDTRACE_PROVIDER_DIR") or str(tmp_path_factory.getbasetemp() / "providers")
    monkeypatch.setenv("SDTRACE_PROVIDER_DIR", d)
    return d


_counter = [0]


def fresh(name="t"):
    """A provider name no other test uses (probes of one process share a namespace)."""
    _counter[0] += 1
    return usdt_runtime.Provider(f"{name}{_counter[0]}")


def test_declared_probes_describe_themselves():
    p = fresh()
    r = p.probe("request", ("id", int), path=str, size="u32", doc="A request.")
    assert r.name == "request" and r.provider == p.name and r.doc == "A request."
    assert r.args == [("id", "i64"), ("path", "str"), ("size", "u32")]
    assert not r.loaded and not r.enabled
    assert p["request"] is r and list(p) == [r]
    assert "request(id: i64, path: str, size: u32)" in repr(r)


def test_fire_is_the_fast_builtin_bound_to_the_probe():
    r = fresh().probe("r", n=int)
    assert type(r.fire).__name__ == "builtin_function_or_method"
    assert r.fire.__self__ is r


def test_unloaded_and_untraced_probes_fire_as_no_ops():
    p = fresh()
    r = p.probe("r", n=int)
    r.fire(1)
    p.load()
    assert r.loaded and not r.enabled
    r.fire(2)


@pytest.mark.parametrize(
    "name", ["9lives", "has-dash", "", "sp ace", "ü"]
)
def test_bad_names_are_value_errors(name):
    with pytest.raises(ValueError, match="invalid provider name"):
        usdt_runtime.Provider(name)
    with pytest.raises(ValueError, match="invalid probe name"):
        fresh().probe(name)


def test_declaration_errors():
    p = fresh()
    p.probe("a")
    with pytest.raises(ValueError, match="already has a probe 'a'"):
        p.probe("a")
    with pytest.raises(TypeError, match="unsupported type"):
        p.probe("b", x=complex)
    with pytest.raises(ValueError, match="unknown argument type `u128`"):
        p.probe("c", x="u128")
    with pytest.raises(ValueError, match="needs 14 stapsdt arguments"):
        p.probe("d", *[(f"s{k}", str) for k in range(7)])
    with pytest.raises(TypeError, match="must be a str"):
        usdt_runtime.Provider(3)


def test_wrong_arity_is_a_type_error_even_untraced():
    p = fresh()
    r = p.probe("r", id=int, path=str)
    p.load()
    with pytest.raises(TypeError, match=r"takes 2 arguments \(id: i64, path: str\), 1 given"):
        r.fire(1)


@pytest.mark.parametrize(
    "decl,value,error,message",
    [
        (int, "7", TypeError, "argument `x`: expected int \\(i64\\), got str"),
        ("u8", 256, ValueError, "256 does not fit in u8"),
        ("u64", -1, ValueError, "-1 does not fit in u64"),
        ("i64", 2**63, ValueError, "does not fit in i64"),
        (str, b"x", TypeError, "expected str, got bytes"),
        (bytes, "x", TypeError, "expected bytes or bytearray, got str"),
        (bool, 1, TypeError, "expected bool, got int"),
        (float, "1.0", TypeError, "expected float, got str"),
        ("char", "ab", ValueError, "expected one character, got 2"),
        ("cstr", "a\0b", ValueError, "cannot hold NUL"),
        (dict, {1j}, TypeError, "not JSON-serializable"),
        (str, "\ud800", ValueError, "not valid UTF-8"),
    ],
)
def test_wrong_values_are_clear_errors(decl, value, error, message):
    p = fresh()
    r = p.probe("r", x=decl)
    with pytest.raises(error, match=message):
        r.check(value)


def test_good_values_pass_the_check():
    p = fresh()
    r = p.probe("r", a="i8", b="u64", c=float, d=bool, e=str, f=bytes, g="char", h="cstr", i=dict)
    r.check(-128, 2**64 - 1, 3, True, "ü", bytearray(b"\0"), "é", "c", {"k": [1]})


def test_probes_declared_after_load_are_a_new_generation():
    p = fresh("gen")
    first = p.probe("first", n=int)
    p.load()
    assert len(p.paths) == 1
    p.load()  # nothing new: no new object
    assert len(p.paths) == 1
    second = p.probe("second", n=int)
    assert not second.loaded
    p.load()
    assert second.loaded and len(p.paths) == 2 and p.paths[0] != p.paths[1]
    assert all(Path(x).exists() for x in p.paths)
    first.fire(1)
    second.fire(2)


def test_traced_decorator_keeps_results_exceptions_and_metadata():
    p = fresh()

    @p.traced()
    def double(x):
        """Doubles."""
        return 2 * x

    @p.traced(name="boom")
    def fails():
        raise KeyError("k")

    p.load()
    assert double(21) == 42 and double.__name__ == "double" and double.__doc__ == "Doubles."
    assert [q.name for q in double.__usdt_probes__] == ["double__entry", "double__return"]
    assert p["double__return"].args == [("elapsed_ns", "u64")]
    with pytest.raises(KeyError):
        fails()
    assert "boom__entry" in p.probes


def test_span_declares_start_and_done_with_elapsed():
    p = fresh()
    q = p.span("query", sql=str)
    assert p["query__start"].args == [("sql", "str")]
    assert p["query__done"].args == [("sql", "str"), ("elapsed_ns", "u64")]
    p.load()
    with q("select 1") as scope:
        assert scope is not None
    with pytest.raises(RuntimeError):
        with q("select 2"):
            raise RuntimeError("inside")


# --- traced for real -------------------------------------------------------


def root_tools():
    """The sdtrace binary, when this process may attach probes."""
    sdtrace = os.environ.get("SDTRACE_BIN") or str(HERE.parents[2] / "target" / "debug" / "sdtrace")
    problem = None
    if os.geteuid() != 0:
        problem = "tracing needs root"
    elif not os.access(sdtrace, os.X_OK):
        problem = f"no sdtrace binary at {sdtrace} (set SDTRACE_BIN)"
    if problem:
        if IN_CI:
            pytest.fail(problem + " (CI=true: not skipped)")
        pytest.skip(problem)
    return sdtrace


def fire_all(*args, **kw):
    return subprocess.run([sys.executable, str(FIRE_ALL), *args], capture_output=True, text=True, check=True, **kw)


def test_sdtrace_traces_every_probe_by_path_before_the_program_starts():
    sdtrace = root_tools()
    paths = fire_all("path").stdout.split()
    assert len(paths) == 2
    patterns = [f"{path}:pyrt:*" for path in paths]
    out = subprocess.run(
        [sdtrace, "trace", "--json", *patterns, "--", sys.executable, str(FIRE_ALL), "run", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "round 1 enabled=True" in out.stdout
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def of(name):
        return [e["args"] for e in events if e["probe"] == name]

    ints = of("ints")
    assert len(ints) == 2, events
    assert ints[1] == {"a": -2, "b": 60002, "c": -200000, "d": 2**64 - 3, "e": -(2**63) + 2}
    text = of("text")[0]
    assert (text["s"], text["c"], text["b"]) == ("héllo wörld 1", "c string", "010203ff")
    floats = of("floats")[1]
    assert (floats["x"], floats["y"], floats["flag"]) == (-2.5, 0.5, False)
    twelve = of("twelve")[1]
    assert [twelve[f"a{k}"] for k in range(12)] == [200 + k for k in range(11)] + [-2]
    assert [a["sql"] for a in of("query__start")] == ["select 1", "select 2"]
    done = of("query__done")
    assert done[0]["sql"] == "select 1" and done[0]["elapsed_ns"] >= 1_000_000
    assert len(of("handle__entry")) == 2 and all(a["elapsed_ns"] > 0 for a in of("handle__return"))
    assert [a["n"] for a in of("late")] == [1, 2], "the second generation is traced too"


def test_sdtrace_lists_a_running_programs_providers_with_docs():
    sdtrace = root_tools()
    child = subprocess.Popen([sys.executable, str(FIRE_ALL), "run", "1", "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().startswith("ready")
        out = subprocess.run([sdtrace, "list", "-p", str(child.pid), "pyrt:*"], capture_output=True, text=True)
    finally:
        child.kill()
        child.wait()
    assert out.returncode == 0, out.stderr
    assert "pyrt:ints" in out.stdout and "(a i8, b u16, c i32, d u64, e i64)" in out.stdout, out.stdout
    assert "Integers of several widths." in out.stdout
    assert "pyrt:late" in out.stdout and "Declared after the first load." in out.stdout
    assert "pyrt:query__done" in out.stdout and "elapsed_ns u64" in out.stdout


def test_bpftrace_reads_integers_and_strings():
    root_tools()
    bpftrace = "/usr/bin/bpftrace"
    if not os.access(bpftrace, os.X_OK):
        if IN_CI:
            pytest.fail("bpftrace is not installed (CI=true: not skipped)")
        pytest.skip("bpftrace is not installed")
    path = fire_all("path").stdout.split()[0]
    prog = (
        f'usdt:{path}:pyrt:ints {{ printf("ints %d %d %d %ld\\n", arg0, arg1, arg2, arg4); }}\n'
        f'usdt:{path}:pyrt:text {{ printf("text %s|%s\\n", str(arg0, arg1), str(arg2)); }}'
    )
    tracer = subprocess.Popen([bpftrace, "-e", prog], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert tracer.stdout.readline().startswith("Attaching")
        time.sleep(0.5)
        run = fire_all("run", "2")
        time.sleep(0.3)
    finally:
        tracer.send_signal(signal.SIGINT)
        rest, _ = tracer.communicate(timeout=30)
    assert "round 1 enabled=True" in run.stdout
    assert "ints -1 60001 -100000 -9223372036854775807" in rest, rest
    assert "text héllo wörld 2|c string" in rest, rest
