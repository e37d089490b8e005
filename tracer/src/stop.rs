//! When a run ends: Ctrl-C, SIGTERM and SIGHUP raise one flag that both
//! `sdtrace trace` and D programs poll, and a check that a traced process
//! still exists.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Clear the flag and route SIGINT, SIGTERM and SIGHUP to it.
pub fn arm() {
    STOP.store(false, Ordering::SeqCst);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// Ask the run to end (an output error, `exit()`).
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether the run should end.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// How often a pause looks at whether the run should end.
const PAUSE_SLICE: std::time::Duration = std::time::Duration::from_millis(10);

/// Sleep for `d` (the switch rate between two drains), or less: the pause
/// ends within 10 ms of `over` returning true, so that a signal,
/// the end of `--duration` or of the traced command is acted on at once
/// however long the switch rate is.
pub fn pause(d: std::time::Duration, mut over: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + d;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || over() {
            return;
        }
        std::thread::sleep(left.min(PAUSE_SLICE));
    }
}

/// Whether process `pid` still exists.
pub fn process_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether a polling loop should end now: a stop was requested, `duration`
/// has passed since `started`, the command sdtrace started has exited, or
/// (without a command) none of the traced `pids` is alive any more.
pub fn run_over(
    started: std::time::Instant,
    duration: Option<std::time::Duration>,
    held: Option<&mut crate::process::HeldCommand>,
    pids: &[u32],
) -> Result<bool, crate::process::ProcessError> {
    if requested() || duration.is_some_and(|d| started.elapsed() >= d) {
        return Ok(true);
    }
    Ok(match held {
        Some(h) => h.try_wait()?.is_some(),
        None => !pids.is_empty() && !pids.iter().any(|&p| process_alive(p)),
    })
}
