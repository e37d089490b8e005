//! What to trace: the ELF objects of running processes, of a command about
//! to start, or named by path.
//!
//! A process's objects come from `/proc/PID/maps` (file-backed executable
//! mappings). Each is opened through `/proc/PID/root` so that processes in
//! other mount namespaces (containers) work, and through
//! `/proc/PID/map_files` when the file was deleted or lives in a memfd.

use std::path::{Path, PathBuf};

/// One ELF object mapped by a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedObject {
    /// The path as the process sees it (`/usr/bin/python3.11`, `/memfd:x (deleted)`).
    pub name: String,
    /// A path sdtrace can open and attach to from its own namespace.
    pub open_path: PathBuf,
}

use crate::process::ProcessError;

/// The path of the executable `pid` runs, as its maps name it.
pub fn process_executable(pid: u32) -> Option<String> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    Some(exe.to_string_lossy().into_owned())
}

/// Every file-backed executable mapping of `pid`, once per file.
pub fn process_objects(pid: u32) -> Result<Vec<MappedObject>, ProcessError> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).map_err(|e| {
        ProcessError::new(
            pid,
            if e.kind() == std::io::ErrorKind::NotFound { "no such process".into() } else { e.to_string() },
        )
    })?;
    let mut out: Vec<MappedObject> = Vec::new();
    for line in maps.lines() {
        let mut fields = line.splitn(6, ' ');
        let (Some(range), Some(perms), Some(_off), Some(_dev), Some(inode)) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let name = fields.next().unwrap_or("").trim_start();
        if !perms.contains('x') || inode == "0" || name.is_empty() || name.starts_with('[') {
            continue;
        }
        if out.iter().any(|o| o.name == name) {
            continue;
        }
        let open_path = if name.ends_with(" (deleted)") || name.starts_with("/memfd:") {
            PathBuf::from(format!("/proc/{pid}/map_files/{}", map_files_name(range)))
        } else {
            PathBuf::from(format!("/proc/{pid}/root{name}"))
        };
        out.push(MappedObject { name: name.to_string(), open_path });
    }
    if out.is_empty() {
        // Nothing to probe: say why instead of "say what to trace" later.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()));
        if state == Some('Z') {
            return Err(ProcessError::new(pid, "is a zombie: it has exited and has nothing left to trace".into()));
        }
        if maps.is_empty() {
            return Err(ProcessError::new(pid, "is a kernel thread: it has no user-space code to probe".into()));
        }
    }
    Ok(out)
}

/// Every ELF object mapped by any process, once per file (by device and
/// inode), with the pids that map it. Processes that vanish or cannot be
/// read while the scan runs are skipped.
pub fn all_process_objects() -> Vec<(MappedObject, Vec<u32>)> {
    use std::os::unix::fs::MetadataExt;
    let mut out: Vec<(MappedObject, Vec<u32>, (u64, u64))> = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut pids: Vec<u32> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(objects) = process_objects(pid) else { continue };
        for obj in objects {
            let Ok(meta) = std::fs::metadata(&obj.open_path) else { continue };
            let key = (meta.dev(), meta.ino());
            match out.iter_mut().find(|o| o.2 == key) {
                Some(o) => o.1.push(pid),
                None => out.push((obj, vec![pid], key)),
            }
        }
    }
    out.into_iter().map(|(o, p, _)| (o, p)).collect()
}

/// Find `program` the way a shell does: a path with `/` as is, else in `$PATH`.
pub fn resolve_command(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    // As a shell looks it up: the first executable file of that name.
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file() && is_executable(p))
}

/// The name of a mapping in `/proc/PID/map_files`: its `/proc/PID/maps`
/// range without the zero padding (`00400000-00401000` is
/// `400000-401000`; a non-PIE executable's low addresses have it).
fn map_files_name(range: &str) -> String {
    let trim = |a: &str| {
        let t = a.trim_start_matches('0');
        if t.is_empty() {
            "0".to_string()
        } else {
            t.to_string()
        }
    };
    match range.split_once('-') {
        Some((lo, hi)) => format!("{}-{}", trim(lo), trim(hi)),
        None => range.to_string(),
    }
}

/// Whether this process may execute `path` (`access(2)` with `X_OK`).
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: access reads a NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// The program of a `-c` command, checked before anything starts: found
/// (in `$PATH` without a `/`), a file, and executable.
pub fn command_program(program: &str) -> Result<PathBuf, String> {
    let exe = resolve_command(program).ok_or_else(|| format!("command `{program}` not found"))?;
    if !is_executable(&exe) {
        return Err(format!("command `{program}` is not executable (it lacks execute permission)"));
    }
    Ok(exe)
}

/// The ELF file that will run when `exe` is executed: `exe` itself, or for
/// a `#!` script its interpreter (`#!/usr/bin/env NAME` is looked up in
/// `$PATH`), followed through nested scripts.
pub fn executed_image(exe: &Path) -> PathBuf {
    let mut current = exe.to_path_buf();
    for _ in 0..4 {
        let Ok(head) = std::fs::read(&current).map(|b| b.into_iter().take(256).collect::<Vec<u8>>()) else { break };
        let Some(line) = head.strip_prefix(b"#!") else { break };
        let line = String::from_utf8_lossy(line.split(|&b| b == b'\n').next().unwrap_or(&[])).into_owned();
        let mut words = line.split_whitespace();
        let Some(interp) = words.next() else { break };
        let next = if Path::new(interp).file_name().is_some_and(|n| n == "env") {
            words.find(|w| !w.starts_with('-')).and_then(resolve_command)
        } else {
            Some(PathBuf::from(interp))
        };
        match next {
            Some(n) if n.is_file() => current = n,
            _ => break,
        }
    }
    current
}

/// Directories the dynamic linker searches by default on Debian.
const LIBRARY_DIRS: [&str; 9] = [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
];

/// A library named by soname or short name (`libruby`, `libc.so.6`),
/// found in the linker's default directories: the first file, in directory
/// order then name order, whose name is `name` or starts with `name` followed
/// by `-`, `.` or `.so`.
pub fn resolve_library(name: &str) -> Option<PathBuf> {
    if name.contains('/') || !name.starts_with("lib") {
        return None;
    }
    for dir in LIBRARY_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| {
                f == name
                    || (f.starts_with(name)
                        && f.contains(".so")
                        && matches!(f.as_bytes().get(name.len()), Some(b'-') | Some(b'.')))
            })
            .collect();
        names.sort_by_key(|n| (n != name, n.len(), n.clone()));
        if let Some(n) = names.into_iter().map(|n| Path::new(dir).join(n)).find(|p| p.is_file()) {
            return Some(n);
        }
    }
    None
}

/// The shared libraries an executable asks for (`DT_NEEDED`), found in its
/// run paths (with `$ORIGIN` expanded) and the standard library
/// directories, followed one level deep.
pub fn needed_libraries(exe: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut queue = vec![exe.to_path_buf()];
    for _depth in 0..2 {
        let mut next = Vec::new();
        for obj in &queue {
            let Ok(image) = stap_notes::ElfImage::read(obj) else { continue };
            let Ok(elf) = stap_notes::ElfFile::parse_image(&image) else { continue };
            let origin = obj.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            let mut dirs: Vec<PathBuf> = elf
                .run_paths()
                .iter()
                .map(|d| PathBuf::from(d.replace("${ORIGIN}", &origin).replace("$ORIGIN", &origin)))
                .collect();
            dirs.extend(LIBRARY_DIRS.map(PathBuf::from));
            for lib in elf.needed() {
                if let Some(p) = dirs.iter().map(|d| d.join(lib)).find(|p| p.is_file()) {
                    if !found.contains(&p) {
                        found.push(p.clone());
                        next.push(p);
                    }
                }
            }
        }
        queue = next;
    }
    found
}

/// Finds the objects that traced processes map after the start (a library
/// opened with `dlopen`, a run-time provider, its next generation), by
/// reading their maps at most every [`LateScan::PERIOD`]. `sdtrace trace`
/// and D programs both use it, so both pick up late objects the same way.
pub struct LateScan {
    pids: Vec<u32>,
    /// (pid, device, inode) of every object already looked at (pid 0 in
    /// system-wide mode, where an object is traced in every process).
    known: std::collections::HashSet<(u32, u64, u64)>,
    last: std::time::Instant,
    /// System-wide mode: processes that exec'd, each looked at for
    /// [`LateScan::SETTLE`] after it was added (while the dynamic linker
    /// maps its libraries).
    added: Option<std::collections::HashMap<u32, std::time::Instant>>,
}

impl LateScan {
    /// How often the maps are read.
    pub const PERIOD: std::time::Duration = std::time::Duration::from_millis(100);

    /// Scan `pids`, leaving out the objects planned at the start: `(pid,
    /// path)`, where no pid means the object is traced in every process.
    pub fn new<'a>(pids: Vec<u32>, planned: impl IntoIterator<Item = (Option<u32>, &'a Path)>) -> LateScan {
        let mut known = std::collections::HashSet::new();
        // Nothing to scan: no file to look at either.
        for (pid, path) in planned.into_iter().filter(|_| !pids.is_empty()) {
            let Some((dev, ino)) = file_id(path) else { continue };
            match pid {
                Some(p) => {
                    known.insert((p, dev, ino));
                }
                None => known.extend(pids.iter().map(|&p| (p, dev, ino))),
            }
        }
        LateScan { pids, known, last: std::time::Instant::now(), added: None }
    }

    /// How long a process that exec'd is looked at in system-wide mode.
    pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

    /// System-wide mode: no process to begin with; [`LateScan::add`] gives
    /// those that exec later, and an object is new once, whichever process
    /// maps it (the `planned` objects are not).
    pub fn system_wide<'a>(planned: impl IntoIterator<Item = &'a Path>) -> LateScan {
        let known = planned.into_iter().filter_map(file_id).map(|(dev, ino)| (0, dev, ino)).collect();
        LateScan {
            pids: Vec::new(),
            known,
            last: std::time::Instant::now(),
            added: Some(std::collections::HashMap::new()),
        }
    }

    /// System-wide mode: look at process `pid`, which has just exec'd, at
    /// once (its executable is mapped: the sooner its probes are on, the
    /// fewer of its first firings are missed) and then every period.
    pub fn add(&mut self, pid: u32) {
        if let Some(added) = self.added.as_mut() {
            if added.insert(pid, std::time::Instant::now()).is_none() {
                self.pids.push(pid);
                self.last = std::time::Instant::now().checked_sub(Self::PERIOD).unwrap_or(self.last);
            }
        }
    }

    /// Whether a scan is due (never, without processes to scan).
    pub fn due(&mut self) -> bool {
        if self.pids.is_empty() || self.last.elapsed() < Self::PERIOD {
            return false;
        }
        self.last = std::time::Instant::now();
        true
    }

    /// Objects mapped since the last call, with the process mapping them.
    pub fn new_objects(&mut self) -> Vec<(u32, MappedObject)> {
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for &pid in &self.pids {
            // A process that exited is the stop check's business.
            let Ok(objects) = process_objects(pid) else {
                gone.push(pid);
                continue;
            };
            let key = if self.added.is_some() { 0 } else { pid };
            for obj in objects {
                if file_id(&obj.open_path).is_some_and(|(dev, ino)| self.known.insert((key, dev, ino))) {
                    out.push((pid, obj));
                }
            }
        }
        if let Some(added) = self.added.as_mut() {
            added.retain(|pid, at| !gone.contains(pid) && at.elapsed() < Self::SETTLE);
            self.pids.retain(|p| added.contains_key(p));
        }
        out
    }

    /// Whether objects are traced in every process (system-wide mode).
    pub fn is_system_wide(&self) -> bool {
        self.added.is_some()
    }
}

/// Device and inode: one file however it is reached.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_files_names_drop_the_zero_padding_of_maps() {
        assert_eq!(map_files_name("00400000-00401000"), "400000-401000");
        assert_eq!(map_files_name("7f12a0000000-7f12a0021000"), "7f12a0000000-7f12a0021000");
        assert_eq!(map_files_name("00000000-00001000"), "0-1000");
    }

    #[test]
    fn own_process_maps_include_this_executable() {
        let objs = process_objects(std::process::id()).unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        assert!(objs.iter().any(|o| Path::new(&o.name) == exe), "{objs:?}");
        assert!(objs.iter().all(|o| o.open_path.exists()), "{objs:?}");
    }

    #[test]
    fn scripts_run_their_interpreter() {
        let dir = std::env::temp_dir().join(format!("sdtrace-shebang-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let direct = dir.join("direct");
        std::fs::write(&direct, "#!/bin/sh -e\necho hi\n").unwrap();
        let via_env = dir.join("via_env");
        std::fs::write(&via_env, "#!/usr/bin/env sh\necho hi\n").unwrap();
        assert_eq!(executed_image(&direct), PathBuf::from("/bin/sh"));
        assert_eq!(executed_image(&via_env).file_name().unwrap(), "sh");
        assert_eq!(executed_image(Path::new("/bin/sh")), PathBuf::from("/bin/sh"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn libraries_resolve_by_short_name_and_soname() {
        let libc = resolve_library("libc.so.6").expect("libc.so.6");
        assert_eq!(libc.file_name().unwrap(), "libc.so.6");
        let short = resolve_library("libc").expect("libc");
        assert!(short.file_name().unwrap().to_string_lossy().starts_with("libc.so"), "{short:?}");
        assert_eq!(resolve_library("libnosuchlibrary"), None);
        assert_eq!(resolve_library("python3"), None);
    }

    #[test]
    fn missing_process_is_named() {
        let e = process_objects(u32::MAX - 1).unwrap_err();
        assert_eq!(e.to_string(), format!("pid {}: no such process", u32::MAX - 1));
    }
}
