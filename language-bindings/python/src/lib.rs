//! `usdt_runtime._native`: the part of the Python package that must be
//! fast or must touch the loaded provider. A [`Probe`] exists from the
//! moment it is declared; [`load`] binds a batch of declared probes to a
//! freshly loaded shared object (one generation). Until then the probe's
//! semaphore pointer points at a constant zero, so `fire` and `enabled`
//! need no "is it loaded" branch: a disabled `fire` is one atomic load,
//! one memory read and a length comparison.

use std::ffi::CString;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString, PyTuple};
use stap_notes::meta::valid_name;
use usdt_runtime::dynamic::{Arg, Provider, ProviderBuilder};
use usdt_runtime::ArgKind;

/// The semaphore of a probe that is not loaded yet: always zero.
static UNLOADED: u16 = 0;

/// A probe declared from Python. Created by `usdt_runtime.Provider.probe`.
#[pyclass(module = "usdt_runtime._native", frozen, dict)]
struct Probe {
    provider: String,
    name: String,
    doc: String,
    args: Vec<(String, ArgKind)>,
    semaphore: AtomicPtr<u16>,
    loaded: OnceLock<(Arc<Provider>, usize)>,
}

#[pymethods]
impl Probe {
    #[new]
    #[pyo3(signature = (provider, name, args, doc = String::new()))]
    fn new(provider: String, name: String, args: Vec<(String, String)>, doc: String) -> PyResult<Self> {
        if !valid_name(&provider) {
            return Err(bad_name("provider", &provider));
        }
        if !valid_name(&name) {
            return Err(bad_name("probe", &name));
        }
        let mut typed = Vec::with_capacity(args.len());
        for (arg, ty) in args {
            if arg.is_empty() || typed.iter().any(|(a, _): &(String, ArgKind)| *a == arg) {
                return Err(PyValueError::new_err(format!(
                    "probe `{name}`: argument name `{arg}` is empty or repeated"
                )));
            }
            let kind = ty
                .parse::<ArgKind>()
                .map_err(|e| PyValueError::new_err(format!("probe `{name}`, argument `{arg}`: {e}")))?;
            typed.push((arg, kind));
        }
        let slots: usize = typed.iter().map(|(_, k)| k.note_args()).sum();
        if slots > stap_notes::meta::MAX_NOTE_ARGS {
            return Err(PyValueError::new_err(format!(
                "probe `{name}` needs {slots} stapsdt arguments (str, bytes and json take two); the limit is {}",
                stap_notes::meta::MAX_NOTE_ARGS
            )));
        }
        Ok(Probe {
            provider,
            name,
            doc,
            args: typed,
            semaphore: AtomicPtr::new((&raw const UNLOADED).cast_mut()),
            loaded: OnceLock::new(),
        })
    }

    /// The probe's name as tracers see it (`-` in D matches `__` here).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The provider's name.
    #[getter]
    fn provider(&self) -> &str {
        &self.provider
    }

    /// The documentation tracers show.
    #[getter]
    fn doc(&self) -> &str {
        &self.doc
    }

    /// `[(name, type), …]`, with types as tracers print them (`i64`, `str`…).
    #[getter]
    fn args(&self) -> Vec<(String, String)> {
        self.args.iter().map(|(n, k)| (n.clone(), k.name())).collect()
    }

    /// Whether the probe has been loaded (it can fire only then).
    #[getter]
    fn loaded(&self) -> bool {
        self.loaded.get().is_some()
    }

    /// Whether a tracer has enabled the probe: one read of its semaphore.
    #[getter]
    fn enabled(&self) -> bool {
        self.semaphore_value() != 0
    }

    /// Fire the probe. When no tracer is attached only the number of
    /// arguments is checked; their types are checked (and converted) only
    /// while the probe is enabled, so a disabled probe costs almost nothing.
    #[pyo3(signature = (*args))]
    fn fire(&self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if args.len() != self.args.len() {
            return Err(self.arity(args.len()));
        }
        if self.semaphore_value() == 0 {
            return Ok(());
        }
        self.fire_now(args, false)
    }

    /// Check `args` against the declaration, with the errors `fire` raises
    /// when the probe is enabled; nothing fires.
    #[pyo3(signature = (*args))]
    fn check(&self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if args.len() != self.args.len() {
            return Err(self.arity(args.len()));
        }
        self.fire_now(args, true)
    }

    fn __repr__(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|(n, k)| format!("{n}: {k}")).collect();
        format!("<probe {}:{}({})>", self.provider, self.name, args.join(", "))
    }
}

/// A converted argument; it holds what the argument block points to
/// while the probe fires (Python objects are borrowed, not copied).
enum Owned<'py> {
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    PyStr(Bound<'py, PyString>),
    PyBytes(Bound<'py, PyBytes>),
    CStr(CString),
    Bytes(Vec<u8>),
    Text(String),
}

impl Probe {
    fn semaphore_value(&self) -> u16 {
        // SAFETY: the pointer is either `UNLOADED` or the semaphore of a
        // loaded object, which is never unmapped. The kernel writes it,
        // hence the volatile read.
        unsafe { std::ptr::read_volatile(self.semaphore.load(Ordering::Acquire)) }
    }

    fn arity(&self, got: usize) -> PyErr {
        let want = self.args.len();
        PyTypeError::new_err(format!(
            "probe `{}` takes {want} argument{} ({}), {got} given",
            self.name,
            if want == 1 { "" } else { "s" },
            self.args.iter().map(|(n, k)| format!("{n}: {k}")).collect::<Vec<_>>().join(", ")
        ))
    }

    fn fire_now(&self, args: &Bound<'_, PyTuple>, check_only: bool) -> PyResult<()> {
        let mut owned = Vec::with_capacity(args.len());
        for ((name, kind), value) in self.args.iter().zip(args.iter()) {
            owned.push(self.convert(name, *kind, &value)?);
        }
        if check_only {
            return Ok(());
        }
        let Some((provider, index)) = self.loaded.get() else {
            return Ok(());
        };
        let mut values = Vec::with_capacity(owned.len());
        for o in &owned {
            values.push(match o {
                Owned::Int(v) => Arg::I64(*v),
                Owned::UInt(v) => Arg::U64(*v),
                Owned::Float(v) => Arg::F64(*v),
                Owned::Bool(v) => Arg::Bool(*v),
                Owned::PyStr(s) => Arg::Str(s.to_str()?),
                Owned::PyBytes(b) => Arg::Bytes(b.as_bytes()),
                Owned::CStr(c) => Arg::CStr(c),
                Owned::Bytes(b) => Arg::Bytes(b),
                Owned::Text(t) => Arg::Str(t),
            });
        }
        provider.probes()[*index].fire_always(&values).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn convert<'py>(&self, arg: &str, kind: ArgKind, value: &Bound<'py, PyAny>) -> PyResult<Owned<'py>> {
        let type_error = |want: &str| {
            let got = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
            PyTypeError::new_err(format!("probe `{}`, argument `{arg}`: expected {want}, got {got}", self.name))
        };
        Ok(match kind {
            ArgKind::Int { size, signed } => {
                if !value.is_instance_of::<PyInt>() {
                    return Err(type_error(&format!("int ({kind})")));
                }
                let v: i128 = value.extract()?;
                let bits = u32::from(size) * 8;
                let (lo, hi) =
                    if signed { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, (1i128 << bits) - 1) };
                if v < lo || v > hi {
                    return Err(PyValueError::new_err(format!(
                        "probe `{}`, argument `{arg}`: {v} does not fit in {kind} ({lo}..={hi})",
                        self.name
                    )));
                }
                if signed {
                    Owned::Int(v as i64)
                } else {
                    Owned::UInt(v as u64)
                }
            }
            ArgKind::Pointer => {
                if !value.is_instance_of::<PyInt>() {
                    return Err(type_error("int (an address)"));
                }
                Owned::UInt(value.extract().map_err(|_| {
                    PyValueError::new_err(format!("probe `{}`, argument `{arg}`: not a 64-bit address", self.name))
                })?)
            }
            ArgKind::Float { .. } => {
                if !(value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>()) {
                    return Err(type_error("float"));
                }
                Owned::Float(value.extract()?)
            }
            ArgKind::Bool => {
                if !value.is_instance_of::<PyBool>() {
                    return Err(type_error("bool"));
                }
                Owned::Bool(value.extract()?)
            }
            ArgKind::Char => {
                let s = value.cast::<PyString>().map_err(|_| type_error("str of one character"))?;
                let text = s.to_str()?;
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Owned::UInt(u64::from(u32::from(c))),
                    _ => {
                        return Err(PyValueError::new_err(format!(
                            "probe `{}`, argument `{arg}`: expected one character, got {} characters",
                            self.name,
                            text.chars().count()
                        )))
                    }
                }
            }
            ArgKind::Str => {
                let s = value.cast::<PyString>().map_err(|_| type_error("str"))?;
                // Reject unpaired surrogates here, with the argument's name.
                s.to_str().map_err(|_| {
                    PyValueError::new_err(format!(
                        "probe `{}`, argument `{arg}`: the str is not valid UTF-8",
                        self.name
                    ))
                })?;
                Owned::PyStr(s.clone())
            }
            ArgKind::CStr => {
                let s = value.cast::<PyString>().map_err(|_| type_error("str"))?;
                CString::new(s.to_str()?).map(Owned::CStr).map_err(|_| {
                    PyValueError::new_err(format!(
                        "probe `{}`, argument `{arg}`: a C string cannot hold NUL",
                        self.name
                    ))
                })?
            }
            ArgKind::Bytes => {
                if let Ok(b) = value.cast::<PyBytes>() {
                    Owned::PyBytes(b.clone())
                } else if let Ok(b) = value.cast::<PyByteArray>() {
                    Owned::Bytes(b.to_vec())
                } else {
                    return Err(type_error("bytes or bytearray"));
                }
            }
            ArgKind::Json => {
                let dumps = value.py().import("json")?.getattr("dumps")?;
                let text = dumps.call1((value,)).map_err(|e| {
                    PyTypeError::new_err(format!("probe `{}`, argument `{arg}`: not JSON-serializable: {e}", self.name))
                })?;
                Owned::Text(text.extract()?)
            }
            _ => return Err(type_error("a known type")),
        })
    }
}

fn bad_name(what: &str, name: &str) -> PyErr {
    PyValueError::new_err(format!(
        "invalid {what} name {name:?}: use ASCII letters, digits and `_`, not starting with a digit"
    ))
}

/// `fire` as a plain C function with the probe as its `self`: calling it
/// skips the method lookup and argument tuple of a pyo3 method, so a
/// disabled `probe.fire(...)` costs about as much as calling a builtin.
struct MethodDef(ffi::PyMethodDef);

// SAFETY: the definition is immutable and its pointers are to statics.
unsafe impl Sync for MethodDef {}

static FAST_FIRE: MethodDef = MethodDef(ffi::PyMethodDef {
    ml_name: c"fire".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: fast_fire },
    ml_flags: ffi::METH_FASTCALL,
    ml_doc: c"Fire the probe (see Probe.fire).".as_ptr(),
});

/// # Safety
/// Called by CPython with the GIL held, `slf` the `Probe` that
/// [`declare`] bound this function to, and `nargs` arguments at `args`.
unsafe extern "C" fn fast_fire(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls methods with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: `declare` binds this function to a `Probe` only, and the
    // function object keeps it alive.
    let probe = unsafe { Borrowed::from_ptr(py, slf).cast_unchecked::<Probe>() };
    let p = probe.get();
    if nargs as usize == p.args.len() && p.semaphore_value() == 0 {
        return py.None().into_ptr();
    }
    let slow = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let items: &[*mut ffi::PyObject] = if nargs > 0 {
            // SAFETY: CPython passes `nargs` valid borrowed references.
            unsafe { std::slice::from_raw_parts(args, nargs as usize) }
        } else {
            &[]
        };
        // SAFETY: each item is a valid borrowed reference for this call.
        let tuple = PyTuple::new(py, items.iter().map(|&a| unsafe { Borrowed::from_ptr(py, a) }))?;
        p.fire(&tuple)
    }));
    let err = match slow {
        Ok(Ok(())) => return py.None().into_ptr(),
        Ok(Err(e)) => e,
        Err(_) => PyRuntimeError::new_err(format!("internal error firing probe `{}`", p.name)),
    };
    err.restore(py);
    std::ptr::null_mut()
}

/// Declare a probe: a `Probe` whose `fire` attribute is the fast C
/// function above, bound to it.
#[pyfunction]
#[pyo3(signature = (provider, name, args, doc = String::new()))]
fn declare(
    py: Python<'_>,
    provider: String,
    name: String,
    args: Vec<(String, String)>,
    doc: String,
) -> PyResult<Bound<'_, Probe>> {
    let probe = Bound::new(py, Probe::new(provider, name, args, doc)?)?;
    // SAFETY: FAST_FIRE is a static definition CPython never writes to; the
    // new function object holds a reference to `probe`.
    let f = unsafe { ffi::PyCFunction_New((&raw const FAST_FIRE.0).cast_mut(), probe.as_ptr()) };
    // SAFETY: a new reference or null with an exception set.
    let f = unsafe { Bound::from_owned_ptr_or_err(py, f) }?;
    // The instance attribute shadows the (slower) method of the class.
    probe.as_any().setattr("fire", f)?;
    Ok(probe)
}

/// Whether `name` is usable as a provider or probe name.
#[pyfunction]
fn is_valid_name(name: &str) -> bool {
    valid_name(name)
}

/// Load `probes` (all of one provider, none loaded yet) as one new shared
/// object, bind them to it and return the object's path.
#[pyfunction]
fn load(probes: Vec<Bound<'_, Probe>>) -> PyResult<String> {
    let Some(first) = probes.first() else {
        return Err(PyValueError::new_err("no probes to load"));
    };
    let provider = first.get().provider.clone();
    let mut builder = ProviderBuilder::new(&provider);
    for p in &probes {
        let p = p.get();
        if p.provider != provider {
            return Err(PyValueError::new_err(format!(
                "probe `{}` belongs to `{}`, not `{provider}`",
                p.name, p.provider
            )));
        }
        if p.loaded.get().is_some() {
            return Err(PyValueError::new_err(format!("probe `{}` is already loaded", p.name)));
        }
        let args: Vec<(&str, ArgKind)> = p.args.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        builder = builder.probe(&p.name, &args).doc(&p.doc);
    }
    let loaded = Arc::new(builder.load().map_err(|e| match e {
        usdt_runtime::dynamic::Error::Load { .. } => PyOSError::new_err(e.to_string()),
        e => PyValueError::new_err(e.to_string()),
    })?);
    for (i, p) in probes.iter().enumerate() {
        let p = p.get();
        let sema = loaded.probes()[i].semaphore_address();
        // Set the binding before publishing the semaphore: a thread that
        // sees it non-zero finds the function too.
        let _ = p.loaded.set((Arc::clone(&loaded), i));
        p.semaphore.store(sema.cast_mut(), Ordering::Release);
    }
    Ok(loaded.path().display().to_string())
}

/// The native half of the `usdt_runtime` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Probe>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(declare, m)?)?;
    m.add_function(wrap_pyfunction!(is_valid_name, m)?)?;
    Ok(())
}
