//! Statements: actions, assignments to variables, and associative
//! arrays.

use super::*;
use crate::bpf::usdt::StringRead;

impl Gen<'_> {
    pub(super) fn stmts(&mut self, stmts: &[IStmt], out: Label) -> Result<(), CodegenError> {
        for s in stmts {
            self.stmt(s, out)?;
        }
        Ok(())
    }

    pub(super) fn stmt(&mut self, s: &IStmt, out: Label) -> Result<(), CodegenError> {
        let mark = self.scratch;
        match s {
            IStmt::Nop => {}
            IStmt::If(c, t, e) => {
                let other = self.a.label();
                let end = self.a.label();
                self.int(c)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, other);
                self.stmts(t, out)?;
                self.a.goto(end);
                self.a.bind(other);
                self.stmts(e, out)?;
                self.a.bind(end);
            }
            IStmt::Assign(place, v) => self.assign(*place, v)?,
            IStmt::Free(VarRef::Thread(i)) => {
                self.thread_key(*i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::call(helper::MAP_DELETE_ELEM));
            }
            IStmt::Free(_) => {}
            IStmt::ArraySet { array, keys, value } => self.array_set(*array, keys, value)?,
            IStmt::Printf { format, args } => {
                let size: usize = 8 + args.iter().map(|a| slot_size(a.ty, self.layout.strsize)).sum::<usize>();
                let rec = self.alloc(size);
                self.header(rec, tag::PRINTF, *format as u32);
                let mut at = rec + 8;
                for a in args {
                    self.store_value(a, R7, at)?;
                    at += slot_size(a.ty, self.layout.strsize) as i32;
                }
                self.output(rec, size);
            }
            IStmt::Event => self.event()?,
            IStmt::Raise(sig) => {
                self.running_thread_only("raise() and stop(), which signal the running thread,")?;
                self.int(sig)?;
                self.a.emit(Insn::mov(R1, R0));
                self.a.emit(Insn::call(helper::SEND_SIGNAL));
            }
            IStmt::Exit(v) => {
                let rec = self.alloc(16);
                self.int(v)?;
                self.a.emit(Insn::store(Size::DW, R7, (rec + 8) as i16, R0));
                self.header(rec, tag::EXIT, 0);
                self.output(rec, 16);
            }
            IStmt::Printa(printa) => {
                // The printer looks the action up in the program.
                let rec = self.alloc(8);
                self.header(rec, tag::PRINTA, *printa as u32);
                self.output(rec, 8);
            }
            IStmt::AggOp { agg, trunc } => {
                let rec = self.alloc(16);
                self.header(rec, tag::AGGOP, *agg as u32);
                self.a.emit(Insn::store_imm(Size::DW, R7, (rec + 8) as i16, trunc.map_or(-1, |n| n as i32)));
                self.output(rec, 16);
            }
            IStmt::Normalize { agg, by } => {
                let rec = self.alloc(16);
                self.int(by)?;
                self.header(rec, tag::NORMALIZE, *agg as u32);
                self.a.emit(Insn::store(Size::DW, R7, (rec + 8) as i16, R0));
                self.output(rec, 16);
            }
            IStmt::Aggregate { agg, keys, value } => self.aggregate(*agg, keys, value.as_ref())?,
            IStmt::Speculate(id) => {
                self.int(id)?;
                self.a.emit(Insn::store(Size::DW, R10, SPEC_ID, R0));
                // A speculation that is not active takes no records: they
                // go to speculation 0, whose records the printer drops.
                let active = self.a.label();
                self.a.jmp_imm(Cond::Eq, R0, 0, active);
                self.a.emit_all(Insn::ld_map_fd(R1, self.active_speculations()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(SPEC_ID)));
                self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
                self.a.jmp_imm(Cond::Ne, R0, 0, active);
                self.a.emit(Insn::store_imm(Size::DW, R10, SPEC_ID, 0));
                self.a.bind(active);
                self.speculative = true;
            }
            IStmt::EndSpeculation { commit, id } => {
                let rec = self.alloc(16);
                self.int(id)?;
                self.a.emit(Insn::store(Size::DW, R7, (rec + 8) as i16, R0));
                self.header(rec, if *commit { tag::COMMIT } else { tag::DISCARD }, 0);
                // Only an active speculation ends, once: the delete that
                // finds its id lowers the active count and tells the
                // printer; ending one that is not active does nothing.
                let inactive = self.a.label();
                let counted = self.a.label();
                self.a.jmp_imm(Cond::Eq, R0, 0, inactive);
                let key = self.push()?;
                self.a.emit(Insn::store(Size::DW, R10, key, R0));
                self.a.emit_all(Insn::ld_map_fd(R1, self.active_speculations()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(key)));
                self.a.emit(Insn::call(helper::MAP_DELETE_ELEM));
                self.pop();
                self.a.jmp_imm(Cond::Ne, R0, 0, inactive);
                self.speculation_counters(counted);
                self.a.emit(Insn::mov_imm(R1, -1));
                self.a.emit(Insn::atomic_fetch_add(R0, 8, R1));
                self.a.bind(counted);
                self.send(rec, 16);
                self.a.bind(inactive);
            }
        }
        self.scratch = mark;
        Ok(())
    }

    /// `printevent()`: time, pid and tid, the probe id, comm, every
    /// argument of a USDT site as its plans read it, then the strings the
    /// plans mark (a C string up to `strsize` bytes with its NUL, a
    /// pointer and length as at most `strsize` bytes). A read that fails
    /// leaves zeros (the helpers clear their buffer). Other probes'
    /// events have no arguments.
    fn event(&mut self) -> Result<(), CodegenError> {
        let plans: Vec<ArgPlan> = match &self.spec.context {
            Context::Usdt(p) => p.clone(),
            _ => Vec::new(),
        };
        let strsize = self.layout.strsize;
        let size = 8 + crate::d::events::event_size(&plans, strsize);
        let rec = self.alloc(size);
        self.header(rec, tag::EVENT, 0);
        let at = |off: usize| (rec as usize + 8 + off) as i16;
        self.a.emit(Insn::call(helper::KTIME_GET_NS));
        self.a.emit(Insn::store(Size::DW, R7, at(0), R0));
        self.pid_tgid();
        self.a.emit(Insn::store(Size::DW, R7, at(8), R0));
        self.a.emit(Insn::store(Size::DW, R7, at(16), R9));
        self.comm(i32::from(at(24)))?;
        let slot = |i: usize| at(crate::d::events::ARGS_OFFSET + 8 * i);
        for (i, p) in plans.iter().enumerate() {
            self.usdt_arg(*p);
            self.a.emit(Insn::store(Size::DW, R7, slot(i), R0));
        }
        let mut strings = crate::d::events::ARGS_OFFSET + 8 * plans.len();
        for (i, p) in plans.iter().enumerate() {
            match p.string {
                StringRead::No => continue,
                StringRead::NulTerminated => {
                    self.a.emit(Insn::mov_imm(R2, strsize as i32));
                    self.a.emit(Insn::load(Size::DW, R3, R7, slot(i)));
                    self.a.emit(Insn::mov(R1, R7));
                    self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(at(strings))));
                    self.a.emit(Insn::call(helper::PROBE_READ_USER_STR));
                }
                StringRead::WithLength { len_arg } => {
                    let ok = self.a.label();
                    self.a.emit(Insn::load(Size::DW, R2, R7, slot(len_arg)));
                    self.a.jmp_imm(Cond::Le, R2, strsize as i32, ok);
                    self.a.emit(Insn::mov_imm(R2, strsize as i32));
                    self.a.bind(ok);
                    self.a.emit(Insn::load(Size::DW, R3, R7, slot(i)));
                    self.a.emit(Insn::mov(R1, R7));
                    self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(at(strings))));
                    self.a.emit(Insn::call(helper::PROBE_READ_USER));
                }
            }
            strings += strsize;
        }
        self.output(rec, size);
        Ok(())
    }

    /// Evaluate `v` and store it (8 bytes, or strsize for strings) at `base + off`.
    pub(super) fn store_value(&mut self, v: &TExpr, base: Reg, off: i32) -> Result<(), CodegenError> {
        if v.ty == Ty::Str {
            let loc = self.string(v)?;
            if loc.base != base || loc.off != off {
                self.copy(base, off, loc, self.layout.strsize);
            }
        } else {
            self.int(v)?;
            self.a.emit(Insn::store(Size::DW, base, off as i16, R0));
            if let Ty::Sym { user: true, .. } = v.ty {
                self.pid_tgid();
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
                self.a.emit(Insn::store(Size::DW, base, (off + 8) as i16, R0));
            }
        }
        Ok(())
    }

    pub(super) fn assign(&mut self, place: VarRef, v: &TExpr) -> Result<(), CodegenError> {
        match place {
            VarRef::Global(i) => self.store_value(v, R8, self.layout.globals[i] as i32),
            VarRef::Clause(i) => self.store_value(v, R7, self.layout.clause_vars[i] as i32),
            VarRef::Thread(i) => {
                let buf = self.alloc(self.layout.thread_value);
                self.store_value(v, R7, buf)?;
                self.thread_key(i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::mov(R3, R7));
                self.a.emit(Insn::alu_imm(Alu::Add, R3, buf));
                self.a.emit(Insn::mov_imm(R4, 0));
                self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
                self.count_full_if_failed();
                Ok(())
            }
        }
    }

    /// Build the key of `array` for `keys` in scratch; returns its offset.
    pub(super) fn array_key(&mut self, array: usize, keys: &[TExpr]) -> Result<i32, CodegenError> {
        let (offs, key_size) = self.layout.array_keys[array].clone();
        let key = self.alloc(key_size);
        self.zero_scratch(key, key_size);
        if self.ir.arrays[array].thread {
            self.pid_tgid();
            self.a.emit(Insn::store(Size::DW, R7, key as i16, R0));
        }
        for (k, off) in keys.iter().zip(offs) {
            self.store_value(k, R7, key + off as i32)?;
        }
        Ok(key)
    }

    /// `r1 = map, r2 = &key` for a call on `array`'s map.
    pub(super) fn array_args(&mut self, array: usize, key: i32) {
        self.a.emit_all(Insn::ld_map_fd(R1, self.maps.arrays[array]));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, key));
    }

    /// `a[keys] = value`, or delete the entry when the value is 0 or "".
    pub(super) fn array_set(&mut self, array: usize, keys: &[TExpr], value: &TExpr) -> Result<(), CodegenError> {
        let val = if value.ty == Ty::Str {
            let loc = self.string(value)?;
            if loc.base == R7 {
                loc.off
            } else {
                let off = self.alloc(self.layout.strsize);
                self.copy(R7, off, loc, self.layout.strsize);
                off
            }
        } else {
            let off = self.alloc(8);
            self.int(value)?;
            self.a.emit(Insn::store(Size::DW, R7, off as i16, R0));
            off
        };
        let key = self.array_key(array, keys)?;
        let delete = self.a.label();
        let done = self.a.label();
        let first = if value.ty == Ty::Str { Size::B } else { Size::DW };
        self.a.emit(Insn::load(first, R1, R7, val as i16));
        self.a.jmp_imm(Cond::Eq, R1, 0, delete);
        self.array_args(array, key);
        self.a.emit(Insn::mov(R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, val));
        self.a.emit(Insn::mov_imm(R4, 0));
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        self.count_full_if_failed();
        self.a.goto(done);
        self.a.bind(delete);
        self.array_args(array, key);
        self.a.emit(Insn::call(helper::MAP_DELETE_ELEM));
        self.a.bind(done);
        Ok(())
    }

    /// Look `a[keys]` up: r0 = the value's address, or 0 when absent.
    pub(super) fn array_lookup(&mut self, array: usize, keys: &[TExpr]) -> Result<(), CodegenError> {
        let key = self.array_key(array, keys)?;
        self.array_args(array, key);
        self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        Ok(())
    }
}
