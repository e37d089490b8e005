//! `BPF_TRACE_UPROBE_MULTI` links: one program on many sites of one file,
//! each site with its cookie and its semaphore (`ref_ctr_offset`), which the
//! kernel raises while the link exists and lowers when it goes.

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
}

/// A uprobe_multi link. Dropping it detaches every site and lowers the semaphores.
#[derive(Debug)]
#[must_use = "dropping the link detaches it"]
pub struct UprobeMultiLink {
    _fd: OwnedFd,
    /// How many sites it covers.
    pub sites: usize,
}

/// Attach `prog` to `sites` of the file at `path`, for process `pid` only
/// when given (and for every process otherwise).
pub fn attach(
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
        flags: 0,
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
    Ok(UprobeMultiLink { _fd: fd, sites: sites.len() })
}
