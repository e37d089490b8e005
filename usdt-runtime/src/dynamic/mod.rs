//! Run-time providers: probes declared while the program runs, for
//! interpreters and anything else that cannot use the `#[provider]` macros.
//!
//! ```no_run
//! use usdt_runtime::dynamic::{Arg, ProviderBuilder};
//! use usdt_runtime::ArgKind;
//!
//! let provider = ProviderBuilder::new("app")
//!     .probe("request", &[("id", ArgKind::Int { size: 8, signed: false }), ("path", ArgKind::Str)])
//!     .doc("A request arrived.")
//!     .load()?;
//! let request = provider.probe("request").unwrap();
//! if request.enabled() {
//!     request.fire(&[Arg::U64(7), Arg::Str("/index.html")])?;
//! }
//! # Ok::<(), usdt_runtime::dynamic::Error>(())
//! ```
//!
//! `load()` lays out an ELF shared object in memory ([`elf`]), writes it to
//! a content-addressed file (so every process that declares the same
//! provider maps the same inode, and a tracer can attach by path), and opens
//! it with `dlopen`. See [`ProviderBuilder::load`] for where the file goes.
//! Probes declared after `load()` go into a new generation
//! ([`Provider::load_generation`]), a shared object of their own.
//! A loaded provider is never closed: a probe function may be running on
//! another thread, so `dlclose` is never safe; dropping a [`Provider`] only
//! drops the handle.

pub mod elf;

use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use stap_notes::meta::valid_name;
use stap_notes::{ArgKind, ProbeMetadataBuf};

/// What can go wrong declaring, loading or firing a run-time provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name that tracers could not use.
    #[error("invalid {what} name `{name}`: use ASCII letters, digits and `_`, not starting with a digit")]
    InvalidName {
        /// "provider" or "probe".
        what: &'static str,
        /// The name.
        name: String,
    },
    /// Two probes with one name, or a probe with too many arguments.
    #[error("probe `{probe}`: {reason}")]
    BadProbe {
        /// The probe.
        probe: String,
        /// What is wrong.
        reason: String,
    },
    /// This architecture has no probe site form.
    #[error("run-time providers are supported on x86-64 and aarch64 Linux only")]
    Unsupported,
    /// Writing or opening the shared object failed everywhere it was tried.
    #[error("cannot load provider `{provider}`: {reason}")]
    Load {
        /// The provider.
        provider: String,
        /// Every place tried and why it failed.
        reason: String,
    },
    /// Arguments that do not match the probe's declaration.
    #[error("probe `{probe}` fired with {reason}")]
    BadArguments {
        /// The probe.
        probe: String,
        /// What does not match.
        reason: String,
    },
}

/// One argument value for [`Probe::fire`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    /// A signed integer (for any signed `Int` argument; truncated to its size).
    I64(i64),
    /// An unsigned integer (for any unsigned `Int`, `Pointer` or `Char`).
    U64(u64),
    /// A float (`Float` arguments).
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Text (`Str`, `Json`; `CStr` needs a NUL-terminated `CStr` value).
    Str(&'a str),
    /// A C string (`CStr`).
    CStr(&'a std::ffi::CStr),
    /// Bytes (`Bytes`).
    Bytes(&'a [u8]),
}

/// Declares a provider's probes; [`load`](Self::load) makes them live.
#[derive(Debug, Clone)]
pub struct ProviderBuilder {
    name: String,
    probes: Vec<ProbeMetadataBuf>,
}

impl ProviderBuilder {
    /// A provider named `name` (the stapsdt provider name).
    pub fn new(name: &str) -> Self {
        ProviderBuilder { name: name.to_string(), probes: Vec::new() }
    }

    /// Add a probe with named, typed arguments.
    pub fn probe(mut self, name: &str, args: &[(&str, ArgKind)]) -> Self {
        self.probes.push(ProbeMetadataBuf {
            provider: self.name.clone(),
            name: name.to_string(),
            file: String::new(),
            line: 0,
            doc: String::new(),
            args: args.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        });
        self
    }

    /// Set the documentation of the probe added last.
    pub fn doc(mut self, doc: &str) -> Self {
        if let Some(p) = self.probes.last_mut() {
            p.doc = doc.to_string();
        }
        self
    }

    fn check(&self) -> Result<(), Error> {
        if !valid_name(&self.name) {
            return Err(Error::InvalidName { what: "provider", name: self.name.clone() });
        }
        for (i, p) in self.probes.iter().enumerate() {
            if !valid_name(&p.name) {
                return Err(Error::InvalidName { what: "probe", name: p.name.clone() });
            }
            if self.probes[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::BadProbe { probe: p.name.clone(), reason: "declared twice".into() });
            }
            let n = p.note_arg_count();
            if n > stap_notes::meta::MAX_NOTE_ARGS {
                return Err(Error::BadProbe {
                    probe: p.name.clone(),
                    reason: format!("needs {n} stapsdt arguments (strings and bytes take two); the limit is 12"),
                });
            }
        }
        Ok(())
    }

    /// The shared object this provider loads, and its file name
    /// (`lib<provider>-<hash>.so`, the hash of the bytes).
    pub fn build(&self) -> Result<(String, Vec<u8>, Vec<elf::BuiltProbe>), Error> {
        self.check()?;
        let machine = elf::Machine::host().ok_or(Error::Unsupported)?;
        let layouts: Vec<elf::ProbeLayout> = self.probes.iter().map(|m| elf::ProbeLayout { meta: m.clone() }).collect();
        // The name depends on the definition only, so equal definitions share a file.
        let fail = |reason: String| Error::Load { provider: self.name.clone(), reason };
        let (probe_bytes, _) = elf::build(machine, "x", &layouts).map_err(fail)?;
        let name = format!("lib{}-{:016x}.so", self.name, fnv1a(&probe_bytes));
        let (bytes, built) = elf::build(machine, &name, &layouts).map_err(fail)?;
        Ok((name, bytes, built))
    }

    /// Build the shared object and open it.
    ///
    /// The file goes to the first of these that works: the directory in
    /// `$SDTRACE_PROVIDER_DIR`, `$XDG_RUNTIME_DIR/sdtrace`,
    /// `/run/user/<uid>/sdtrace`, `/tmp/sdtrace-<uid>`, and finally an
    /// anonymous memfd (which a tracer reaches through `/proc/PID/map_files`
    /// only). A directory that is mounted `noexec` fails at `dlopen` and the
    /// next one is tried. An existing file with the same name and contents
    /// is reused, so every process sharing the definition maps one inode.
    ///
    /// The last of these, `/tmp/sdtrace-<uid>`, is temporary: every process
    /// holds a shared `flock` on the file it maps, and at exit the last one
    /// (the one that can take the lock exclusively) removes it. Files left
    /// there by processes that were killed are removed by the next `load`
    /// that uses the directory. A tracer attaching by path there therefore
    /// sees a file only while some process has it loaded; the other
    /// directories keep their files so that a tracer can attach before the
    /// program starts.
    pub fn load(self) -> Result<Provider, Error> {
        let (name, bytes, built) = self.build()?;
        let mut tried = Vec::new();
        for (dir, temporary) in candidate_dirs() {
            if temporary {
                sweep(&dir);
            }
            let placed = place_in(&dir, &name, &bytes).and_then(|p| {
                let lock = temporary.then(|| hold(&p)).transpose()?;
                open(&p).map(|h| (p.clone(), h, lock)).inspect_err(|_| {
                    // A file that cannot be loaded here (noexec) is not left behind.
                    if temporary && unused(&p).is_some() {
                        let _ = std::fs::remove_file(&p);
                        let _ = std::fs::remove_dir(&dir);
                    }
                })
            });
            match placed {
                Ok((path, handle, lock)) => {
                    if let Some(fd) = lock {
                        remove_at_exit(path.clone(), fd);
                    }
                    return Ok(self.finish(path, handle, &built));
                }
                Err(e) => tried.push(format!("{}: {e}", dir.display())),
            }
        }
        match place_memfd(&name, &bytes).and_then(|p| open(&p).map(|h| (p, h))) {
            Ok((path, handle)) => Ok(self.finish(path, handle, &built)),
            Err(e) => {
                tried.push(format!("memfd: {e}"));
                Err(Error::Load { provider: self.name.clone(), reason: tried.join("; ") })
            }
        }
    }

    fn finish(self, path: PathBuf, handle: Handle, built: &[elf::BuiltProbe]) -> Provider {
        let mut probes = Vec::new();
        let mut base = None;
        for (m, b) in self.probes.into_iter().zip(built) {
            let sym = CString::new(elf::symbol_name(&m.provider, &m.name)).expect("validated names have no NUL");
            // SAFETY: `handle` is a live dlopen handle and `sym` a C string.
            let f = unsafe { libc::dlsym(handle.0, sym.as_ptr()) };
            let load_base = f as usize - b.function as usize;
            base.get_or_insert(load_base);
            probes.push(Probe {
                meta: m,
                function: f as usize,
                semaphore: (load_base + b.semaphore as usize) as *const u16,
            });
        }
        Provider { name: self.name, paths: vec![path], probes, _handles: vec![handle] }
    }
}

/// FNV-1a, 64-bit: a stable content hash for file names (not security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// Where a provider's file may go, in order, and whether the place is
/// temporary (its files are removed when no process uses them).
fn candidate_dirs() -> Vec<(PathBuf, bool)> {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("SDTRACE_PROVIDER_DIR") {
        dirs.push((PathBuf::from(d), false));
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        dirs.push((PathBuf::from(d).join("sdtrace"), false));
    }
    dirs.push((PathBuf::from(format!("/run/user/{uid}/sdtrace")), false));
    dirs.push((PathBuf::from(format!("/tmp/sdtrace-{uid}")), true));
    dirs
}

/// Open `path` and take a shared lock on it: "a process uses this file".
fn hold(path: &Path) -> Result<OwnedFd, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH) } != 0 {
        return Err(format!("flock: {}", std::io::Error::last_os_error()));
    }
    Ok(file.into())
}

/// Whether no process holds `path` (an exclusive lock is free); the lock
/// taken to find out goes with the returned descriptor.
fn unused(path: &Path) -> Option<OwnedFd> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: flock on a descriptor we own; non-blocking.
    (unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0).then(|| file.into())
}

/// Remove the provider files in a temporary directory that no process
/// holds (left by processes that were killed), and half-written files of
/// processes that are gone.
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with("lib") && name.ends_with(".so") {
            if let Some(_locked) = unused(&path) {
                let _ = std::fs::remove_file(&path);
            }
        } else if let Some(pid) = name.starts_with('.').then(|| name.rsplit('.').next()).flatten() {
            let gone = pid.parse::<u32>().is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
            if gone {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Files in temporary directories this process holds, removed at exit by
/// the last process holding each.
static HELD: std::sync::Mutex<Vec<(PathBuf, OwnedFd)>> = std::sync::Mutex::new(Vec::new());

fn remove_at_exit(path: PathBuf, fd: OwnedFd) {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registering a function with no preconditions.
        unsafe { libc::atexit(remove_held) };
    });
    HELD.lock().unwrap_or_else(|e| e.into_inner()).push((path, fd));
}

extern "C" fn remove_held() {
    let held = std::mem::take(&mut *HELD.lock().unwrap_or_else(|e| e.into_inner()));
    for (path, fd) in held {
        // Upgrading to an exclusive lock succeeds only if no other process
        // holds the file. The mapping stays valid after the unlink.
        // SAFETY: flock on a descriptor we own; non-blocking.
        if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            let _ = std::fs::remove_file(&path);
            if let Some(dir) = path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

fn place_in(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    if std::fs::read(&path).is_ok_and(|b| b == bytes) {
        return Ok(path);
    }
    // Write beside, then rename: a process never maps a half-written file.
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })?;
    Ok(path)
}

fn place_memfd(name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: memfd_create with a valid C string; the fd is checked.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let path = PathBuf::from(format!("/proc/self/fd/{fd}"));
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    // The fd stays open for the life of the process: the mapping keeps the
    // memfd alive anyway, and the path must stay valid for tracers.
    Ok(path)
}

/// A dlopen handle, never closed (see the module docs).
struct Handle(*mut libc::c_void);

// SAFETY: a dlopen handle may be used from any thread.
unsafe impl Send for Handle {}
// SAFETY: as above; it is only read.
unsafe impl Sync for Handle {}

fn open(path: &Path) -> Result<Handle, String> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: dlopen with a valid C string. The object has no constructors.
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if h.is_null() {
        // SAFETY: dlerror returns a C string or null, valid until the next dl call.
        let e = unsafe { libc::dlerror() };
        let msg = if e.is_null() {
            "dlopen failed".to_string()
        } else {
            // SAFETY: non-null C string from dlerror.
            unsafe { std::ffi::CStr::from_ptr(e) }.to_string_lossy().into_owned()
        };
        return Err(msg);
    }
    Ok(Handle(h))
}

/// A loaded provider: one or more generations, each a shared object.
pub struct Provider {
    name: String,
    paths: Vec<PathBuf>,
    probes: Vec<Probe>,
    _handles: Vec<Handle>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider").field("name", &self.name).field("paths", &self.paths).finish_non_exhaustive()
    }
}

impl Provider {
    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file the provider's first generation was loaded from (a tracer
    /// can attach to it by path).
    pub fn path(&self) -> &Path {
        &self.paths[0]
    }

    /// The files of every generation, oldest first.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// A builder for more probes of this provider; pass it to
    /// [`load_generation`](Self::load_generation).
    pub fn generation(&self) -> ProviderBuilder {
        ProviderBuilder::new(&self.name)
    }

    /// Load probes declared after [`ProviderBuilder::load`] as a new
    /// generation: a shared object of their own, loaded beside the earlier
    /// ones, which keep working (probes already handed out stay valid on
    /// other threads, since nothing is unloaded). Tracers see each
    /// generation as one more object of the process; `sdtrace trace -p`
    /// picks up generations loaded while it runs.
    ///
    /// ```no_run
    /// # use usdt_runtime::dynamic::{Arg, ProviderBuilder};
    /// let mut app = ProviderBuilder::new("app").probe("start", &[]).load()?;
    /// let more = app.generation().probe("plugin_loaded", &[("name", usdt_runtime::ArgKind::Str)]);
    /// app.load_generation(more)?;
    /// app.probe("plugin_loaded").unwrap().fire(&[Arg::Str("gzip")])?;
    /// # Ok::<(), usdt_runtime::dynamic::Error>(())
    /// ```
    pub fn load_generation(&mut self, more: ProviderBuilder) -> Result<(), Error> {
        if more.name != self.name {
            return Err(Error::BadProbe {
                probe: more.probes.first().map(|p| p.name.clone()).unwrap_or_default(),
                reason: format!("declared for provider `{}`, not `{}`", more.name, self.name),
            });
        }
        if let Some(p) = more.probes.iter().find(|p| self.probe(&p.name).is_some()) {
            return Err(Error::BadProbe {
                probe: p.name.clone(),
                reason: "already loaded in an earlier generation".into(),
            });
        }
        if more.probes.is_empty() {
            return Ok(());
        }
        let generation = more.load()?;
        self.paths.extend(generation.paths);
        self.probes.extend(generation.probes);
        self._handles.extend(generation._handles);
        Ok(())
    }

    /// A probe by name.
    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.meta.name == name)
    }

    /// All probes, in declaration order.
    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }
}

/// One loaded probe. Clones are handles to the same probe (the object it
/// lives in is never unloaded).
#[derive(Clone)]
pub struct Probe {
    meta: ProbeMetadataBuf,
    function: usize,
    semaphore: *const u16,
}

// SAFETY: the function and semaphore live as long as the process (the
// object is never closed); firing and reading are thread-safe.
unsafe impl Send for Probe {}
// SAFETY: as above.
unsafe impl Sync for Probe {}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe").field("provider", &self.meta.provider).field("name", &self.meta.name).finish()
    }
}

impl Probe {
    /// The probe's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The address of the semaphore, for bindings that read it themselves.
    pub fn semaphore_address(&self) -> *const u16 {
        self.semaphore
    }

    /// Whether a tracer has enabled the probe: one read of its semaphore.
    #[inline]
    pub fn enabled(&self) -> bool {
        // SAFETY: the semaphore is a u16 in the loaded object, which is
        // never unmapped; the kernel changes it, hence the volatile read.
        unsafe { std::ptr::read_volatile(self.semaphore) != 0 }
    }

    /// Fire the probe with `args`, which must match its declaration in
    /// number and kind. Cheap when the probe is disabled: the arguments are
    /// checked and passed only while a tracer is attached.
    pub fn fire(&self, args: &[Arg<'_>]) -> Result<(), Error> {
        if !self.enabled() {
            return Ok(());
        }
        self.fire_always(args)
    }

    /// Fire whether or not the probe is enabled (for tests and tools).
    pub fn fire_always(&self, args: &[Arg<'_>]) -> Result<(), Error> {
        let bad = |reason: String| Error::BadArguments { probe: self.meta.name.clone(), reason };
        if args.len() != self.meta.args.len() {
            return Err(bad(format!("{} arguments; it takes {}", args.len(), self.meta.args.len())));
        }
        let mut block = [0u64; stap_notes::meta::MAX_NOTE_ARGS];
        let mut slot = 0;
        for ((name, kind), arg) in self.meta.args.iter().zip(args) {
            let values: Vec<u64> = match (kind, arg) {
                (ArgKind::Int { .. }, Arg::I64(v)) => vec![*v as u64],
                (ArgKind::Int { .. } | ArgKind::Pointer | ArgKind::Char, Arg::U64(v)) => vec![*v],
                (ArgKind::Float { size: 4 }, Arg::F64(v)) => vec![u64::from((*v as f32).to_bits())],
                (ArgKind::Float { .. }, Arg::F64(v)) => vec![v.to_bits()],
                (ArgKind::Bool, Arg::Bool(v)) => vec![u64::from(*v)],
                (ArgKind::Str | ArgKind::Json, Arg::Str(s)) => vec![s.as_ptr() as u64, s.len() as u64],
                (ArgKind::Bytes, Arg::Bytes(b)) => vec![b.as_ptr() as u64, b.len() as u64],
                (ArgKind::CStr, Arg::CStr(c)) => vec![c.as_ptr() as u64],
                (kind, arg) => return Err(bad(format!("{arg:?} for `{name}`, which is {kind}"))),
            };
            for v in values {
                block[slot] = v;
                slot += 1;
            }
        }
        // SAFETY: `function` is the probe's `void f(const uint64_t *)` in
        // the loaded object; the block outlives the call, and the strings
        // and bytes it points to are borrowed for the duration of `fire`.
        let f: extern "C" fn(*const u64) = unsafe { std::mem::transmute(self.function) };
        f(block.as_ptr());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stap_notes::{Arch, ElfFile};

    fn sample() -> ProviderBuilder {
        ProviderBuilder::new("unit")
            .probe("a", &[("n", ArgKind::Int { size: 4, signed: true }), ("s", ArgKind::Str)])
            .doc("Doc of a.")
            .probe("b", &[])
    }

    #[test]
    fn built_object_has_notes_records_and_memory_operands() {
        let (name, bytes, built) = sample().build().unwrap();
        assert!(name.starts_with("libunit-") && name.ends_with(".so"));
        let elf = ElfFile::parse(&bytes).unwrap();
        let notes: Vec<_> = elf.stapsdt_notes().collect::<Result<_, _>>().unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].args, "-4@0(%rdi) 8@8(%rdi) 8@16(%rdi)");
        for spec in notes[0].arg_specs(Arch::X86_64) {
            spec.unwrap();
        }
        let site = elf.probe_site(&notes[0]);
        assert_eq!(site.address, built[0].function);
        assert_eq!(site.semaphore.unwrap().file_offset, Some(built[0].semaphore));
        assert_eq!(built[0].semaphore % 4096, 0, "semaphores start a page of their own");
        let off = site.file_offset.unwrap() as usize;
        assert_eq!(&bytes[off..off + 3], &[0x90, 0x66, 0x2e]);
        let records: Vec<_> = elf.metadata_records().collect::<Result<_, _>>().unwrap();
        assert_eq!(records[0].doc, "Doc of a.");
    }

    #[test]
    fn equal_definitions_share_a_name_and_different_ones_do_not() {
        let a = sample().build().unwrap().0;
        assert_eq!(a, sample().build().unwrap().0);
        assert_ne!(a, sample().probe("c", &[]).build().unwrap().0);
    }

    #[test]
    fn bad_declarations_are_errors() {
        assert!(matches!(ProviderBuilder::new("9x").build(), Err(Error::InvalidName { .. })));
        assert!(matches!(sample().probe("a", &[]).build(), Err(Error::BadProbe { .. })));
        let seven: Vec<(&str, ArgKind)> = (0..7).map(|_| ("s", ArgKind::Str)).collect();
        let e = ProviderBuilder::new("x").probe("big", &seven).build().unwrap_err().to_string();
        assert!(e.contains("needs 14 stapsdt arguments"), "{e}");
    }

    #[test]
    fn probes_added_after_load_are_a_new_generation() {
        unit_dir();
        let mut p = ProviderBuilder::new("gen").probe("first", &[]).load().unwrap();
        let e = p.load_generation(p.generation().probe("first", &[])).unwrap_err().to_string();
        assert!(e.contains("already loaded in an earlier generation"), "{e}");
        let e = p.load_generation(ProviderBuilder::new("other").probe("x", &[])).unwrap_err().to_string();
        assert!(e.contains("not `gen`"), "{e}");
        p.load_generation(p.generation().probe("second", &[("n", ArgKind::Int { size: 4, signed: true })])).unwrap();
        assert_eq!(p.paths().len(), 2);
        assert_ne!(p.paths()[0], p.paths()[1]);
        p.probe("first").unwrap().fire_always(&[]).unwrap();
        p.probe("second").unwrap().fire_always(&[Arg::I64(3)]).unwrap();
        assert!(!p.probe("second").unwrap().enabled());
    }

    /// One provider directory for the unit tests (they run on parallel
    /// threads, and the variable is process-wide).
    fn unit_dir() -> &'static Path {
        static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("usdt-runtime-unit-{}", std::process::id()));
            std::env::set_var("SDTRACE_PROVIDER_DIR", &dir);
            dir
        })
    }

    #[test]
    fn loads_and_checks_arguments() {
        let dir = unit_dir();
        let p = sample().load().unwrap();
        assert!(p.path().starts_with(dir), "{}", p.path().display());
        let a = p.probe("a").unwrap();
        assert!(!a.enabled());
        a.fire_always(&[Arg::I64(-1), Arg::Str("x")]).unwrap();
        let e = a.fire_always(&[Arg::Str("x"), Arg::I64(1)]).unwrap_err().to_string();
        assert!(e.contains("for `n`, which is i32"), "{e}");
        assert!(a.fire_always(&[]).is_err());
    }
}
