//! Maps and programs: thin owned wrappers over libbpf's low-level calls.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::bpf::insn::Insn;

/// A failure in the kernel layer, naming the call and the object.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A syscall failed.
    #[error("{call} failed for {what}{}", hint(.source))]
    Syscall {
        /// The libbpf call or syscall.
        call: &'static str,
        /// What it was for.
        what: String,
        /// The errno.
        #[source]
        source: io::Error,
    },
    /// The verifier rejected a program.
    #[error("the kernel's verifier rejected program `{program}` ({source}).\nThis is a bug in sdtrace's code generator; please report it with the program and this log:\n{log}")]
    Verifier {
        /// Program name.
        program: String,
        /// The errno.
        source: io::Error,
        /// The verifier's log.
        log: String,
    },
}

fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => " (sdtrace needs root, or CAP_BPF and CAP_PERFMON)",
        Some(libc::ENOSYS) => " (this kernel has no BPF support)",
        _ => "",
    }
}

fn check(ret: i32, call: &'static str, what: impl FnOnce() -> String) -> Result<OwnedFd, KernelError> {
    if ret < 0 {
        return Err(KernelError::Syscall { call, what: what(), source: io::Error::from_raw_os_error(-ret) });
    }
    // SAFETY: libbpf returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// A BPF map.
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    value_size: u32,
}

impl Map {
    /// A ring buffer of `size` bytes (a power of two, multiple of the page size).
    pub fn ringbuf(name: &str, size: u32) -> Result<Map, KernelError> {
        Map::create(libbpf_sys::BPF_MAP_TYPE_RINGBUF, name, 0, 0, size)
    }

    /// A per-CPU array of `entries` u64 counters.
    pub fn percpu_counters(name: &str, entries: u32) -> Result<Map, KernelError> {
        Map::create(libbpf_sys::BPF_MAP_TYPE_PERCPU_ARRAY, name, 4, 8, entries)
    }

    /// A map of any kind.
    pub fn create(
        kind: libbpf_sys::bpf_map_type,
        name: &str,
        key: u32,
        value: u32,
        entries: u32,
    ) -> Result<Map, KernelError> {
        let cname = CString::new(name).expect("map names have no NUL");
        // Hash maps allocate entries as they are inserted: preallocating
        // 64k per-CPU entries per aggregation would cost tens of
        // milliseconds each at start.
        let hash = matches!(kind, libbpf_sys::BPF_MAP_TYPE_HASH | libbpf_sys::BPF_MAP_TYPE_PERCPU_HASH);
        let opts = libbpf_sys::bpf_map_create_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as _,
            map_flags: if hash { libbpf_sys::BPF_F_NO_PREALLOC } else { 0 },
            ..Default::default()
        };
        // SAFETY: the name is a valid C string and `opts` a valid options
        // struct, both for the duration of the call.
        let ret = unsafe { libbpf_sys::bpf_map_create(kind, cname.as_ptr(), key, value, entries, &opts) };
        let fd = check(ret, "bpf_map_create", || format!("map `{name}`"))?;
        Ok(Map { fd, value_size: value })
    }

    /// The map's file descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Every key of a hash map (`key_size` bytes each), by `get_next_key`.
    pub fn keys(&self, key_size: usize) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut next = vec![0u8; key_size];
        loop {
            let prev = out.last().map(|k| k.as_ptr()).unwrap_or(std::ptr::null());
            // SAFETY: `prev` is null or a key of `key_size` bytes; `next` has room for one.
            let ret = unsafe { libbpf_sys::bpf_map_get_next_key(self.fd(), prev.cast(), next.as_mut_ptr().cast()) };
            if ret < 0 || out.len() > 1 << 22 {
                return out;
            }
            out.push(next.clone());
        }
    }

    /// The value of `key` in a per-CPU map, one `value_size` slice per possible CPU.
    pub fn lookup_percpu(&self, key: &[u8]) -> Option<Vec<Vec<u8>>> {
        let ncpu = usize::try_from(
            // SAFETY: plain libbpf query without arguments.
            unsafe { libbpf_sys::libbpf_num_possible_cpus() },
        )
        .ok()?;
        let stride = (self.value_size as usize).next_multiple_of(8);
        let mut values = vec![0u8; stride * ncpu];
        // SAFETY: `key` is a whole key; `values` holds one rounded value per possible CPU.
        let ret =
            unsafe { libbpf_sys::bpf_map_lookup_elem(self.fd(), key.as_ptr().cast(), values.as_mut_ptr().cast()) };
        (ret >= 0).then(|| values.chunks_exact(stride).map(|c| c[..self.value_size as usize].to_vec()).collect())
    }

    /// The value of `key` in a map that is not per-CPU.
    pub fn lookup(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut value = vec![0u8; self.value_size as usize];
        // SAFETY: `key` is a whole key; `value` has room for one value.
        let ret = unsafe { libbpf_sys::bpf_map_lookup_elem(self.fd(), key.as_ptr().cast(), value.as_mut_ptr().cast()) };
        (ret >= 0).then_some(value)
    }

    /// Delete `key`.
    pub fn delete(&self, key: &[u8]) {
        // SAFETY: `key` is a whole key of this map.
        unsafe { libbpf_sys::bpf_map_delete_elem(self.fd(), key.as_ptr().cast()) };
    }

    /// Sum of a per-CPU u64 counter over every possible CPU.
    pub fn percpu_sum(&self, key: u32) -> Result<u64, KernelError> {
        // SAFETY: plain libbpf query without arguments.
        let ncpu = unsafe { libbpf_sys::libbpf_num_possible_cpus() };
        let ncpu = usize::try_from(ncpu).map_err(|_| KernelError::Syscall {
            call: "libbpf_num_possible_cpus",
            what: "drop counter".into(),
            source: io::Error::from_raw_os_error(-ncpu),
        })?;
        let stride = (self.value_size as usize).next_multiple_of(8);
        let mut values = vec![0u8; stride * ncpu];
        // SAFETY: the key is 4 bytes and `values` holds one rounded value per possible CPU.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_elem(self.fd(), (&key as *const u32).cast(), values.as_mut_ptr().cast())
        };
        if ret < 0 {
            return Err(KernelError::Syscall {
                call: "bpf_map_lookup_elem",
                what: "drop counter".into(),
                source: io::Error::from_raw_os_error(-ret),
            });
        }
        Ok(values.chunks_exact(stride).map(|c| u64::from_ne_bytes(c[..8].try_into().expect("8 bytes"))).sum())
    }
}

/// A loaded BPF program.
#[derive(Debug)]
pub struct Program {
    fd: OwnedFd,
    /// The name it was loaded under.
    pub name: String,
}

impl Program {
    /// Load a uprobe_multi program (type kprobe). On rejection, load it again
    /// with the verifier log and return that log.
    pub fn load_uprobe_multi(name: &str, insns: &[Insn]) -> Result<Program, KernelError> {
        Program::load(crate::kernel::uprobe::Method::Multi, name, insns)
    }

    /// Load a uprobe program (type kprobe) for attaching by `method`. On
    /// rejection, load it again with the verifier log and return that log.
    pub fn load(method: crate::kernel::uprobe::Method, name: &str, insns: &[Insn]) -> Result<Program, KernelError> {
        let attach_type = match method {
            crate::kernel::uprobe::Method::Multi => libbpf_sys::BPF_TRACE_UPROBE_MULTI,
            crate::kernel::uprobe::Method::PerfEvent => 0,
        };
        Program::load_as(libbpf_sys::BPF_PROG_TYPE_KPROBE, attach_type, name, insns)
    }

    fn load_as(
        prog_type: libbpf_sys::bpf_prog_type,
        attach_type: libbpf_sys::bpf_attach_type,
        name: &str,
        insns: &[Insn],
    ) -> Result<Program, KernelError> {
        let cname = CString::new(name).expect("program names have no NUL");
        let license = c"GPL";
        // Subprograms (bpf_loop callbacks) must be described in BTF.
        let funcs = subprogram_starts(insns);
        let btf = if funcs.is_empty() { None } else { Some(load_program_btf(name, &funcs)?) };
        let load = |log: Option<&mut Vec<u8>>| {
            let mut opts = libbpf_sys::bpf_prog_load_opts {
                sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
                expected_attach_type: attach_type,
                ..Default::default()
            };
            if let Some((fd, info)) = &btf {
                opts.prog_btf_fd = fd.as_raw_fd() as u32;
                opts.func_info = info.as_ptr().cast();
                opts.func_info_cnt = info.len() as u32;
                opts.func_info_rec_size = std::mem::size_of::<libbpf_sys::bpf_func_info>() as u32;
            }
            if let Some(buf) = log {
                opts.log_level = 1;
                opts.log_size = buf.len() as u32;
                opts.log_buf = buf.as_mut_ptr().cast();
            }
            // SAFETY: `Insn` has the layout of `struct bpf_insn` (8 bytes,
            // same field order); the name, license and log buffer outlive the call.
            unsafe {
                libbpf_sys::bpf_prog_load(
                    prog_type,
                    cname.as_ptr(),
                    license.as_ptr(),
                    insns.as_ptr().cast(),
                    insns.len() as _,
                    &mut opts,
                )
            }
        };
        let ret = load(None);
        if ret >= 0 {
            // SAFETY: a new descriptor owned by nothing else.
            return Ok(Program { fd: unsafe { OwnedFd::from_raw_fd(ret) }, name: name.to_string() });
        }
        let source = io::Error::from_raw_os_error(-ret);
        if matches!(-ret, libc::EPERM | libc::EACCES) && !is_root() {
            return Err(KernelError::Syscall { call: "bpf_prog_load", what: format!("program `{name}`"), source });
        }
        let mut log = vec![0u8; 1 << 20];
        let again = load(Some(&mut log));
        if again >= 0 {
            // SAFETY: a new descriptor owned by nothing else.
            return Ok(Program { fd: unsafe { OwnedFd::from_raw_fd(again) }, name: name.to_string() });
        }
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let log = String::from_utf8_lossy(&log[..end]).into_owned();
        if log.trim().is_empty() {
            return Err(KernelError::Syscall { call: "bpf_prog_load", what: format!("program `{name}`"), source });
        }
        Err(KernelError::Verifier { program: name.to_string(), source, log })
    }

    /// Load a raw tracepoint program (for `sys_enter`/`sys_exit`, and for
    /// `BEGIN`/`END`, which sdtrace runs with [`Program::test_run`]).
    pub fn load_raw_tp(name: &str, insns: &[Insn]) -> Result<Program, KernelError> {
        Program::load_as(libbpf_sys::BPF_PROG_TYPE_RAW_TRACEPOINT, 0, name, insns)
    }

    /// Load a perf-event program (for `tick-N` and `profile-N` timers).
    pub fn load_perf_event(name: &str, insns: &[Insn]) -> Result<Program, KernelError> {
        Program::load_as(libbpf_sys::BPF_PROG_TYPE_PERF_EVENT, 0, name, insns)
    }

    /// Run the program once on this CPU with an all-zero context.
    pub fn test_run(&self) -> Result<(), KernelError> {
        let ctx = [0u64; 2];
        let mut opts = libbpf_sys::bpf_test_run_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_test_run_opts>() as _,
            ctx_in: ctx.as_ptr().cast(),
            ctx_size_in: 16,
            ..Default::default()
        };
        // SAFETY: `opts` and the context it points to live across the call.
        let ret = unsafe { libbpf_sys::bpf_prog_test_run_opts(self.fd(), &mut opts) };
        if ret < 0 {
            return Err(KernelError::Syscall {
                call: "bpf_prog_test_run",
                what: format!("program `{}`", self.name),
                source: io::Error::from_raw_os_error(-ret),
            });
        }
        Ok(())
    }

    /// Attach a raw tracepoint program to tracepoint `tp` (`sys_enter`).
    pub fn attach_raw_tp(&self, tp: &str) -> Result<OwnedFd, KernelError> {
        let ctp = CString::new(tp).expect("tracepoint names have no NUL");
        // SAFETY: a valid C string and an open program descriptor.
        let ret = unsafe { libbpf_sys::bpf_raw_tracepoint_open(ctp.as_ptr(), self.fd()) };
        check(ret, "bpf_raw_tracepoint_open", || format!("tracepoint {tp}"))
    }

    /// The program's file descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Where the subprograms of `insns` start: the targets of
/// `BPF_PSEUDO_FUNC` loads (`ld_imm64` with source register 4), sorted.
pub fn subprogram_starts(insns: &[Insn]) -> Vec<u32> {
    let mut starts: Vec<u32> = insns
        .iter()
        .enumerate()
        .filter(|(_, i)| i.code == 0x18 && i.regs >> 4 == 4)
        .filter_map(|(at, i)| u32::try_from(at as i64 + 1 + i64::from(i.imm)).ok())
        .collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Load BTF describing a program whose subprograms start at `funcs`;
/// returns its descriptor and the program's `func_info` records.
fn load_program_btf(name: &str, funcs: &[u32]) -> Result<(OwnedFd, Vec<libbpf_sys::bpf_func_info>), KernelError> {
    let (blob, ids) = crate::kernel::btf::program_funcs(funcs.len());
    let mut opts = libbpf_sys::bpf_btf_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_btf_load_opts>() as _,
        ..Default::default()
    };
    // SAFETY: `blob` is a whole BTF blob of the size given; `opts` is valid.
    let ret = unsafe { libbpf_sys::bpf_btf_load(blob.as_ptr().cast(), blob.len() as _, &mut opts) };
    let fd = check(ret, "bpf_btf_load", || format!("the functions of program `{name}`"))?;
    let info = std::iter::once(0)
        .chain(funcs.iter().copied())
        .zip(ids)
        .map(|(insn_off, type_id)| libbpf_sys::bpf_func_info { insn_off, type_id })
        .collect();
    Ok((fd, info))
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::subprogram_starts;
    use crate::bpf::insn::{Insn, R0, R2};

    #[test]
    fn subprograms_are_found_from_their_pseudo_function_loads() {
        let mut p = Vec::new();
        p.extend(Insn::ld_func(R2, 6)); // 0-1: the subprogram at 0 + 1 + 6
        p.extend(Insn::ld_map_fd(R2, 3)); // 2-3: a map, not a function
        p.extend(Insn::ld_func(R2, 2)); // 4-5: the same one, at 4 + 1 + 2
        p.push(Insn::exit()); // 6
        p.push(Insn::mov_imm(R0, 0)); // 7
        p.push(Insn::exit());
        assert_eq!(subprogram_starts(&p), [7]);
        assert!(subprogram_starts(&[Insn::exit()]).is_empty());
    }
}
