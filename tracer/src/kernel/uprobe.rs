//! Uprobe links. The normal mechanism is one `BPF_TRACE_UPROBE_MULTI` link:
//! one program on many sites of one file, each site with its cookie and its
//! semaphore (`ref_ctr_offset`), which the kernel raises while the link
//! exists and lowers when it goes. Kernels before 6.6 lack it; there every
//! site becomes a perf_event uprobe (the `uprobe` PMU, no tracefs needed)
//! with a `BPF_PERF_EVENT` link carrying the same cookie.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::sys::{KernelError, Program};

/// One site to attach to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteAttach {
    /// File offset of the instruction to probe.
    pub offset: u64,
    /// File offset of the semaphore, 0 for none.
    pub ref_ctr_offset: u64,
    /// What `bpf_get_attach_cookie` returns there.
    pub cookie: u64,
    /// A return probe (uretprobe): the program runs when the function
    /// whose first instruction is at `offset` returns.
    pub ret: bool,
}

/// How sites are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One `BPF_TRACE_UPROBE_MULTI` link per program and file (Linux 6.6+).
    Multi,
    /// One perf_event uprobe and `BPF_PERF_EVENT` link per site.
    PerfEvent,
}

/// A uprobe link. Dropping it detaches every site and lowers the semaphores.
#[derive(Debug)]
#[must_use = "dropping the link detaches it"]
pub struct UprobeMultiLink {
    /// The link descriptors (and, for perf_event uprobes, the events).
    _fds: Vec<OwnedFd>,
    /// How many sites it covers.
    pub sites: usize,
}

/// Whether this kernel has `BPF_TRACE_UPROBE_MULTI` links: a trivial
/// program is loaded for it and linked to `/` (not a regular file), which a
/// kernel that knows the link type refuses with `EBADF` (libbpf probes the
/// same way).
pub fn multi_supported() -> bool {
    use crate::bpf::insn::{Insn, Reg};
    let insns = [Insn::mov_imm(Reg(0), 0), Insn::exit()];
    let Ok(prog) = Program::load(Method::Multi, "sdtrace_probe", &insns) else { return false };
    let offset: libc::c_ulong = 0;
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.uprobe_multi = libbpf_sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_3 {
        cnt: 1,
        path: c"/".as_ptr(),
        offsets: &offset,
        ..Default::default()
    };
    // SAFETY: the path and offset outlive the call; the kernel copies them.
    let ret = unsafe { libbpf_sys::bpf_link_create(prog.fd(), 0, libbpf_sys::BPF_TRACE_UPROBE_MULTI, &opts) };
    if ret >= 0 {
        // SAFETY: an unexpected new descriptor; close it.
        drop(unsafe { OwnedFd::from_raw_fd(ret) });
        return true;
    }
    ret == -libc::EBADF
}

/// Attach with `method`; see [`attach`] and [`attach_perf_event`].
pub fn attach_with(
    method: Method,
    prog: &Program,
    path: &Path,
    sites: &[SiteAttach],
    pid: Option<u32>,
) -> Result<UprobeMultiLink, KernelError> {
    match method {
        Method::Multi => attach(prog, path, sites, pid),
        Method::PerfEvent => attach_perf_event(prog, path, sites, pid),
    }
}

/// [`attach_with`], leaving out the sites whose instruction the kernel
/// refuses to probe (`ENOTSUPP`: on x86, a `lock`-prefixed instruction,
/// for one): the sites are halved until each refused one stands alone.
/// Returns the link and the sites left out.
pub fn attach_skipping_refused(
    method: Method,
    prog: &Program,
    path: &Path,
    sites: &[SiteAttach],
    pid: Option<u32>,
) -> Result<(UprobeMultiLink, Vec<SiteAttach>), KernelError> {
    /// `ENOTSUPP` (the kernel's 524, not in libc).
    const ENOTSUPP: i32 = 524;
    let refused =
        |e: &KernelError| matches!(e, KernelError::Syscall { source, .. } if source.raw_os_error() == Some(ENOTSUPP));
    match attach_with(method, prog, path, sites, pid) {
        Ok(link) => Ok((link, Vec::new())),
        Err(e) if refused(&e) && sites.len() == 1 => {
            Ok((UprobeMultiLink { _fds: Vec::new(), sites: 0 }, sites.to_vec()))
        }
        Err(e) if refused(&e) => {
            let (a, b) = sites.split_at(sites.len() / 2);
            let (mut link, mut left_out) = attach_skipping_refused(method, prog, path, a, pid)?;
            let (other, more) = attach_skipping_refused(method, prog, path, b, pid)?;
            link._fds.extend(other._fds);
            link.sites += other.sites;
            left_out.extend(more);
            Ok((link, left_out))
        }
        Err(e) => Err(e),
    }
}

/// The `uprobe` PMU's type number, from sysfs.
fn uprobe_pmu_type() -> io::Result<u32> {
    let s = std::fs::read_to_string("/sys/bus/event_source/devices/uprobe/type")?;
    s.trim().parse().map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Attach `prog` (loaded for [`Method::PerfEvent`]) to every site through
/// one perf_event uprobe each, for process `pid` or for all processes.
pub fn attach_perf_event(
    prog: &Program,
    path: &Path,
    sites: &[SiteAttach],
    pid: Option<u32>,
) -> Result<UprobeMultiLink, KernelError> {
    let err = |call: &'static str, site: Option<&SiteAttach>, e: io::Error| KernelError::Syscall {
        call,
        what: match site {
            Some(s) => format!("{}:{:#x}", path.display(), s.offset),
            None => format!("{}", path.display()),
        },
        source: e,
    };
    let pmu = uprobe_pmu_type().map_err(|e| err("reading /sys/bus/event_source/devices/uprobe/type", None, e))?;
    let cpath = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| err("perf_event_open", None, io::Error::from_raw_os_error(libc::EINVAL)))?;
    let mut fds = Vec::with_capacity(sites.len() * 2);
    for site in sites {
        let mut attr = libbpf_sys::perf_event_attr {
            type_: pmu,
            size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
            // PERF_UPROBE_REF_CTR_OFFSET_SHIFT: the semaphore's offset sits
            // in the upper half of `config`.
            // Bit 0 makes it a uretprobe (the PMU's format/retprobe).
            config: site.ref_ctr_offset << 32 | u64::from(site.ret),
            ..Default::default()
        };
        attr.__bindgen_anon_1.sample_period = 1;
        attr.__bindgen_anon_2.wakeup_events = 1;
        attr.__bindgen_anon_3.uprobe_path = cpath.as_ptr() as u64;
        attr.__bindgen_anon_4.probe_offset = site.offset;
        // An event for all processes is opened on one CPU; the program
        // runs wherever the probe fires.
        let (p, cpu) = match pid {
            Some(p) => (p as libc::pid_t, -1),
            None => (-1, 0),
        };
        // SAFETY: `attr` is a valid perf_event_attr and `cpath` outlives the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const libbpf_sys::perf_event_attr,
                p,
                cpu,
                -1,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if ret < 0 {
            return Err(err("perf_event_open(uprobe)", Some(site), io::Error::last_os_error()));
        }
        // SAFETY: a new descriptor owned by nothing else.
        let pfd = unsafe { OwnedFd::from_raw_fd(ret as i32) };
        let mut opts = libbpf_sys::bpf_link_create_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
            ..Default::default()
        };
        opts.__bindgen_anon_1.perf_event =
            libbpf_sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_1 { bpf_cookie: site.cookie };
        // SAFETY: both descriptors are open; `opts` lives across the call.
        let link =
            unsafe { libbpf_sys::bpf_link_create(prog.fd(), pfd.as_raw_fd(), libbpf_sys::BPF_PERF_EVENT, &opts) };
        if link < 0 {
            return Err(err("bpf_link_create(perf_event)", Some(site), io::Error::from_raw_os_error(-link)));
        }
        // SAFETY: a new descriptor owned by nothing else.
        let lfd = unsafe { OwnedFd::from_raw_fd(link) };
        // SAFETY: PERF_EVENT_IOC_ENABLE takes no argument on an open perf event.
        unsafe { libc::ioctl(pfd.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) };
        // The link goes first so it is closed before its event.
        fds.push(lfd);
        fds.push(pfd);
    }
    Ok(UprobeMultiLink { _fds: fds, sites: sites.len() })
}

/// `PERF_FLAG_FD_CLOEXEC` from linux/perf_event.h.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;

/// Attach `prog` to `sites` of the file at `path`, for process `pid` only
/// when given (and for every process otherwise): one link for entry sites
/// and one for return sites (a link is one or the other).
pub fn attach(
    prog: &Program,
    path: &Path,
    sites: &[SiteAttach],
    pid: Option<u32>,
) -> Result<UprobeMultiLink, KernelError> {
    let (ret, entry): (Vec<SiteAttach>, Vec<SiteAttach>) = sites.iter().partition(|s| s.ret);
    let mut fds = Vec::new();
    for group in [entry, ret] {
        if !group.is_empty() {
            fds.extend(attach_group(prog, path, &group, pid)?._fds);
        }
    }
    Ok(UprobeMultiLink { _fds: fds, sites: sites.len() })
}

/// [`attach`] for sites that are all entries or all returns.
fn attach_group(
    prog: &Program,
    path: &Path,
    sites: &[SiteAttach],
    pid: Option<u32>,
) -> Result<UprobeMultiLink, KernelError> {
    let what = || {
        let scope = pid.map_or("all processes".to_string(), |p| format!("pid {p}"));
        format!("{} site(s) of {} in {scope}", sites.len(), path.display())
    };
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| KernelError::Syscall {
        call: "bpf_link_create",
        what: what(),
        source: io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    let offsets: Vec<libc::c_ulong> = sites.iter().map(|s| s.offset as libc::c_ulong).collect();
    let ref_ctrs: Vec<libc::c_ulong> = sites.iter().map(|s| s.ref_ctr_offset as libc::c_ulong).collect();
    let cookies: Vec<u64> = sites.iter().map(|s| s.cookie).collect();
    let has_ref_ctr = ref_ctrs.iter().any(|&r| r != 0);
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.uprobe_multi = libbpf_sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_3 {
        flags: if sites.first().is_some_and(|s| s.ret) { libbpf_sys::BPF_F_UPROBE_MULTI_RETURN } else { 0 },
        cnt: sites.len() as u32,
        path: cpath.as_ptr(),
        offsets: offsets.as_ptr(),
        ref_ctr_offsets: if has_ref_ctr { ref_ctrs.as_ptr() } else { std::ptr::null() },
        cookies: cookies.as_ptr(),
        pid: pid.unwrap_or(0),
        ..Default::default()
    };
    // SAFETY: every pointer in `opts` points into a live local vector or
    // string of `cnt` elements; the kernel copies them during the call.
    let ret = unsafe { libbpf_sys::bpf_link_create(prog.fd(), 0, libbpf_sys::BPF_TRACE_UPROBE_MULTI, &opts) };
    if ret < 0 {
        return Err(KernelError::Syscall {
            call: "bpf_link_create(uprobe_multi)",
            what: what(),
            source: io::Error::from_raw_os_error(-ret),
        });
    }
    // SAFETY: a new descriptor owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(ret) };
    debug_assert!(fd.as_raw_fd() >= 0);
    Ok(UprobeMultiLink { _fds: vec![fd], sites: sites.len() })
}

/// A uprobe registered in the background so that the grace period every
/// first registration waits for passes while sdtrace compiles.
///
/// The kernel serializes uprobe registration against `fork` with a
/// per-CPU rw-semaphore (`dup_mmap_sem`), whose first writer waits for an
/// RCU grace period: about 10 ms here, the largest part of starting a
/// one-liner. Writers that come while one is waiting, or soon after, do
/// not wait again. [`warm_up`] registers a uprobe on an empty memfd that
/// nothing maps (a perf_event uprobe: no program needed) from a thread;
/// the real attachments then find the grace period over or in progress.
/// Dropping the value closes the event from that thread, whose
/// unregistration waits for another grace period without holding the
/// caller up. Measured with `scripts/bench-d` (docs/performance.md).
#[derive(Debug)]
pub struct Warmup {
    /// Dropped to let the thread close its event.
    _release: Option<std::sync::mpsc::Sender<()>>,
}

/// Start registering the warm-up uprobe; see [`Warmup`]. Failures are
/// ignored: the real attachment then only pays the wait itself.
pub fn warm_up() -> Warmup {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new().name("uprobe-warmup".into()).spawn(move || {
        let event = open_warmup_event();
        // Returns when the Warmup is dropped (or the process ends).
        let _ = rx.recv();
        drop(event);
    });
    Warmup { _release: spawned.is_ok().then_some(tx) }
}

/// A perf_event uprobe at offset 0 of a fresh empty memfd, or None.
fn open_warmup_event() -> Option<OwnedFd> {
    let pmu = uprobe_pmu_type().ok()?;
    // SAFETY: memfd_create with a NUL-terminated name and valid flags.
    let raw = unsafe { libc::memfd_create(c"sdtrace-warmup".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return None;
    }
    // SAFETY: a new descriptor owned by nothing else.
    let memfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let path = CString::new(format!("/proc/self/fd/{}", memfd.as_raw_fd())).ok()?;
    let mut attr = libbpf_sys::perf_event_attr {
        type_: pmu,
        size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_period = 1;
    attr.__bindgen_anon_3.uprobe_path = path.as_ptr() as u64;
    attr.__bindgen_anon_4.probe_offset = 0;
    // SAFETY: `attr` is a valid perf_event_attr and `path` outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            -1 as libc::pid_t,
            0,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    // SAFETY: on success, a new descriptor owned by nothing else.
    (ret >= 0).then(|| unsafe { OwnedFd::from_raw_fd(ret as i32) })
}
