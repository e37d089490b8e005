//! Does this kernel optimise a probed 10-byte nop, and safely?
//!
//! Linux 6.18 rewrites a probed 5-byte nop (x86-64) into a `call` to the
//! `[uprobes-trampoline]` page after the first hit; that call stores its
//! return address below the stack pointer, in the 128-byte red zone a leaf
//! function may be using, so sdtrace never probes a bare 5-byte nop. Later
//! kernels optimise a 10-byte nop instead, rewriting it into a stack
//! adjustment past the red zone followed by the call. Probe sites emitted as
//! `nop; nop10` (libbpf's `usdt.h` and sdtrace's own providers) let a tracer
//! choose: the 1-byte nop always takes the int3 trap path; the 10-byte nop,
//! one byte in, takes the fast path where the kernel supports it.
//!
//! There is no version number or feature flag that says which form a kernel
//! uses, so sdtrace asks the kernel by experiment, once per run and only
//! when a matched site has the `nop; nop10` form: it maps a private copy of
//! `nop; <the site's 10 bytes>; ret` from a memfd, attaches a uprobe (an
//! empty program) one byte in, for its own pid only, calls the code a few
//! times, and reads back the 10 bytes. The kernel optimises safely when they
//! became `lea -N(%rsp),%rsp` with N ≥ 128 followed by a 5-byte `call`.
//! Anything else (unchanged, still an int3, or a form sdtrace does not
//! know) means the site is probed on its 1-byte nop.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use super::sys::Program;
use super::uprobe::{self, Method, SiteAttach};
use crate::bpf::insn::{Insn, Reg};

/// Whether `bytes` (at least 11) are a 1-byte nop followed by a 10-byte nop:
/// prefixes `66`/`2e` before `0f 1f 84 00 00000000` (`nopw 0(%rax,%rax,1)`).
pub fn is_nop1_nop10(bytes: &[u8]) -> bool {
    bytes.len() >= 11
        && bytes[0] == 0x90
        && matches!(bytes[1], 0x66 | 0x2e)
        && matches!(bytes[2], 0x66 | 0x2e)
        && bytes[3..11] == [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00]
}

/// Whether 10 bytes read back from a probed 10-byte nop are the red-zone
/// safe optimised form: `lea -N(%rsp),%rsp` (N ≥ 128) then `call rel32`.
pub fn is_safe_optimised(b: &[u8]) -> bool {
    if b.len() < 10 {
        return false;
    }
    // 48 8d 64 24 80: lea -0x80(%rsp),%rsp, the only disp8 that clears
    // all 128 bytes; then e8 rel32.
    b[..5] == [0x48, 0x8d, 0x64, 0x24, 0x80] && b[5] == 0xe8
}

/// The outcome of the experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nop10 {
    /// The kernel rewrote the nop10 into the safe form: probe one byte in.
    OptimisedSafely,
    /// The kernel left it to the trap path (or the experiment could not run).
    NotOptimised(String),
    /// The kernel rewrote it into something sdtrace does not know.
    Unknown([u8; 10]),
}

/// Run the experiment with `nop10`, the 10 bytes after a site's 1-byte nop.
pub fn probe_kernel(nop10: &[u8; 10]) -> Nop10 {
    match experiment(nop10) {
        Ok(after) if after == *nop10 || after[0] == 0xcc => {
            Nop10::NotOptimised("the kernel kept the trap path for a probed 10-byte nop".into())
        }
        Ok(after) if is_safe_optimised(&after) => Nop10::OptimisedSafely,
        Ok(after) => Nop10::Unknown(after),
        Err(e) => Nop10::NotOptimised(e),
    }
}

fn experiment(nop10: &[u8; 10]) -> Result<[u8; 10], String> {
    // SAFETY: memfd_create with a NUL-terminated name and valid flags.
    let fd = unsafe { libc::memfd_create(c"sdtrace-nop10".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a new descriptor owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut code = vec![0x90u8];
    code.extend_from_slice(nop10);
    code.push(0xc3); // ret
    code.resize(4096, 0xcc);
    std::fs::File::from(fd.try_clone().map_err(|e| e.to_string())?).write_all(&code).map_err(|e| e.to_string())?;
    // SAFETY: a fresh private executable mapping of our own memfd; nothing
    // else refers to that address range.
    let base = unsafe {
        libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_PRIVATE, fd.as_raw_fd(), 0)
    };
    if base == libc::MAP_FAILED {
        return Err(format!("mmap: {}", std::io::Error::last_os_error()));
    }
    struct Unmap(*mut libc::c_void);
    impl Drop for Unmap {
        fn drop(&mut self) {
            // SAFETY: the mapping made above, unmapped once.
            unsafe { libc::munmap(self.0, 4096) };
        }
    }
    let _unmap = Unmap(base);
    let path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let insns = [Insn::mov_imm(Reg(0), 0), Insn::exit()];
    let prog = Program::load(Method::Multi, "sdtrace_nop10", &insns).map_err(|e| e.to_string())?;
    let site = SiteAttach { offset: 1, ref_ctr_offset: 0, cookie: 0, ret: false };
    let link =
        uprobe::attach(&prog, &path, &[site], Some(std::process::id())).map_err(
            |e| match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>()) {
                // ENOTSUPP from the instruction decoder: this kernel refuses to
                // probe the encoding at all (Linux 6.18 rejects a `2e` prefix).
                Some(s) if s.raw_os_error() == Some(524) => "the kernel cannot probe this 10-byte nop".to_string(),
                Some(s) => format!("{e}: {s}"),
                None => e.to_string(),
            },
        )?;
    // SAFETY: `base` holds `nop; nop10; ret`, a function that takes no
    // arguments, touches no memory and returns; the uprobe runs an empty
    // program.
    let f: extern "C" fn() = unsafe { std::mem::transmute(base) };
    for _ in 0..4 {
        f();
    }
    let mut after = [0u8; 10];
    // SAFETY: the mapping is readable and 4096 bytes long.
    unsafe { std::ptr::copy_nonoverlapping((base as *const u8).add(1), after.as_mut_ptr(), 10) };
    drop(link);
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_nop_nop10_combination() {
        let libbpf = [0x90, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0];
        assert!(is_nop1_nop10(&libbpf));
        assert!(!is_nop1_nop10(&libbpf[..10]));
        assert!(!is_nop1_nop10(&[0x90, 0x0f, 0x1f, 0x44, 0, 0, 0x90, 0x90, 0x90, 0x90, 0x90]));
    }

    #[test]
    fn only_a_stack_adjustment_past_the_red_zone_is_safe() {
        assert!(is_safe_optimised(&[0x48, 0x8d, 0x64, 0x24, 0x80, 0xe8, 1, 2, 3, 4]));
        // lea -8(%rsp),%rsp leaves most of the red zone exposed.
        assert!(!is_safe_optimised(&[0x48, 0x8d, 0x64, 0x24, 0xf8, 0xe8, 1, 2, 3, 4]));
        // A bare call, as the 5-byte nop optimisation does.
        assert!(!is_safe_optimised(&[0xe8, 1, 2, 3, 4, 0x66, 0x0f, 0x1f, 0x44, 0]));
    }

    #[test]
    fn the_experiment_runs_to_a_verdict_as_root() {
        if !crate::kernel::sys::is_root() {
            assert!(std::env::var_os("CI").is_none(), "CI must run this test as root");
            eprintln!("not root: the nop10 experiment needs root");
            return;
        }
        // A 10-byte nop without the `2e` prefix, which every kernel decodes.
        let nop10 = [0x66, 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0];
        match probe_kernel(&nop10) {
            Nop10::OptimisedSafely => {}
            Nop10::NotOptimised(why) => assert!(why.contains("kept the trap path"), "{why}"),
            Nop10::Unknown(b) => panic!("unknown rewrite {b:02x?}"),
        }
    }
}
