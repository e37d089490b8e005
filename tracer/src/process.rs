//! Starting a command held just before `execve`, so that probes are
//! attached before it runs its first instruction of user code.
//!
//! The child is forked and blocks reading a pipe; `release` writes one byte
//! and learns from a close-on-exec status pipe whether `execve` succeeded.
//! Everything the child needs (path, argv, envp) is prepared before the
//! fork, so the child only calls async-signal-safe functions.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A problem with a traced process.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// An existing process.
    #[error("pid {pid}: {reason}")]
    Pid {
        /// The process.
        pid: u32,
        /// What went wrong.
        reason: String,
    },
    /// A command sdtrace starts.
    #[error("command `{command}`: {reason}")]
    Command {
        /// The command line.
        command: String,
        /// What went wrong.
        reason: String,
    },
}

impl ProcessError {
    /// An error about process `pid`.
    pub fn new(pid: u32, reason: String) -> Self {
        ProcessError::Pid { pid, reason }
    }
}

/// A forked child waiting to `execve` its command.
#[derive(Debug)]
pub struct HeldCommand {
    pid: libc::pid_t,
    command: String,
    go: Option<OwnedFd>,
    status: OwnedFd,
    exited: Option<i32>,
    /// The signal that ended the child, when one did.
    signal: Option<i32>,
}

fn pipe(flags: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl HeldCommand {
    /// Fork a child that will run `exe` with `argv` once released.
    pub fn spawn(exe: &Path, argv: &[String]) -> Result<Self, ProcessError> {
        let command = argv.join(" ");
        let err = |reason: String| ProcessError::Command { command: command.clone(), reason };
        let cstr = |b: &[u8]| CString::new(b).map_err(|_| err("an argument contains a NUL byte".into()));
        let path = cstr(exe.as_os_str().as_bytes())?;
        let args = argv.iter().map(|a| cstr(a.as_bytes())).collect::<Result<Vec<_>, _>>()?;
        let env = std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstr(&kv)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut argp: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argp.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        let (go_r, go_w) = pipe(libc::O_CLOEXEC).map_err(|e| err(e.to_string()))?;
        let (st_r, st_w) = pipe(libc::O_CLOEXEC).map_err(|e| err(e.to_string()))?;

        let (keep_r, keep_w, release_w) = (go_r.as_raw_fd(), st_w.as_raw_fd(), go_w.as_raw_fd());
        // SAFETY: the child calls only async-signal-safe functions (close,
        // read, execve, write, _exit) on data prepared above,
        // so other threads of sdtrace (the uprobe warm-up) do not matter.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(err(io::Error::last_os_error().to_string()));
        }
        if pid == 0 {
            // SAFETY: see above; every pointer refers to memory prepared before fork.
            unsafe {
                // Its copy of the release pipe's write end would keep its
                // own read below from ever seeing sdtrace die: it stayed
                // blocked, held, when sdtrace was killed. (sdtrace's other
                // descriptors are close-on-exec; descriptors the user gave
                // sdtrace without that flag are the command's, as a shell
                // would pass them.)
                libc::close(release_w);
                let mut b = 0u8;
                // 0 bytes: sdtrace is gone without releasing it; never run.
                let n = libc::read(keep_r, (&mut b as *mut u8).cast(), 1);
                if n == 1 {
                    libc::execve(path.as_ptr(), argp.as_ptr(), envp.as_ptr());
                }
                let errno = *libc::__errno_location();
                libc::write(keep_w, (&errno as *const i32).cast(), 4);
                libc::_exit(127);
            }
        }
        drop(go_r);
        drop(st_w);
        Ok(HeldCommand { pid, command, go: Some(go_w), status: st_r, exited: None, signal: None })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Let the child `execve`; fails when `execve` failed.
    pub fn release(&mut self) -> Result<(), ProcessError> {
        let Some(go) = self.go.take() else { return Ok(()) };
        let b = 1u8;
        // SAFETY: writing one byte from a local to a pipe we own.
        unsafe { libc::write(go.as_raw_fd(), (&b as *const u8).cast(), 1) };
        drop(go);
        let mut errno = 0i32;
        // SAFETY: reading at most 4 bytes into a local i32.
        let n = unsafe { libc::read(self.status.as_raw_fd(), (&mut errno as *mut i32).cast(), 4) };
        if n == 4 {
            let _ = self.wait();
            return Err(ProcessError::Command {
                command: self.command.clone(),
                reason: io::Error::from_raw_os_error(errno).to_string(),
            });
        }
        Ok(())
    }

    /// The exit status, if the child has exited (without blocking).
    pub fn try_wait(&mut self) -> Result<Option<i32>, ProcessError> {
        if self.exited.is_some() {
            return Ok(self.exited);
        }
        let mut status = 0;
        // SAFETY: waiting on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if r == self.pid {
            self.note_status(status);
        } else if r < 0 {
            return Err(ProcessError::Command {
                command: self.command.clone(),
                reason: io::Error::last_os_error().to_string(),
            });
        }
        Ok(self.exited)
    }

    fn wait(&mut self) -> Option<i32> {
        if self.exited.is_none() {
            let mut status = 0;
            // SAFETY: waiting on our own child with a valid status pointer.
            if unsafe { libc::waitpid(self.pid, &mut status, 0) } == self.pid {
                self.note_status(status);
            }
        }
        self.exited
    }
}

impl HeldCommand {
    fn note_status(&mut self, status: i32) {
        self.exited = Some(exit_code(status));
        self.signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
    }

    /// How the command ended, when a signal ended it (after the run had
    /// released it): "pid N (COMMAND) was killed by SIGKILL", for the
    /// run's end report.
    pub fn killed_by(&self) -> Option<String> {
        let sig = self.signal?;
        let name = match sig {
            libc::SIGHUP => "SIGHUP",
            libc::SIGINT => "SIGINT",
            libc::SIGQUIT => "SIGQUIT",
            libc::SIGILL => "SIGILL",
            libc::SIGTRAP => "SIGTRAP",
            libc::SIGABRT => "SIGABRT",
            libc::SIGBUS => "SIGBUS",
            libc::SIGFPE => "SIGFPE",
            libc::SIGKILL => "SIGKILL",
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGPIPE => "SIGPIPE",
            libc::SIGTERM => "SIGTERM",
            _ => "a signal",
        };
        Some(format!("pid {} (`{}`) was killed by {name} ({sig})", self.pid, self.command))
    }
}

fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// How long a command still running when tracing ends has, after SIGTERM,
/// before SIGKILL.
const TERM_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

impl Drop for HeldCommand {
    /// The command sdtrace started does not outlive the run, as with
    /// dtrace(1) and bpftrace: one never released is killed before its
    /// `execve` (it must not run untraced); one still running when tracing
    /// ends (`exit()`, `--duration`, a signal to sdtrace alone) gets
    /// SIGTERM, then SIGKILL half a second later. Before, sdtrace waited
    /// for it to finish on its own, untraced.
    fn drop(&mut self) {
        if self.exited.is_some() {
            return;
        }
        if self.go.is_some() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        } else if self.try_wait().ok().flatten().is_none() {
            // SAFETY: signalling our own child, which has not been reaped.
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
            let until = std::time::Instant::now() + TERM_GRACE;
            while std::time::Instant::now() < until && matches!(self.try_wait(), Ok(None)) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if self.exited.is_none() {
                // SAFETY: as above; it has still not been reaped.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
            }
        }
        let _ = self.wait();
    }
}

/// Seconds east of UTC of the local time zone now (the C library's
/// `localtime`, which reads `TZ` and `/etc/localtime`), for dtrace(1)'s
/// `%Y`; 0 when it cannot say.
pub fn local_utc_offset() -> i64 {
    // SAFETY: time(NULL) only returns the time.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: an all-zero `tm` is a valid value of the plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals; localtime_r is the
    // reentrant form and writes only `tm`.
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    if ok {
        tm.tm_gmtoff
    } else {
        0
    }
}
