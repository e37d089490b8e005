//! Stack traces as dtrace(1) prints them: `module`symbol+0xoffset`, one
//! frame a line. Kernel addresses are looked up in `/proc/kallsyms`
//! (`vmlinux` or the module in brackets); user addresses in snapshots of
//! `/proc/PID/maps` and the ELF symbol tables (`.symtab`, `.dynsym`) of
//! the mapped objects, read once per object. Snapshots are taken while the
//! processes run, so stacks still print after they have exited.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Columns a frame is indented by (dtrace's `stackindent`).
pub const INDENT: usize = 14;

/// One executable mapping of a process.
#[derive(Debug, Clone)]
struct Mapping {
    start: u64,
    end: u64,
    offset: u64,
    path: PathBuf,
}

/// An object's function symbols and how its file offsets map to addresses.
#[derive(Debug, Default)]
struct ObjectSymbols {
    /// (address, size, name), sorted by address.
    symbols: Vec<(u64, u64, String)>,
    /// Loadable segments: (file offset, virtual address, file size).
    segments: Vec<(u64, u64, u64)>,
}

impl ObjectSymbols {
    fn read(path: &Path) -> ObjectSymbols {
        let Ok(bytes) = std::fs::read(path) else { return ObjectSymbols::default() };
        let Ok(elf) = goblin::elf::Elf::parse(&bytes) else { return ObjectSymbols::default() };
        let mut symbols = Vec::new();
        for (syms, strtab) in [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)] {
            for s in syms.iter() {
                if s.st_type() != goblin::elf::sym::STT_FUNC || s.st_value == 0 {
                    continue;
                }
                if let Some(name) = strtab.get_at(s.st_name) {
                    symbols.push((s.st_value, s.st_size, name.to_string()));
                }
            }
        }
        symbols.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        symbols.dedup_by_key(|s| s.0);
        let segments = elf
            .program_headers
            .iter()
            .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
            .map(|p| (p.p_offset, p.p_vaddr, p.p_filesz))
            .collect();
        ObjectSymbols { symbols, segments }
    }

    /// The symbol holding the object's virtual address `vaddr`, and the offset.
    fn lookup(&self, vaddr: u64) -> Option<(&str, u64)> {
        let i = self.symbols.partition_point(|s| s.0 <= vaddr).checked_sub(1)?;
        let (addr, size, name) = &self.symbols[i];
        (*size == 0 || vaddr < addr + size).then_some((name.as_str(), vaddr - addr))
    }

    /// The virtual address of file offset `off`.
    fn vaddr(&self, off: u64) -> Option<u64> {
        self.segments.iter().find(|(o, _, n)| off >= *o && off < o + n).map(|(o, v, _)| off - o + v)
    }
}

/// Resolves stack addresses to names.
#[derive(Debug, Default)]
pub struct Symbolizer {
    /// (address, symbol, module), sorted; read at the first kernel stack.
    kernel: Option<Vec<(u64, String, String)>>,
    /// The last snapshot of each process's executable mappings.
    maps: HashMap<u32, Vec<Mapping>>,
    objects: HashMap<PathBuf, ObjectSymbols>,
}

impl Symbolizer {
    /// Take (or refresh) the snapshot of `pid`'s mappings; a process that
    /// is gone keeps its last snapshot.
    pub fn snapshot(&mut self, pid: u32) {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else { return };
        let mut maps = Vec::new();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(range), Some(perms), Some(off), _, _, Some(path)) =
                (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if !perms.contains('x') || !path.starts_with('/') {
                continue;
            }
            let Some((a, b)) = range.split_once('-') else { continue };
            let hex = |s: &str| u64::from_str_radix(s, 16).ok();
            let (Some(start), Some(end), Some(offset)) = (hex(a), hex(b), hex(off)) else { continue };
            // Through the process's root, so a chroot or container resolves.
            let rooted = PathBuf::from(format!("/proc/{pid}/root{path}"));
            let path = if rooted.exists() { rooted } else { PathBuf::from(path) };
            maps.push(Mapping { start, end, offset, path });
        }
        if !maps.is_empty() {
            for m in &maps {
                if !self.objects.contains_key(&m.path) {
                    let syms = ObjectSymbols::read(&m.path);
                    self.objects.insert(m.path.clone(), syms);
                }
            }
            self.maps.insert(pid, maps);
        }
    }

    /// Whether `pid` has a snapshot.
    pub fn has(&self, pid: u32) -> bool {
        self.maps.contains_key(&pid)
    }

    /// The frame text of user address `addr` in `pid`.
    pub fn user_frame(&mut self, pid: u32, addr: u64) -> String {
        if !self.maps.get(&pid).is_some_and(|m| m.iter().any(|m| addr >= m.start && addr < m.end)) {
            self.snapshot(pid);
        }
        let Some(m) = self.maps.get(&pid).and_then(|ms| ms.iter().find(|m| addr >= m.start && addr < m.end)) else {
            return format!("0x{addr:x}");
        };
        let module = m.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let off = addr - m.start + m.offset;
        let found = self.objects.get(&m.path).and_then(|o| o.vaddr(off).and_then(|v| o.lookup(v)));
        match found {
            Some((name, 0)) => format!("{module}`{}", demangled(name)),
            Some((name, d)) => format!("{module}`{}+0x{d:x}", demangled(name)),
            None => format!("{module}`0x{addr:x}"),
        }
    }

    /// The frame text of kernel address `addr`.
    pub fn kernel_frame(&mut self, addr: u64) -> String {
        let syms = self.kernel.get_or_insert_with(read_kallsyms);
        let Some(i) = syms.partition_point(|s| s.0 <= addr).checked_sub(1) else {
            return format!("0x{addr:x}");
        };
        let (base, name, module) = &syms[i];
        match addr - base {
            0 => format!("{module}`{name}"),
            d => format!("{module}`{name}+0x{d:x}"),
        }
    }
}

/// A Rust symbol as Rust code names it, without its hash
/// (`_ZN4core3ptr...17h...E` → `core::ptr::...`); other names as they are.
fn demangled(name: &str) -> std::borrow::Cow<'_, str> {
    match rustc_demangle::try_demangle(name) {
        Ok(d) => format!("{d:#}").into(),
        Err(_) => name.into(),
    }
}

/// Text and weak symbols of `/proc/kallsyms`, sorted by address (empty
/// when addresses are hidden).
fn read_kallsyms() -> Vec<(u64, String, String)> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut out: Vec<(u64, String, String)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let kind = f.next()?;
            let name = f.next()?;
            let module = f.next().map_or("vmlinux", |m| m.trim_start_matches('[').trim_end_matches(']'));
            (addr != 0 && matches!(kind, "T" | "t" | "W" | "w")).then(|| (addr, name.to_string(), module.to_string()))
        })
        .collect();
    out.sort_by_key(|s| s.0);
    out
}

/// Whether a kernel frame is sdtrace's program or the code that runs it
/// (left off the top of a kernel stack).
pub fn is_tracing_frame(frame: &str) -> bool {
    let name = frame.split_once('`').map_or(frame, |(m, n)| if m == "bpf" { "bpf_" } else { n });
    ["bpf_", "__bpf_trace_", "__traceiter_", "perf_trace_", "trace_call_bpf", "kprobe_", "uprobe_", "handle_swbp"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The frames of a stack-trace map value: non-zero u64 addresses, at most
/// `max` of them.
pub fn frames(value: &[u8], max: usize) -> Vec<u64> {
    value
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes")))
        .take_while(|&a| a != 0)
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_symbols_are_demangled_without_their_hash() {
        assert_eq!(demangled("_ZN12rust_fixture4main17h0123456789abcdefE"), "rust_fixture::main");
        assert_eq!(demangled("_RNvCs1234_7mycrate3foo"), "mycrate::foo");
        assert_eq!(demangled("PyEval_EvalFrameDefault"), "PyEval_EvalFrameDefault");
        assert_eq!(demangled("_Z3fooi"), "_Z3fooi");
    }

    #[test]
    fn user_frames_name_rust_functions_demangled() {
        let path = PathBuf::from("/opt/app/bin/app");
        let mut s = Symbolizer::default();
        s.maps.insert(7, vec![Mapping { start: 0x5000, end: 0x6000, offset: 0x1000, path: path.clone() }]);
        s.objects.insert(
            path,
            ObjectSymbols {
                symbols: vec![
                    (0x1100, 0x40, "_ZN3app6worker3run17h5c5c3beb5d2c3178E".into()),
                    (0x1200, 0x40, "_ZN4core3ptr13drop_in_place17h0123456789abcdefE.llvm.42".into()),
                    (0x1300, 0x40, "plain_c".into()),
                ],
                segments: vec![(0x1000, 0x1000, 0x1000)],
            },
        );
        assert_eq!(s.user_frame(7, 0x5100), "app`app::worker::run");
        assert_eq!(s.user_frame(7, 0x5119), "app`app::worker::run+0x19");
        assert_eq!(s.user_frame(7, 0x5204), "app`core::ptr::drop_in_place+0x4");
        assert_eq!(s.user_frame(7, 0x5300), "app`plain_c");
        assert_eq!(s.user_frame(7, 0x5f00), "app`0x5f00");
    }

    #[test]
    fn symbols_resolve_with_offsets_inside_their_size() {
        let o = ObjectSymbols {
            symbols: vec![(0x1000, 0x20, "main".into()), (0x1040, 0, "tail".into())],
            segments: vec![(0, 0, 0x2000)],
        };
        assert_eq!(o.lookup(0x1000), Some(("main", 0)));
        assert_eq!(o.lookup(0x1010), Some(("main", 0x10)));
        assert_eq!(o.lookup(0x1030), None);
        assert_eq!(o.lookup(0x1050), Some(("tail", 0x10)));
        assert_eq!(o.lookup(0x10), None);
    }

    #[test]
    fn frames_stop_at_the_first_zero_and_at_the_limit() {
        let v: Vec<u8> = [1u64, 2, 3, 0, 5].iter().flat_map(|a| a.to_ne_bytes()).collect();
        assert_eq!(frames(&v, 10), [1, 2, 3]);
        assert_eq!(frames(&v, 2), [1, 2]);
    }

    #[test]
    fn this_process_resolves_its_own_function() {
        let mut s = Symbolizer::default();
        let me = std::process::id();
        s.snapshot(me);
        let addr = frames_stop_at_the_first_zero_and_at_the_limit as fn() as usize as u64;
        let f = s.user_frame(me, addr);
        // This test binary's own symbol, demangled without its hash.
        assert!(f.ends_with("`tracer::d::stacks::tests::frames_stop_at_the_first_zero_and_at_the_limit"), "{f}");
    }
}
