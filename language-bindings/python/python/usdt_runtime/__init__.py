"""USDT probes declared while a Python program runs.

Every probe is a standard SystemTap SDT probe in a small shared object that
the package writes and loads, so sdtrace, bpftrace, bcc, perf and gdb can
trace it. A probe that no tracer has enabled costs one memory read::

    import usdt_runtime

    app = usdt_runtime.Provider("myapp")
    request = app.probe("request", id=int, path=str, doc="A request arrived.")
    app.load()

    request.fire(7, "/index.html")      # nearly free unless traced
    if request.enabled:                 # guard work done only for tracers
        request.fire(7, expensive_path())

and, as root::

    sdtrace trace 'myapp:request' -p PID
    bpftrace -p PID -e 'usdt:*:myapp:request { printf("%d %s\\n", arg0, str(arg1, arg2)); }'

Argument types are Python types (``int`` is a 64-bit signed integer,
``float``, ``str``, ``bytes``, ``bool``, and ``dict``/``list``/``object``
for JSON) or the names tracers print (``"u8"`` … ``"u64"``, ``"i8"`` …
``"i64"``, ``"f32"``, ``"f64"``, ``"char"``, ``"cstr"``, ``"ptr"``,
``"json"``). ``str`` and ``bytes`` travel as pointer and length, so a
tracer reads them exactly, NUL bytes and non-ASCII text included.

Probes declared after ``load()`` form a new *generation*: they are live
after the next ``load()``, in a shared object of their own, and the probes
loaded earlier keep working.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

from . import _native
from ._native import Probe

__all__ = ["Provider", "Probe", "Span", "TypeSpec"]

TypeSpec = Union[type, str]
"""An argument type: a Python type or a tracer type name such as ``"u32"``."""

_PY_TYPES: Dict[Any, str] = {
    int: "i64",
    float: "f64",
    str: "str",
    bytes: "bytes",
    bytearray: "bytes",
    bool: "bool",
    dict: "json",
    list: "json",
    object: "json",
}

F = TypeVar("F", bound=Callable[..., Any])


def _type_name(probe: str, arg: str, spec: TypeSpec) -> str:
    if isinstance(spec, str):
        return spec
    try:
        return _PY_TYPES[spec]
    except (KeyError, TypeError):
        raise TypeError(
            f"probe {probe!r}, argument {arg!r}: unsupported type {spec!r}; "
            "use int, float, str, bytes, bool, dict/list/object (JSON) or a type name such as 'u32'"
        ) from None


class Provider:
    """A named group of probes (the ``provider`` in ``provider:probe``).

    Declare probes with :meth:`probe`, :meth:`span` or :meth:`traced`, then
    call :meth:`load`. Thread-safe once loaded: any thread may fire.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"provider name must be a str, not {type(name).__name__}")
        if not _native.is_valid_name(name):
            raise ValueError(
                f"invalid provider name {name!r}: use ASCII letters, digits and '_', not starting with a digit"
            )
        self._name = name
        self._probes: Dict[str, Probe] = {}
        self._pending: List[Probe] = []
        self._paths: List[str] = []

    @property
    def name(self) -> str:
        """The provider's name."""
        return self._name

    @property
    def paths(self) -> List[str]:
        """The shared objects loaded so far, one per generation. A tracer
        can attach to a path before any process loads it."""
        return list(self._paths)

    @property
    def probes(self) -> Dict[str, Probe]:
        """Every declared probe by name, loaded or not."""
        return dict(self._probes)

    def __getitem__(self, name: str) -> Probe:
        return self._probes[name]

    def __iter__(self) -> Iterator[Probe]:
        return iter(self._probes.values())

    def __repr__(self) -> str:
        return f"<Provider {self._name!r}: {len(self._probes)} probes, {len(self._paths)} generations>"

    def probe(
        self,
        name: str,
        /,
        *args: Tuple[str, TypeSpec],
        doc: str = "",
        **kwargs: TypeSpec,
    ) -> Probe:
        """Declare a probe. Arguments are ``(name, type)`` pairs, keyword
        arguments ``name=type`` (in order), or both (pairs first)::

            p.probe("query", sql=str, rows="u32", doc="A query finished.")

        An argument called ``doc`` must be given as a pair. The probe fires
        once the provider is loaded. Raises ``ValueError``
        for a bad or repeated name or more than 12 stapsdt arguments
        (``str``, ``bytes`` and JSON take two each), ``TypeError`` for an
        unsupported type.
        """
        if not isinstance(name, str):
            raise TypeError(f"probe name must be a str, not {type(name).__name__}")
        if name in self._probes:
            raise ValueError(f"provider {self._name!r} already has a probe {name!r}")
        pairs: List[Tuple[str, str]] = []
        for pair in args:
            if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
                raise TypeError(f"probe {name!r}: positional arguments must be (name, type) pairs, got {pair!r}")
            pairs.append((pair[0], _type_name(name, pair[0], pair[1])))
        pairs.extend((arg, _type_name(name, arg, spec)) for arg, spec in kwargs.items())
        probe = _native.declare(self._name, name, pairs, doc)
        self._probes[name] = probe
        self._pending.append(probe)
        return probe

    def load(self) -> "Provider":
        """Make every probe declared since the last load live (a new
        generation) and return the provider. Loading nothing new is a no-op.
        Raises ``OSError`` when no directory or memfd could hold the object."""
        if self._pending:
            path = _native.load(self._pending)
            self._paths.append(path)
            self._pending = []
        return self

    def span(self, name: str, /, *args: Tuple[str, TypeSpec], doc: str = "", **kwargs: TypeSpec) -> "Span":
        """Declare a pair of probes around a span of work: ``NAME__start``
        with the given arguments and ``NAME__done`` with the same arguments
        and ``elapsed_ns`` (a u64). In D they are ``NAME-start`` and
        ``NAME-done``::

            query = p.span("query", sql=str)
            p.load()
            with query("select 1"):
                run()
        """
        start = self.probe(f"{name}__start", *args, doc=doc or f"{name} begins.", **kwargs)
        pairs = start.args + [("elapsed_ns", "u64")]
        done = self.probe(f"{name}__done", *pairs, doc=f"{name} ends; elapsed_ns is its duration.")
        return Span(start, done)

    def traced(self, name: Optional[str] = None, doc: str = "") -> Callable[[F], F]:
        """A decorator that fires ``NAME__entry`` before each call of the
        function and ``NAME__return`` (with ``elapsed_ns``) after it,
        whether it returns or raises. ``NAME`` defaults to the function's
        name. Untraced, the wrapper costs two semaphore reads::

            @p.traced()
            def handle(req): ...
            p.load()
        """

        def decorate(fn: F) -> F:
            base = name or fn.__name__
            entry = self.probe(f"{base}__entry", doc=doc or f"Entry to {fn.__qualname__}.")
            ret = self.probe(f"{base}__return", elapsed_ns="u64", doc=f"Return from {fn.__qualname__}.")

            @functools.wraps(fn)
            def wrapper(*a: Any, **kw: Any) -> Any:
                if not (entry.enabled or ret.enabled):
                    return fn(*a, **kw)
                entry.fire()
                t0 = time.perf_counter_ns()
                try:
                    return fn(*a, **kw)
                finally:
                    ret.fire(time.perf_counter_ns() - t0)

            wrapper.__usdt_probes__ = (entry, ret)  # type: ignore[attr-defined]
            return wrapper  # type: ignore[return-value]

        return decorate


class Span:
    """Two probes around a span of work; call it with the start probe's
    arguments to get a context manager (see :meth:`Provider.span`)."""

    def __init__(self, start: Probe, done: Probe) -> None:
        self.start = start
        self.done = done

    def __call__(self, *args: Any) -> "_SpanScope":
        return _SpanScope(self, args)

    def __repr__(self) -> str:
        return f"<Span {self.start.provider}:{self.start.name[: -len('__start')]}>"


class _SpanScope:
    __slots__ = ("_span", "_args", "_t0")

    def __init__(self, span: Span, args: Sequence[Any]) -> None:
        self._span = span
        self._args = tuple(args)
        self._t0 = 0

    def __enter__(self) -> "_SpanScope":
        self._span.start.fire(*self._args)
        self._t0 = time.perf_counter_ns()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._span.done.fire(*self._args, time.perf_counter_ns() - self._t0)
