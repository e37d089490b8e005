//! Timer events for the `tick-N` and `profile-N` probes: one software
//! CPU-clock perf event (`PERF_TYPE_SOFTWARE`, `PERF_COUNT_SW_CPU_CLOCK`,
//! see perf_event_open(2)) per CPU, with a `BPF_PROG_TYPE_PERF_EVENT`
//! program attached through a `BPF_PERF_EVENT` link.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::sys::{KernelError, Program};

/// A timer event on one CPU with a program attached. Dropping it detaches
/// the program and closes the event.
#[derive(Debug)]
#[must_use = "dropping the link detaches the program"]
pub struct TimerLink {
    // Declared first so that the link is closed before its event.
    _link: OwnedFd,
    _event: OwnedFd,
}

/// `PERF_TYPE_SOFTWARE`.
const PERF_TYPE_SOFTWARE: u32 = 1;
/// `PERF_COUNT_SW_CPU_CLOCK`.
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;

/// Run `prog` every `period_ns` nanoseconds of time on `cpu`, whatever runs
/// there (idle included).
pub fn attach_cpu_clock(prog: &Program, cpu: u32, period_ns: u64) -> Result<TimerLink, KernelError> {
    let err = |call: &'static str, source: io::Error| KernelError::Syscall {
        call,
        what: format!("a {period_ns} ns CPU-clock timer on CPU {cpu}"),
        source,
    };
    let mut attr = libbpf_sys::perf_event_attr {
        type_: PERF_TYPE_SOFTWARE,
        size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
        config: PERF_COUNT_SW_CPU_CLOCK,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_period = period_ns.max(1);
    attr.set_disabled(1);
    let cpu_arg = libc::c_int::try_from(cpu).map_err(|_| err("perf_event_open", io::ErrorKind::InvalidInput.into()))?;
    // SAFETY: `attr` is a valid perf_event_attr that lives across the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            -1 as libc::pid_t,
            cpu_arg,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if ret < 0 {
        return Err(err("perf_event_open(cpu-clock)", io::Error::last_os_error()));
    }
    // SAFETY: a new descriptor owned by nothing else.
    let event = unsafe { OwnedFd::from_raw_fd(ret as i32) };
    let opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    // SAFETY: both descriptors are open; `opts` lives across the call.
    let link = unsafe { libbpf_sys::bpf_link_create(prog.fd(), event.as_raw_fd(), libbpf_sys::BPF_PERF_EVENT, &opts) };
    if link < 0 {
        return Err(err("bpf_link_create(perf_event)", io::Error::from_raw_os_error(-link)));
    }
    // SAFETY: a new descriptor owned by nothing else.
    let link = unsafe { OwnedFd::from_raw_fd(link) };
    // SAFETY: PERF_EVENT_IOC_ENABLE takes no argument on an open perf event.
    if unsafe { libc::ioctl(event.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) } < 0 {
        return Err(err("ioctl(PERF_EVENT_IOC_ENABLE)", io::Error::last_os_error()));
    }
    Ok(TimerLink { _link: link, _event: event })
}

/// The CPUs that are online, from `/sys/devices/system/cpu/online`.
pub fn online_cpus() -> Result<Vec<u32>, KernelError> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|source| KernelError::Syscall {
        call: "read",
        what: path.into(),
        source,
    })?;
    parse_cpu_list(&text).ok_or_else(|| KernelError::Syscall {
        call: "parse",
        what: format!("{path}: `{}`", text.trim()),
        source: io::ErrorKind::InvalidData.into(),
    })
}

/// A kernel CPU list such as `0-3,5,7-8`.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 1 << 16 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn cpu_lists_parse_like_the_kernel_writes_them() {
        assert_eq!(parse_cpu_list("0-3,5,7-8\n"), Some(vec![0, 1, 2, 3, 5, 7, 8]));
        assert_eq!(parse_cpu_list("0\n"), Some(vec![0]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
    }
}
