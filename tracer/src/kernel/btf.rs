//! A small reader of BTF, the kernel's type information
//! (`/sys/kernel/btf/vmlinux`, format in the kernel's
//! `Documentation/bpf/btf.rst`): just enough to find struct member offsets
//! (`task_struct.tgid`) and the arity of tracepoint prototypes, so that D
//! programs can read kernel structures without compiling against headers.
//!
//! The blob is a header, a type section (records of `struct btf_type`,
//! each followed by kind-specific data) and a string section. Type ids
//! start at 1 in record order; 0 is `void`. Only native byte order is read.

use std::collections::HashMap;

mod paths;
pub use self::paths::{MemberPath, MemberValue};

/// Why BTF could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The data is not BTF or is cut short.
    #[error("malformed BTF at byte {offset}: {what}")]
    Malformed {
        /// Where the problem is.
        offset: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A type or member the caller needs is not there.
    #[error("the kernel's BTF has no {0}")]
    Missing(String),
    /// A member path that the types do not allow (see `Btf::member_path`).
    #[error("{0}")]
    Path(String),
}

const MAGIC: u16 = 0xeb9f;

/// BTF kinds (`BTF_KIND_*`).
mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const TYPEDEF: u32 = 8;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const DECL_TAG: u32 = 17;
    pub const ENUM64: u32 = 19;
}

/// One type record: where it starts and its decoded header.
#[derive(Debug, Clone, Copy)]
struct TypeRec {
    /// Byte offset of the record in the type section.
    at: usize,
    name_off: u32,
    kind: u32,
    vlen: u32,
    kind_flag: bool,
    /// `size` or `type`, by kind.
    size_or_type: u32,
}

/// Parsed BTF.
#[derive(Debug)]
pub struct Btf {
    types: Vec<u8>,
    strings: Vec<u8>,
    /// Index `id - 1`.
    recs: Vec<TypeRec>,
    /// Named structs and typedefs: (kind, name) → id.
    by_name: HashMap<(u32, String), u32>,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, BtfError> {
    b.get(at..at + 4)
        .map(|s| u32::from_ne_bytes(s.try_into().expect("4 bytes")))
        .ok_or(BtfError::Malformed { offset: at, what: "truncated" })
}

/// Offsets into `struct task_struct` that D programs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOffsets {
    /// `pid` (the thread id), a 4-byte `pid_t`.
    pub pid: u32,
    /// `tgid` (the process id), a 4-byte `pid_t`.
    pub tgid: u32,
    /// `real_parent`, a pointer.
    pub real_parent: u32,
    /// `exit_code`, an `int` wait status.
    pub exit_code: u32,
}

/// Offsets that the `psinfo_t`/`lwpsinfo_t` translators read, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessOffsets {
    /// `task_struct.mm`, a pointer (0 for kernel threads).
    pub mm: u32,
    /// `task_struct.prio`, an `int`.
    pub prio: u32,
    /// `mm_struct.arg_start`, an `unsigned long` user address.
    pub arg_start: u32,
    /// `mm_struct.arg_end`.
    pub arg_end: u32,
    /// `task_struct.comm`, the 16-byte command name.
    pub comm: u32,
}

impl Btf {
    /// Read the running kernel's BTF.
    pub fn vmlinux() -> Result<Btf, BtfError> {
        let path = "/sys/kernel/btf/vmlinux";
        let data = std::fs::read(path).map_err(|e| BtfError::Read { path: path.into(), message: e.to_string() })?;
        Btf::parse(&data)
    }

    /// Parse a BTF blob.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        let bad = |offset, what| BtfError::Malformed { offset, what };
        let magic = data.get(0..2).map(|m| u16::from_ne_bytes([m[0], m[1]])).ok_or(bad(0, "truncated"))?;
        if magic != MAGIC {
            return Err(bad(0, "not BTF (bad magic, or another byte order)"));
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let (type_off, type_len) = (u32_at(data, 8)? as usize, u32_at(data, 12)? as usize);
        let (str_off, str_len) = (u32_at(data, 16)? as usize, u32_at(data, 20)? as usize);
        let section = |off: usize, len: usize| {
            hdr_len
                .checked_add(off)
                .and_then(|a| Some((a, a.checked_add(len)?)))
                .and_then(|(a, b)| data.get(a..b))
                .ok_or(bad(hdr_len, "a section lies outside the data"))
        };
        let types = section(type_off, type_len)?.to_vec();
        let strings = section(str_off, str_len)?.to_vec();
        let mut recs = Vec::new();
        let mut at = 0;
        while at < types.len() {
            let info = u32_at(&types, at + 4)?;
            let rec = TypeRec {
                at,
                name_off: u32_at(&types, at)?,
                kind: (info >> 24) & 0x1f,
                vlen: info & 0xffff,
                kind_flag: info >> 31 == 1,
                size_or_type: u32_at(&types, at + 8)?,
            };
            let vlen = rec.vlen as usize;
            let extra = match rec.kind {
                kind::INT | kind::VAR | kind::DECL_TAG => 4,
                kind::ARRAY => 12,
                kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 12 * vlen,
                kind::ENUM | kind::FUNC_PROTO => 8 * vlen,
                0 | 20.. => return Err(bad(at, "unknown type kind")),
                _ => 0,
            };
            at += 12 + extra;
            if at > types.len() {
                return Err(bad(at, "a type record runs past the type section"));
            }
            recs.push(rec);
        }
        let mut btf = Btf { types, strings, recs, by_name: HashMap::new() };
        for (i, r) in btf.recs.iter().enumerate() {
            if matches!(r.kind, kind::STRUCT | kind::UNION | kind::TYPEDEF) && r.name_off != 0 {
                let name = btf.str_at(r.name_off).to_string();
                btf.by_name.entry((r.kind, name)).or_insert(i as u32 + 1);
            }
        }
        Ok(btf)
    }

    fn str_at(&self, off: u32) -> &str {
        let tail = self.strings.get(off as usize..).unwrap_or(&[]);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        std::str::from_utf8(&tail[..end]).unwrap_or("")
    }

    fn rec(&self, id: u32) -> Option<TypeRec> {
        id.checked_sub(1).and_then(|i| self.recs.get(i as usize)).copied()
    }

    /// The byte offset of `member` in `struct name`, looking through
    /// anonymous structs and unions.
    pub fn member_offset(&self, name: &str, member: &str) -> Result<u32, BtfError> {
        let id = self
            .by_name
            .get(&(kind::STRUCT, name.to_string()))
            .copied()
            .ok_or_else(|| BtfError::Missing(format!("struct {name}")))?;
        self.find_member(id, member, 0).ok_or_else(|| BtfError::Missing(format!("member {member} in struct {name}")))
    }

    /// Byte offset of `member` in struct or union `id` (see
    /// `paths::typed_member`, which also gives its type).
    fn find_member(&self, id: u32, member: &str, depth: u32) -> Option<u32> {
        self.typed_member(id, member, depth).map(|(bits, _, _)| bits / 8)
    }

    /// Follow typedefs and qualifiers (not pointers) to the type they name.
    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..16 {
            match self.rec(id) {
                Some(r) if matches!(r.kind, kind::TYPEDEF | 9 | 10 | 11 | 18) => id = r.size_or_type,
                _ => break,
            }
        }
        id
    }

    /// How many arguments the raw tracepoint `tp` passes a BPF program: the
    /// parameters of `btf_trace_<tp>` minus its leading `void *` context.
    pub fn raw_tracepoint_args(&self, tp: &str) -> Result<usize, BtfError> {
        let missing = || BtfError::Missing(format!("prototype of tracepoint {tp}"));
        let id = self.by_name.get(&(kind::TYPEDEF, format!("btf_trace_{tp}"))).copied().ok_or_else(missing)?;
        let ptr = self.rec(self.resolve(id)).filter(|r| r.kind == kind::PTR).ok_or_else(missing)?;
        let proto = self.rec(ptr.size_or_type).filter(|r| r.kind == kind::FUNC_PROTO).ok_or_else(missing)?;
        Ok((proto.vlen as usize).saturating_sub(1))
    }

    /// The offsets of `task_struct` that `ppid`, `progenyof` and
    /// `proc:::create` read.
    pub fn task_offsets(&self) -> Result<TaskOffsets, BtfError> {
        Ok(TaskOffsets {
            pid: self.member_offset("task_struct", "pid")?,
            tgid: self.member_offset("task_struct", "tgid")?,
            real_parent: self.member_offset("task_struct", "real_parent")?,
            exit_code: self.member_offset("task_struct", "exit_code")?,
        })
    }

    /// The offsets of `task_struct` and `mm_struct` that `curpsinfo` and
    /// `curlwpsinfo` read.
    pub fn process_offsets(&self) -> Result<ProcessOffsets, BtfError> {
        Ok(ProcessOffsets {
            mm: self.member_offset("task_struct", "mm")?,
            prio: self.member_offset("task_struct", "prio")?,
            arg_start: self.member_offset("mm_struct", "arg_start")?,
            arg_end: self.member_offset("mm_struct", "arg_end")?,
            comm: self.member_offset("task_struct", "comm")?,
        })
    }
}

/// A BTF writer: types are laid out first, then written with the header
/// in front.
#[derive(Debug, Default)]
struct Writer {
    types: Vec<u8>,
    strings: Vec<u8>,
}

impl Writer {
    fn new() -> Writer {
        Writer { types: Vec::new(), strings: vec![0] }
    }
    fn s(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let at = self.strings.len() as u32;
        self.strings.extend(name.as_bytes());
        self.strings.push(0);
        at
    }
    fn words(&mut self, w: &[u32]) {
        for x in w {
            self.types.extend(x.to_ne_bytes());
        }
    }
    fn ty(&mut self, name: &str, kind: u32, vlen: u32, kind_flag: bool, size_or_type: u32) {
        let n = self.s(name);
        self.words(&[n, (u32::from(kind_flag) << 31) | (kind << 24) | vlen, size_or_type]);
    }
    #[cfg(test)]
    fn member(&mut self, name: &str, ty: u32, bits: u32) {
        let n = self.s(name);
        self.words(&[n, ty, bits]);
    }
    fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(MAGIC.to_ne_bytes());
        out.extend([1u8, 0]);
        for w in [24u32, 0, self.types.len() as u32, self.types.len() as u32, self.strings.len() as u32] {
            out.extend(w.to_ne_bytes());
        }
        out.extend(self.types);
        out.extend(self.strings);
        out
    }
}

/// BTF for a program made of a main function and `callbacks` subprograms
/// (`bpf_loop` callbacks), which the kernel wants described: type ids
/// of the `BTF_KIND_FUNC` records, main's first, for `func_info`.
pub fn program_funcs(callbacks: usize) -> (Vec<u8>, Vec<u32>) {
    let mut w = Writer::new();
    w.ty("int", kind::INT, 0, false, 4); // 1
    w.words(&[(1 << 24) | 32]); // signed, 32 bits
    w.ty("", kind::PTR, 0, false, 0); // 2: void *
                                      // Parameters of functions need names.
    w.ty("", kind::FUNC_PROTO, 1, false, 1); // 3: int (void *ctx)
    let ctx = w.s("ctx");
    w.words(&[ctx, 2]);
    w.ty("", kind::FUNC_PROTO, 2, false, 1); // 4: int (int index, void *data)
    let (index, data) = (w.s("index"), w.s("data"));
    w.words(&[index, 1, data, 2]);
    w.ty("sdtrace_main", kind::FUNC, 0, false, 3); // 5, static
    let mut ids = vec![5];
    for i in 0..callbacks {
        w.ty(&format!("sdtrace_cb{i}"), kind::FUNC, 0, false, 4);
        ids.push(6 + i as u32);
    }
    (w.finish(), ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `int` (1), `struct task_struct` (2) with `pid` at 8, an anonymous
    /// struct (3) at byte 16 holding `tgid` at 4 and a bitfield,
    /// `real_parent` at 32 and `exit_code` at 40; a pointer (4) and the tracepoint prototype
    /// `btf_trace_sched_process_fork` (5, 6, 7).
    fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.ty("int", kind::INT, 0, false, 4);
        w.words(&[32]);
        w.ty("task_struct", kind::STRUCT, 4, false, 64);
        w.member("pid", 1, 64);
        w.member("", 3, 128);
        w.member("real_parent", 4, 256);
        w.member("exit_code", 1, 320);
        w.ty("", kind::STRUCT, 2, true, 8);
        w.member("flags", 1, (3 << 24) | 1);
        w.member("tgid", 1, 32);
        w.ty("", kind::PTR, 0, false, 2);
        w.ty("btf_trace_sched_process_fork", kind::TYPEDEF, 0, false, 6);
        w.ty("", kind::PTR, 0, false, 7);
        w.ty("", kind::FUNC_PROTO, 3, false, 0);
        w.words(&[0, 4, 0, 4, 0, 4]);
        w.finish()
    }

    #[test]
    fn member_offsets_look_through_anonymous_structs_and_bitfield_encoding() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.task_offsets().unwrap(), TaskOffsets { pid: 8, tgid: 20, real_parent: 32, exit_code: 40 });
        assert_eq!(
            btf.member_offset("task_struct", "comm"),
            Err(BtfError::Missing("member comm in struct task_struct".into()))
        );
        assert!(matches!(btf.member_offset("mm_struct", "pgd"), Err(BtfError::Missing(_))));
    }

    #[test]
    fn raw_tracepoint_arity_drops_the_context_parameter() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.raw_tracepoint_args("sched_process_fork"), Ok(2));
        assert!(btf.raw_tracepoint_args("sched_process_exec").is_err());
    }

    #[test]
    fn program_btf_reads_back_with_one_function_per_subprogram() {
        let (blob, ids) = program_funcs(2);
        assert_eq!(ids, [5, 6, 7]);
        let btf = Btf::parse(&blob).unwrap();
        let names: Vec<&str> = ids.iter().map(|id| btf.str_at(btf.rec(*id).unwrap().name_off)).collect();
        assert_eq!(names, ["sdtrace_main", "sdtrace_cb0", "sdtrace_cb1"]);
        assert!(ids.iter().all(|id| btf.rec(*id).unwrap().kind == kind::FUNC));
    }

    #[test]
    fn malformed_blobs_are_errors_not_panics() {
        let good = sample();
        assert!(matches!(Btf::parse(&good[..1]), Err(BtfError::Malformed { .. })));
        let mut bad_magic = good.clone();
        bad_magic[0] ^= 0xff;
        assert!(matches!(Btf::parse(&bad_magic), Err(BtfError::Malformed { offset: 0, .. })));
        // Every truncation fails cleanly.
        for n in 0..good.len() {
            let _ = Btf::parse(&good[..n]);
        }
        // A record that claims more members than the section holds.
        let mut long = good.clone();
        let info_at = 24 + 12 + 4 + 4; // task_struct's info word
        long[info_at..info_at + 4].copy_from_slice(&((kind::STRUCT << 24) | 999).to_ne_bytes());
        assert!(matches!(Btf::parse(&long), Err(BtfError::Malformed { .. })));
    }
}
