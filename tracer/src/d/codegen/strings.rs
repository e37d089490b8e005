//! eBPF for D's string functions (`strjoin`, `basename`, `dirname`,
//! `strstr`, `index`, `substr`, `lltostr`) and for the built-ins that walk
//! `task_struct` (`ppid`, `progenyof`).
//!
//! Strings are `strsize`-byte, zero-filled scratch buffers. Every index
//! computed at run time is masked with `M`, the next power of two above
//! `strsize` minus one, before it moves a pointer, and buffers written at
//! such an offset are `M + 1 + strsize` bytes, so the verifier can prove
//! every access in bounds without following each possible length.
//! `bpf_probe_read_kernel_str` doubles as `strlen` and as a bounded copy
//! (it stops at the NUL and writes one). Results that came out of a branch
//! go through scratch memory, whose contents the verifier does not track,
//! so that the paths merge again. `index` and `strstr` search with
//! `bpf_loop` and a callback subprogram, so that the verifier checks the
//! comparison once rather than once per position.

use super::{CodegenError, Gen, StrLoc, KEY};
use crate::bpf::asm::Label;
use crate::bpf::insn::{helper, Alu, Cond, Insn, Reg, Size, R0, R1, R10, R2, R3, R4, R5, R6, R7};
use crate::d::sema::{StrFn, TExpr};

/// A `bpf_loop` callback to emit after the main program.
#[derive(Debug, Clone, Copy)]
pub(super) enum Callback {
    /// One position of `index`/`strstr`.
    Search(SearchCallback),
    /// One byte of `basename`/`dirname`.
    PathScan(PathScan),
    /// One byte of `curpsinfo->pr_psargs`: a NUL before the last is a space.
    Spaces(Spaces),
}

/// Scratch offsets of a NUL-to-space pass: the bytes (a wide buffer) and
/// how many were read (u64).
#[derive(Debug, Clone, Copy)]
pub(super) struct Spaces {
    pub label: Label,
    pub bytes: i32,
    pub len: i32,
}

/// Scratch offsets of a path scan: the path with a NUL in front (a wide
/// buffer), and the results (u64 each): `end`, just past the last byte
/// that is not a slash; `start`, where the last component starts;
/// `dir_end`, the `end` before that component.
#[derive(Debug, Clone, Copy)]
pub(super) struct PathScan {
    pub label: Label,
    pub path: i32,
    pub end: i32,
    pub start: i32,
    pub dir_end: i32,
}

/// Scratch offsets of a search.
#[derive(Debug, Clone, Copy)]
pub(super) struct SearchCallback {
    /// Where it starts.
    pub label: Label,
    /// Scratch offsets: the searched string (a wide buffer), the needle,
    /// the first position to try (u64) and the result (i64, -1 if absent).
    pub haystack: i32,
    pub needle: i32,
    pub start: i32,
    pub result: i32,
}

impl Gen<'_> {
    /// `M`: the mask that bounds run-time string offsets.
    fn mask(&self) -> i32 {
        (self.layout.strsize.next_power_of_two() - 1) as i32
    }

    /// Bytes of a buffer written at a masked offset.
    fn wide(&self) -> usize {
        self.mask() as usize + 1 + self.layout.strsize
    }

    /// `r0` through scratch memory, so the verifier forgets which branch
    /// made it, then masked to `[0, M]`.
    fn launder_masked(&mut self) {
        let slot = self.alloc(8);
        self.a.emit(Insn::store(Size::DW, R7, slot as i16, R0));
        self.a.emit(Insn::load(Size::DW, R0, R7, slot as i16));
        self.a.emit(Insn::alu_imm(Alu::And, R0, self.mask()));
    }

    /// `r1 = r7 + off`.
    fn scratch_ptr(&mut self, reg: Reg, off: i32) {
        self.a.emit(Insn::mov(reg, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, reg, off));
    }

    /// `bpf_probe_read_kernel_str(r7 + dst [+ r0 if dst_plus_r0], size, src)`
    /// where `src` is already in `r3`.
    fn read_str_to(&mut self, dst: i32, size: i32, dst_plus_r0: bool) {
        self.scratch_ptr(R1, dst);
        if dst_plus_r0 {
            self.a.emit(Insn::alu(Alu::Add, R1, R0));
        }
        self.a.emit(Insn::mov_imm(R2, size));
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL_STR));
    }

    /// `r3 = loc.base + loc.off`.
    fn loc_ptr(&mut self, reg: Reg, loc: StrLoc) {
        self.a.emit(Insn::mov(reg, loc.base));
        self.a.emit(Insn::alu_imm(Alu::Add, reg, loc.off));
    }

    /// `r0 = strlen(loc)`, masked to `[0, M]`.
    fn strlen_masked(&mut self, loc: StrLoc) {
        let n = self.layout.strsize as i32;
        let tmp = self.alloc(self.layout.strsize);
        self.loc_ptr(R3, loc);
        self.read_str_to(tmp, n, false);
        self.a.emit(Insn::alu_imm(Alu::Sub, R0, 1));
        self.a.emit(Insn::alu_imm(Alu::And, R0, self.mask()));
    }

    /// Write a constant string into the zeroed buffer at `r7 + off`.
    fn put_literal(&mut self, off: i32, text: &str) {
        for (i, b) in text.bytes().enumerate() {
            self.a.emit(Insn::store_imm(Size::B, R7, (off + i as i32) as i16, i32::from(b)));
        }
    }

    /// A string function with a string result.
    pub(super) fn str_fn(&mut self, f: StrFn, args: &[TExpr], e: &TExpr) -> Result<StrLoc, CodegenError> {
        let n = self.layout.strsize;
        match (f, args) {
            (StrFn::Strjoin, [a, b]) => {
                let la = self.string(a)?;
                let lb = self.string(b)?;
                let out = self.alloc(self.wide());
                self.copy(R7, out, la, n);
                self.strlen_masked(StrLoc { base: R7, off: out });
                self.loc_ptr(R3, lb);
                self.read_str_to(out, n as i32, true);
                self.a.emit(Insn::store_imm(Size::B, R7, (out + n as i32 - 1) as i16, 0));
                Ok(StrLoc { base: R7, off: out })
            }
            (StrFn::Strstr, [s, t]) => {
                let haystack = self.search(s, t, None)?;
                let out = self.alloc(n);
                self.zero_scratch(out, n);
                let none = self.a.label();
                self.a.jmp_imm(Cond::Slt, R0, 0, none);
                self.a.emit(Insn::alu_imm(Alu::And, R0, self.mask()));
                self.scratch_ptr(R3, haystack);
                self.a.emit(Insn::alu(Alu::Add, R3, R0));
                self.read_str_to(out, n as i32, false);
                self.a.bind(none);
                Ok(StrLoc { base: R7, off: out })
            }
            (StrFn::Substr, [s, i, rest @ ..]) => self.substr(s, i, rest.first()),
            (StrFn::Basename | StrFn::Dirname, [s]) => self.path_part(f == StrFn::Basename, s),
            (StrFn::Lltostr, [x]) => self.lltostr(x),
            _ => self.err(e, "this string function does not give a string"),
        }
    }

    /// `index(s, t[, start])` into `r0`.
    pub(super) fn index(&mut self, args: &[TExpr], e: &TExpr) -> Result<(), CodegenError> {
        match args {
            [s, t, rest @ ..] => {
                self.search(s, t, rest.first())?;
                Ok(())
            }
            _ => self.err(e, "index takes two or three arguments"),
        }
    }

    /// Find `t` in `s` from `start` on: `r0` = the position or -1.
    /// Returns the scratch offset of the wide copy of `s`.
    fn search(&mut self, s: &TExpr, t: &TExpr, start: Option<&TExpr>) -> Result<i32, CodegenError> {
        let n = self.layout.strsize;
        let start_off = self.alloc(8);
        match start {
            Some(x) => {
                self.int(x)?;
                let ok = self.a.label();
                self.a.jmp_imm(Cond::Sge, R0, 0, ok);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.bind(ok);
                self.a.emit(Insn::store(Size::DW, R7, start_off as i16, R0));
            }
            None => self.a.emit(Insn::store_imm(Size::DW, R7, start_off as i16, 0)),
        }
        let ls = self.string(s)?;
        let lt = self.string(t)?;
        let haystack = self.alloc(self.wide());
        self.zero_scratch(haystack, self.wide());
        self.copy(R7, haystack, ls, n);
        let needle = if lt.base == R7 {
            lt.off
        } else {
            let off = self.alloc(n);
            self.copy(R7, off, lt, n);
            off
        };
        let result = self.alloc(8);
        self.a.emit(Insn::store_imm(Size::DW, R7, result as i16, -1));
        let label = self.a.label();
        self.callbacks.push(Callback::Search(SearchCallback { label, haystack, needle, start: start_off, result }));
        self.call_loop(n as i32, label);
        self.a.emit(Insn::load(Size::DW, R0, R7, result as i16));
        Ok(haystack)
    }

    /// `bpf_loop(times, label, &r7 on the stack, 0)`.
    fn call_loop(&mut self, times: i32, label: Label) {
        self.a.emit(Insn::store(Size::DW, R10, KEY, R7));
        self.a.emit(Insn::mov_imm(R1, times));
        self.a.ld_func(R2, label);
        self.a.emit(Insn::mov(R3, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, i32::from(KEY)));
        self.a.emit(Insn::mov_imm(R4, 0));
        self.a.emit(Insn::call(helper::LOOP));
    }

    /// Emit a callback's subprogram.
    pub(super) fn emit_callback(&mut self, cb: Callback) {
        match cb {
            Callback::Search(s) => self.emit_search_callback(s),
            Callback::PathScan(p) => self.emit_path_callback(p),
            Callback::Spaces(s) => self.emit_spaces_callback(s),
        }
    }

    /// `curpsinfo->pr_psargs`: the bytes from `mm->arg_start` to `arg_end`
    /// (at most strsize - 1 of them) read from user memory, each NUL
    /// between two arguments made a space, as `ps -o args` shows them; ""
    /// for a kernel thread (no `mm`) or when the memory cannot be read.
    pub(super) fn psargs(&mut self) -> Result<StrLoc, CodegenError> {
        let offs = self.process_offsets()?;
        let n = self.layout.strsize as i32;
        let wide = self.wide();
        let out = self.alloc(wide);
        self.zero_scratch(out, wide);
        let (mm, len) = (self.alloc(8), self.alloc(8));
        let done = self.a.label();
        let fits = self.a.label();
        self.a.emit(Insn::call(helper::GET_CURRENT_TASK));
        self.read_kernel(R0, offs.mm as i32, 8);
        self.a.jmp_imm(Cond::Eq, R0, 0, done);
        self.a.emit(Insn::store(Size::DW, R7, mm as i16, R0));
        self.a.emit(Insn::load(Size::DW, R3, R7, mm as i16));
        self.read_kernel(R3, offs.arg_end as i32, 8);
        self.a.emit(Insn::store(Size::DW, R7, len as i16, R0));
        self.a.emit(Insn::load(Size::DW, R3, R7, mm as i16));
        self.read_kernel(R3, offs.arg_start as i32, 8);
        // r2 = arg_end - arg_start, kept in [1, n - 1] for the verifier.
        self.a.emit(Insn::load(Size::DW, R2, R7, len as i16));
        self.a.emit(Insn::alu(Alu::Sub, R2, R0));
        self.a.jmp_imm(Cond::Sle, R2, 0, done);
        self.a.jmp_imm(Cond::Le, R2, n - 1, fits);
        self.a.emit(Insn::mov_imm(R2, n - 1));
        self.a.bind(fits);
        self.a.emit(Insn::store(Size::DW, R7, len as i16, R2));
        self.a.emit(Insn::mov(R3, R0));
        self.scratch_ptr(R1, out);
        self.a.emit(Insn::call(helper::PROBE_READ_USER));
        // A failed read leaves the buffer zeroed: "".
        self.a.jmp_imm(Cond::Ne, R0, 0, done);
        let label = self.a.label();
        self.callbacks.push(Callback::Spaces(Spaces { label, bytes: out, len }));
        self.call_loop(n - 1, label);
        self.a.bind(done);
        Ok(StrLoc { base: R7, off: out })
    }

    /// One byte of a NUL-to-space pass: `r1` the position, `r2` a pointer
    /// to the caller's scratch pointer. Returns 1 (stop) at the last byte
    /// read, which ends the last argument.
    fn emit_spaces_callback(&mut self, cb: Spaces) {
        let stop = self.a.label();
        let next = self.a.label();
        self.a.bind(cb.label);
        self.a.emit(Insn::mov(R6, R1));
        self.a.emit(Insn::load(Size::DW, R7, R2, 0));
        self.a.emit(Insn::load(Size::DW, R1, R7, cb.len as i16));
        self.a.emit(Insn::alu_imm(Alu::Sub, R1, 1));
        self.a.jmp_reg(Cond::Ge, R6, R1, stop);
        self.a.emit(Insn::alu_imm(Alu::And, R6, self.mask()));
        self.a.emit(Insn::mov(R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, cb.bytes));
        self.a.emit(Insn::alu(Alu::Add, R3, R6));
        self.a.emit(Insn::load(Size::B, R4, R3, 0));
        self.a.jmp_imm(Cond::Ne, R4, 0, next);
        self.a.emit(Insn::store_imm(Size::B, R3, 0, i32::from(b' ')));
        self.a.bind(next);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.emit(Insn::exit());
        self.a.bind(stop);
        self.a.emit(Insn::mov_imm(R0, 1));
        self.a.emit(Insn::exit());
    }

    /// One byte of a path scan: `r1` the position, `r2` a pointer to the
    /// caller's scratch pointer. Returns 1 (stop) at the NUL.
    fn emit_path_callback(&mut self, cb: PathScan) {
        let stop = self.a.label();
        let next = self.a.label();
        let plain = self.a.label();
        self.a.bind(cb.label);
        self.a.emit(Insn::mov(R6, R1));
        self.a.emit(Insn::alu_imm(Alu::And, R6, self.mask()));
        self.a.emit(Insn::load(Size::DW, R7, R2, 0));
        self.a.emit(Insn::mov(R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, cb.path));
        self.a.emit(Insn::alu(Alu::Add, R3, R6));
        // path[i] is at r3 + 1, path[i - 1] at r3 (a NUL for i = 0).
        self.a.emit(Insn::load(Size::B, R4, R3, 1));
        self.a.jmp_imm(Cond::Eq, R4, 0, stop);
        self.a.jmp_imm(Cond::Eq, R4, i32::from(b'/'), next);
        self.a.emit(Insn::load(Size::B, R5, R3, 0));
        self.a.jmp_imm(Cond::Ne, R5, i32::from(b'/'), plain);
        self.a.emit(Insn::load(Size::DW, R4, R7, cb.end as i16));
        self.a.emit(Insn::store(Size::DW, R7, cb.dir_end as i16, R4));
        self.a.emit(Insn::store(Size::DW, R7, cb.start as i16, R6));
        self.a.bind(plain);
        self.a.emit(Insn::alu_imm(Alu::Add, R6, 1));
        self.a.emit(Insn::store(Size::DW, R7, cb.end as i16, R6));
        self.a.bind(next);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.emit(Insn::exit());
        self.a.bind(stop);
        self.a.emit(Insn::mov_imm(R0, 1));
        self.a.emit(Insn::exit());
    }

    /// The body of a search callback: `r1` the position, `r2` a pointer to
    /// the caller's scratch pointer. Returns 1 (stop) at a match.
    fn emit_search_callback(&mut self, cb: SearchCallback) {
        let n = self.layout.strsize as i32;
        let next = self.a.label();
        let found = self.a.label();
        self.a.bind(cb.label);
        self.a.emit(Insn::mov(R6, R1));
        self.a.emit(Insn::load(Size::DW, R7, R2, 0));
        self.a.emit(Insn::load(Size::DW, R1, R7, cb.start as i16));
        self.a.jmp_reg(Cond::Lt, R6, R1, next);
        self.a.emit(Insn::alu_imm(Alu::And, R6, self.mask()));
        self.a.emit(Insn::mov(R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, cb.haystack));
        self.a.emit(Insn::alu(Alu::Add, R3, R6));
        for j in 0..n {
            self.a.emit(Insn::load(Size::B, R4, R7, (cb.needle + j) as i16));
            self.a.jmp_imm(Cond::Eq, R4, 0, found);
            self.a.emit(Insn::load(Size::B, R5, R3, j as i16));
            self.a.jmp_reg(Cond::Ne, R5, R4, next);
        }
        self.a.bind(found);
        self.a.emit(Insn::store(Size::DW, R7, cb.result as i16, R6));
        self.a.emit(Insn::mov_imm(R0, 1));
        self.a.emit(Insn::exit());
        self.a.bind(next);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.emit(Insn::exit());
    }

    /// `substr(s, i[, len])`: a negative `i` counts from the end; a
    /// negative `len` leaves that many bytes off the end.
    fn substr(&mut self, s: &TExpr, i: &TExpr, len: Option<&TExpr>) -> Result<StrLoc, CodegenError> {
        let n = self.layout.strsize;
        let ls = self.string(s)?;
        let slen = self.alloc(8);
        let from = self.alloc(8);
        self.strlen_masked(ls);
        self.a.emit(Insn::store(Size::DW, R7, slen as i16, R0));
        // from = clamp(i < 0 ? i + strlen : i, 0, strlen)
        self.int(i)?;
        let nonneg = self.a.label();
        self.a.jmp_imm(Cond::Sge, R0, 0, nonneg);
        self.a.emit(Insn::load(Size::DW, R1, R7, slen as i16));
        self.a.emit(Insn::alu(Alu::Add, R0, R1));
        self.a.jmp_imm(Cond::Sge, R0, 0, nonneg);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.bind(nonneg);
        let inside = self.a.label();
        self.a.emit(Insn::load(Size::DW, R1, R7, slen as i16));
        self.a.jmp_reg(Cond::Sle, R0, R1, inside);
        self.a.emit(Insn::mov(R0, R1));
        self.a.bind(inside);
        self.launder_masked();
        self.a.emit(Insn::store(Size::DW, R7, from as i16, R0));
        // size = clamp(len < 0 ? strlen - from + len : len, 0, strsize - 1) + 1
        // `count` = size - 1: at most strsize - 1, so masking keeps it.
        let count = self.alloc(8);
        match len {
            None => self.a.emit(Insn::store_imm(Size::DW, R7, count as i16, n as i32 - 1)),
            Some(l) => {
                self.int(l)?;
                let pos = self.a.label();
                self.a.jmp_imm(Cond::Sge, R0, 0, pos);
                self.a.emit(Insn::load(Size::DW, R1, R7, slen as i16));
                self.a.emit(Insn::alu(Alu::Add, R0, R1));
                self.a.emit(Insn::load(Size::DW, R1, R7, from as i16));
                self.a.emit(Insn::alu(Alu::Sub, R0, R1));
                self.a.jmp_imm(Cond::Sge, R0, 0, pos);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.bind(pos);
                let fits = self.a.label();
                self.a.jmp_imm(Cond::Sle, R0, n as i32 - 1, fits);
                self.a.emit(Insn::mov_imm(R0, n as i32 - 1));
                self.a.bind(fits);
                self.a.emit(Insn::store(Size::DW, R7, count as i16, R0));
            }
        }
        let out = self.alloc(self.wide());
        self.zero_scratch(out, n);
        self.loc_ptr(R3, ls);
        self.a.emit(Insn::load(Size::DW, R0, R7, from as i16));
        self.a.emit(Insn::alu_imm(Alu::And, R0, self.mask()));
        self.a.emit(Insn::alu(Alu::Add, R3, R0));
        self.a.emit(Insn::load(Size::DW, R2, R7, count as i16));
        self.a.emit(Insn::alu_imm(Alu::And, R2, self.mask()));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, 1));
        self.scratch_ptr(R1, out);
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL_STR));
        self.a.emit(Insn::store_imm(Size::B, R7, (out + n as i32 - 1) as i16, 0));
        Ok(StrLoc { base: R7, off: out })
    }

    /// `basename(s)` or `dirname(s)`, as basename(1) and dirname(1) do:
    /// trailing slashes do not count, "" gives "." and "/" gives "/".
    fn path_part(&mut self, base: bool, s: &TExpr) -> Result<StrLoc, CodegenError> {
        let n = self.layout.strsize as i32;
        let ls = self.string(s)?;
        let [end, start, dir_end] = [self.alloc(8), self.alloc(8), self.alloc(8)];
        for slot in [end, start, dir_end] {
            self.a.emit(Insn::store_imm(Size::DW, R7, slot as i16, 0));
        }
        let path = self.alloc(self.wide());
        self.a.emit(Insn::store_imm(Size::DW, R7, path as i16, 0));
        self.copy(R7, path + 1, ls, n as usize);
        let label = self.a.label();
        self.callbacks.push(Callback::PathScan(PathScan { label, path, end, start, dir_end }));
        self.call_loop(n - 1, label);
        // Read the path from the copy from now on.
        let ls = StrLoc { base: R7, off: path + 1 };
        let out = self.alloc(self.wide());
        self.zero_scratch(out, n as usize);
        let done = self.a.label();
        let slash = self.a.label();
        let dot = self.a.label();
        let copy = self.a.label();
        // Nothing but slashes, or nothing at all.
        self.a.emit(Insn::load(Size::DW, R1, R7, end as i16));
        let some = self.a.label();
        self.a.jmp_imm(Cond::Ne, R1, 0, some);
        self.a.emit(Insn::load(Size::B, R1, ls.base, ls.off as i16));
        self.a.jmp_imm(Cond::Eq, R1, 0, dot);
        self.a.goto(slash);
        self.a.bind(some);
        // r0 = first byte, r1 = one past the last, of the part to copy.
        if base {
            self.a.emit(Insn::load(Size::DW, R0, R7, start as i16));
            self.a.emit(Insn::load(Size::DW, R1, R7, end as i16));
        } else {
            self.a.emit(Insn::load(Size::DW, R1, R7, start as i16));
            self.a.jmp_imm(Cond::Eq, R1, 0, dot);
            self.a.emit(Insn::load(Size::DW, R1, R7, dir_end as i16));
            self.a.jmp_imm(Cond::Eq, R1, 0, slash);
            self.a.emit(Insn::mov_imm(R0, 0));
        }
        self.a.goto(copy);
        self.a.bind(dot);
        self.put_literal(out, ".");
        self.a.goto(done);
        self.a.bind(slash);
        self.put_literal(out, "/");
        self.a.goto(done);
        self.a.bind(copy);
        // bpf_probe_read_kernel_str(out, (r1 - r0) + 1, s + r0)
        self.a.emit(Insn::alu(Alu::Sub, R1, R0));
        self.a.emit(Insn::alu_imm(Alu::And, R0, self.mask()));
        self.a.emit(Insn::alu_imm(Alu::And, R1, self.mask()));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, 1));
        self.loc_ptr(R3, ls);
        self.a.emit(Insn::alu(Alu::Add, R3, R0));
        self.a.emit(Insn::mov(R2, R1));
        self.scratch_ptr(R1, out);
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL_STR));
        self.a.bind(done);
        self.a.emit(Insn::store_imm(Size::B, R7, (out + n - 1) as i16, 0));
        Ok(StrLoc { base: R7, off: out })
    }

    /// `lltostr(x)`: the signed decimal text of `x`.
    fn lltostr(&mut self, x: &TExpr) -> Result<StrLoc, CodegenError> {
        let n = self.layout.strsize;
        // Digits are written backwards into a 32-byte buffer ending in NUL.
        let buf = self.alloc(32);
        let [first, neg] = [self.alloc(8), self.alloc(8)];
        self.zero_scratch(buf, 32);
        self.int(x)?;
        self.a.emit(Insn::store_imm(Size::DW, R7, neg as i16, 0));
        let positive = self.a.label();
        self.a.jmp_imm(Cond::Sge, R0, 0, positive);
        self.a.emit(Insn::store_imm(Size::DW, R7, neg as i16, 1));
        self.a.emit(Insn::mov_imm(R1, 0));
        self.a.emit(Insn::alu(Alu::Sub, R1, R0));
        self.a.emit(Insn::mov(R0, R1));
        self.a.bind(positive);
        let joined = self.a.label();
        // u64::MAX has 20 digits; i64::MIN's magnitude 19.
        for k in 0..20 {
            let pos = 30 - k;
            self.a.emit(Insn::mov(R1, R0));
            self.a.emit(Insn::alu_imm(Alu::Mod, R1, 10));
            self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(b'0')));
            self.a.emit(Insn::store(Size::B, R7, (buf + pos) as i16, R1));
            self.a.emit(Insn::store_imm(Size::DW, R7, first as i16, pos));
            self.a.emit(Insn::alu_imm(Alu::Div, R0, 10));
            self.a.jmp_imm(Cond::Eq, R0, 0, joined);
        }
        self.a.bind(joined);
        let unsigned = self.a.label();
        self.a.emit(Insn::load(Size::DW, R1, R7, neg as i16));
        self.a.jmp_imm(Cond::Eq, R1, 0, unsigned);
        self.a.emit(Insn::load(Size::DW, R1, R7, first as i16));
        self.a.emit(Insn::alu_imm(Alu::Sub, R1, 1));
        self.a.emit(Insn::alu_imm(Alu::And, R1, 31));
        self.a.emit(Insn::store(Size::DW, R7, first as i16, R1));
        self.a.emit(Insn::alu(Alu::Add, R1, R7));
        self.a.emit(Insn::store_imm(Size::B, R1, buf as i16, i32::from(b'-')));
        self.a.bind(unsigned);
        let out = self.alloc(n);
        self.zero_scratch(out, n);
        self.a.emit(Insn::load(Size::DW, R3, R7, first as i16));
        self.a.emit(Insn::alu_imm(Alu::And, R3, 31));
        self.a.emit(Insn::alu(Alu::Add, R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, buf));
        self.read_str_to(out, n as i32, false);
        Ok(StrLoc { base: R7, off: out })
    }

    /// `ppid` into `r0`: `current->real_parent->tgid`.
    pub(super) fn ppid(&mut self) -> Result<(), CodegenError> {
        let task = self.task_offsets()?;
        self.task();
        self.read_kernel(R0, task.real_parent as i32, 8);
        self.read_kernel(R0, task.tgid as i32, 4);
        Ok(())
    }

    /// `progenyof(pid)` into `r0`: whether `pid` is the current process or
    /// one of its first [`PROGENY_DEPTH`] ancestors.
    pub(super) fn progenyof(&mut self, pid: &TExpr) -> Result<(), CodegenError> {
        let task = self.task_offsets()?;
        let want = self.push()?;
        let cur = self.push()?;
        self.int(pid)?;
        self.a.emit(Insn::store(Size::DW, R10, want, R0));
        self.task();
        self.a.emit(Insn::store(Size::DW, R10, cur, R0));
        let yes = self.a.label();
        let no = self.a.label();
        let end = self.a.label();
        for _ in 0..PROGENY_DEPTH {
            self.a.emit(Insn::load(Size::DW, R3, R10, cur));
            self.read_kernel(R3, task.tgid as i32, 4);
            self.a.emit(Insn::load(Size::DW, R1, R10, want));
            self.a.jmp_reg(Cond::Eq, R0, R1, yes);
            // pid 0 (a failed read) or 1 (init): no further ancestors.
            self.a.jmp_imm(Cond::Le, R0, 1, no);
            self.a.emit(Insn::load(Size::DW, R3, R10, cur));
            self.read_kernel(R3, task.real_parent as i32, 8);
            self.a.emit(Insn::store(Size::DW, R10, cur, R0));
        }
        self.a.bind(no);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.goto(end);
        self.a.bind(yes);
        self.a.emit(Insn::mov_imm(R0, 1));
        self.a.bind(end);
        self.pop();
        self.pop();
        Ok(())
    }
}

/// How many generations `progenyof` looks back.
pub const PROGENY_DEPTH: usize = 32;
