//! Expressions: strings into scratch buffers, integers into `r0`,
//! operators with DTrace's typing and division checks.

use super::*;

impl Gen<'_> {
    /// Evaluate a string expression into a location.
    pub(super) fn string(&mut self, e: &TExpr) -> Result<StrLoc, CodegenError> {
        let n = self.layout.strsize;
        match &e.kind {
            TKind::Str(s) => {
                let off = self.alloc(n);
                self.zero_scratch(off, n);
                for (i, b) in s.bytes().take(n - 1).enumerate() {
                    self.a.emit(Insn::store_imm(Size::B, R7, (off + i as i32) as i16, i32::from(b)));
                }
                Ok(StrLoc { base: R7, off })
            }
            TKind::Builtin(Builtin::Execname) => {
                // 16 bytes: strsize is at least 8 and a multiple of 8.
                let off = self.alloc(n.max(16));
                self.zero_scratch(off, n.max(16));
                self.comm(off)?;
                if n < 16 {
                    // Cut to strsize, as the 8-byte read was.
                    self.a.emit(Insn::store_imm(Size::B, R7, (off + n as i32 - 1) as i16, 0));
                    self.zero_scratch(off + n as i32, 16 - n);
                }
                Ok(StrLoc { base: R7, off })
            }
            TKind::Builtin(Builtin::Other(TaskField::Fname)) => {
                let offs = self.process_offsets()?;
                let size = n.max(16);
                let off = self.alloc(size);
                self.zero_scratch(off, size);
                self.other_task(e)?;
                self.a.emit(Insn::mov(R3, R0));
                self.a.emit(Insn::alu_imm(Alu::Add, R3, offs.comm as i32));
                self.a.emit(Insn::mov(R1, R7));
                self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
                self.a.emit(Insn::mov_imm(R2, 16.min(n as i32)));
                self.a.emit(Insn::call(helper::PROBE_READ_KERNEL_STR));
                Ok(StrLoc { base: R7, off })
            }
            TKind::KernelPath(path) => {
                let len = path.string_len.unwrap_or(0).min(n as u32) as i32;
                let off = self.alloc(n);
                self.zero_scratch(off, n);
                self.kernel_base(path);
                self.a.emit(Insn::mov(R3, R0));
                self.a.emit(Insn::alu_imm(Alu::Add, R3, path.offset as i32));
                self.a.emit(Insn::mov(R1, R7));
                self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
                self.a.emit(Insn::mov_imm(R2, len.max(1)));
                self.a.emit(Insn::call(helper::PROBE_READ_KERNEL_STR));
                Ok(StrLoc { base: R7, off })
            }
            TKind::Builtin(Builtin::Psargs) => {
                self.running_thread_only("curpsinfo->pr_psargs (in its user memory)")?;
                self.psargs()
            }
            TKind::Var(VarRef::Global(i)) => Ok(StrLoc { base: R8, off: self.layout.globals[*i] as i32 }),
            TKind::Var(VarRef::Clause(i)) => Ok(StrLoc { base: R7, off: self.layout.clause_vars[*i] as i32 }),
            TKind::Var(VarRef::Thread(i)) => {
                self.thread_key(*i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
                Ok(self.string_from_lookup(n))
            }
            TKind::StrFn(f, args) if *f != StrFn::Index => self.str_fn(*f, args, e),
            TKind::Cond(c, t, f) => {
                let off = self.alloc(n);
                let other = self.a.label();
                let end = self.a.label();
                self.int(c)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, other);
                let loc = self.string(t)?;
                self.copy(R7, off, loc, n);
                self.a.goto(end);
                self.a.bind(other);
                let loc = self.string(f)?;
                self.copy(R7, off, loc, n);
                self.a.bind(end);
                Ok(StrLoc { base: R7, off })
            }
            TKind::ArrayGet(array, keys) => {
                self.array_lookup(*array, keys)?;
                Ok(self.string_from_lookup(n))
            }
            TKind::Copyinstr(addr, len) => {
                self.running_thread_only("user memory (copyinstr, copyin)")?;
                let off = self.alloc(n);
                let slot = self.push()?;
                self.int(addr)?;
                self.a.emit(Insn::store(Size::DW, R10, slot, R0));
                match len {
                    Some(l) => {
                        self.int(l)?;
                        let ok = self.a.label();
                        let pos = self.a.label();
                        self.a.jmp_imm(Cond::Sge, R0, 0, pos);
                        self.a.emit(Insn::mov_imm(R0, 0));
                        self.a.bind(pos);
                        self.a.jmp_imm(Cond::Le, R0, (n - 1) as i32, ok);
                        self.a.emit(Insn::mov_imm(R0, (n - 1) as i32));
                        self.a.bind(ok);
                        self.zero_scratch(off, n);
                        self.a.emit(Insn::mov(R2, R0));
                        self.a.emit(Insn::mov(R1, R7));
                        self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
                        self.a.emit(Insn::load(Size::DW, R3, R10, slot));
                        self.a.emit(Insn::call(helper::PROBE_READ_USER));
                    }
                    None => {
                        self.zero_scratch(off, n);
                        self.a.emit(Insn::mov(R1, R7));
                        self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
                        self.a.emit(Insn::mov_imm(R2, n as i32));
                        self.a.emit(Insn::load(Size::DW, R3, R10, slot));
                        self.a.emit(Insn::call(helper::PROBE_READ_USER_STR));
                    }
                }
                self.check_fault(slot, off, n);
                self.pop();
                Ok(StrLoc { base: R7, off })
            }
            _ => self.err(e, "this string expression is not supported yet"),
        }
    }

    /// Evaluate an integer (or probe id) expression into r0.
    pub(super) fn int(&mut self, e: &TExpr) -> Result<(), CodegenError> {
        match &e.kind {
            TKind::Int(v) => {
                if let Ok(imm) = i32::try_from(*v) {
                    self.a.emit(Insn::mov_imm(R0, imm));
                } else {
                    self.a.emit_all(Insn::ld_imm64(R0, *v as u64));
                }
            }
            TKind::Builtin(b) => self.builtin(*b, e)?,
            TKind::Var(VarRef::Global(i)) => self.a.emit(Insn::load(Size::DW, R0, R8, self.layout.globals[*i] as i16)),
            TKind::Var(VarRef::Clause(i)) => {
                self.a.emit(Insn::load(Size::DW, R0, R7, self.layout.clause_vars[*i] as i16))
            }
            TKind::Var(VarRef::Thread(i)) => {
                let done = self.a.label();
                self.thread_key(*i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
                self.a.jmp_imm(Cond::Eq, R0, 0, done);
                self.a.emit(Insn::load(Size::DW, R0, R0, 0));
                self.a.bind(done);
            }
            TKind::StrFn(StrFn::Index, args) => self.index(args, e)?,
            TKind::Progenyof(p) => self.progenyof(p)?,
            TKind::Stack => self.stack_id(e)?,
            TKind::Speculation => self.speculation()?,
            TKind::ArrayGet(array, keys) => {
                let done = self.a.label();
                self.array_lookup(*array, keys)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, done);
                self.a.emit(Insn::load(Size::DW, R0, R0, 0));
                self.a.bind(done);
            }
            TKind::Unary(op, x) => {
                self.int(x)?;
                match op {
                    UnaryOp::Neg => {
                        self.a.emit(Insn::mov_imm(R1, 0));
                        self.a.emit(Insn::alu(Alu::Sub, R1, R0));
                        self.a.emit(Insn::mov(R0, R1));
                    }
                    UnaryOp::BitNot => self.a.emit(Insn::alu_imm(Alu::Xor, R0, -1)),
                    UnaryOp::Not => self.bool_of(Cond::Eq),
                    _ => return self.err(e, "unsupported operator"),
                }
            }
            TKind::KernelPath(path) => {
                self.kernel_base(path);
                self.read_kernel(R0, path.offset as i32, path.size);
                if path.signed && path.size < 8 {
                    let shift = 64 - 8 * i32::from(path.size);
                    self.a.emit(Insn::alu_imm(Alu::Lsh, R0, shift));
                    self.a.emit(Insn::alu_imm(Alu::Arsh, R0, shift));
                }
            }
            TKind::Symbol(addr) => {
                if let Ty::Sym { user: true, .. } = e.ty {
                    self.running_thread_only("user symbols")?;
                }
                self.int(addr)?;
            }
            TKind::Cast(x) => {
                self.int(x)?;
                if let Ty::Int { size, signed } = e.ty {
                    if size < 8 {
                        let bits = 64 - 8 * i32::from(size);
                        self.a.emit(Insn::alu_imm(Alu::Lsh, R0, bits));
                        self.a.emit(Insn::alu_imm(if signed { Alu::Arsh } else { Alu::Rsh }, R0, bits));
                    }
                }
            }
            TKind::Binary(op, l, r) => self.binary(*op, l, r)?,
            TKind::Cond(c, t, f) => {
                let other = self.a.label();
                let end = self.a.label();
                self.int(c)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, other);
                self.int(t)?;
                self.a.goto(end);
                self.a.bind(other);
                self.int(f)?;
                self.a.bind(end);
            }
            TKind::ProbeIs { field, text, negate } => {
                let yes = self.a.label();
                let end = self.a.label();
                let ids: Vec<u64> =
                    self.spec.ids.iter().copied().filter(|id| self.names.field(*id, *field) == *text).collect();
                if ids.is_empty() {
                    // No probe of this program has that name: a constant
                    // (the verifier refuses the unreachable branch).
                    self.a.emit(Insn::mov_imm(R0, i32::from(*negate)));
                    return Ok(());
                }
                for id in ids {
                    self.jmp_id(Cond::Eq, id, yes);
                }
                self.a.emit(Insn::mov_imm(R0, i32::from(*negate)));
                self.a.goto(end);
                self.a.bind(yes);
                self.a.emit(Insn::mov_imm(R0, i32::from(!*negate)));
                self.a.bind(end);
            }
            TKind::StrCmp(op, l, r) => {
                let lo = self.string(l)?;
                let ro = self.string(r)?;
                let differ = self.a.label();
                let same = self.a.label();
                let end = self.a.label();
                for i in 0..self.layout.strsize as i32 {
                    self.a.emit(Insn::load(Size::B, R1, lo.base, (lo.off + i) as i16));
                    self.a.emit(Insn::load(Size::B, R2, ro.base, (ro.off + i) as i16));
                    self.a.jmp_reg(Cond::Ne, R1, R2, differ);
                    self.a.jmp_imm(Cond::Eq, R1, 0, same);
                }
                self.a.goto(same);
                self.a.bind(differ);
                self.a.emit(Insn::mov_imm(R0, i32::from(*op == BinOp::Ne)));
                self.a.goto(end);
                self.a.bind(same);
                self.a.emit(Insn::mov_imm(R0, i32::from(*op == BinOp::Eq)));
                self.a.bind(end);
            }
            TKind::Strlen(s) => {
                let loc = self.string(s)?;
                let end = self.a.label();
                let n = self.layout.strsize as i32;
                for i in 0..n {
                    self.a.emit(Insn::load(Size::B, R1, loc.base, (loc.off + i) as i16));
                    self.a.emit(Insn::mov_imm(R0, i));
                    self.a.jmp_imm(Cond::Eq, R1, 0, end);
                }
                self.a.emit(Insn::mov_imm(R0, n));
                self.a.bind(end);
            }
            TKind::Str(_) | TKind::Copyinstr(..) | TKind::StrFn(..) => {
                return self.err(e, "a string where an integer is needed")
            }
        }
        Ok(())
    }

    /// r0 = (r0 cond 0).
    pub(super) fn bool_of(&mut self, cond: Cond) {
        let t = self.a.label();
        let end = self.a.label();
        self.a.jmp_imm(cond, R0, 0, t);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.goto(end);
        self.a.bind(t);
        self.a.emit(Insn::mov_imm(R0, 1));
        self.a.bind(end);
    }

    pub(super) fn binary(&mut self, op: BinOp, l: &TExpr, r: &TExpr) -> Result<(), CodegenError> {
        if matches!(op, BinOp::LogAnd | BinOp::LogOr) {
            let end = self.a.label();
            self.int(l)?;
            self.bool_of(Cond::Ne);
            self.a.jmp_imm(if op == BinOp::LogAnd { Cond::Eq } else { Cond::Ne }, R0, 0, end);
            self.int(r)?;
            self.bool_of(Cond::Ne);
            self.a.bind(end);
            return Ok(());
        }
        let slot = self.push()?;
        self.int(l)?;
        self.a.emit(Insn::store(Size::DW, R10, slot, R0));
        self.int(r)?;
        self.a.emit(Insn::mov(R1, R0));
        self.a.emit(Insn::load(Size::DW, R0, R10, slot));
        self.pop();
        let signed = matches!(l.ty, Ty::Int { signed: true, .. }) && matches!(r.ty, Ty::Int { signed: true, .. });
        let alu = |op| Insn::alu(op, R0, R1);
        match op {
            BinOp::Add => self.a.emit(alu(Alu::Add)),
            BinOp::Sub => self.a.emit(alu(Alu::Sub)),
            BinOp::Mul => self.a.emit(alu(Alu::Mul)),
            BinOp::Div | BinOp::Mod => {
                let a = if op == BinOp::Div { Alu::Div } else { Alu::Mod };
                self.check_divisor()?;
                self.a.emit(if signed { Insn::alu_signed(a, R0, R1) } else { alu(a) });
            }
            BinOp::BitAnd => self.a.emit(alu(Alu::And)),
            BinOp::BitOr => self.a.emit(alu(Alu::Or)),
            BinOp::BitXor => self.a.emit(alu(Alu::Xor)),
            BinOp::Shl => self.a.emit(alu(Alu::Lsh)),
            BinOp::Shr => self.a.emit(alu(if signed { Alu::Arsh } else { Alu::Rsh })),
            BinOp::LogXor => {
                self.bool_of(Cond::Ne);
                self.a.emit(Insn::mov(R2, R0));
                self.a.emit(Insn::mov(R0, R1));
                self.bool_of(Cond::Ne);
                self.a.emit(Insn::alu(Alu::Xor, R0, R2));
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let cond = match (op, signed) {
                    (BinOp::Eq, _) => Cond::Eq,
                    (BinOp::Ne, _) => Cond::Ne,
                    (BinOp::Lt, true) => Cond::Slt,
                    (BinOp::Lt, false) => Cond::Lt,
                    (BinOp::Le, true) => Cond::Sle,
                    (BinOp::Le, false) => Cond::Le,
                    (BinOp::Gt, true) => Cond::Sgt,
                    (BinOp::Gt, false) => Cond::Gt,
                    (_, true) => Cond::Sge,
                    (_, false) => Cond::Ge,
                };
                let t = self.a.label();
                let end = self.a.label();
                self.a.jmp_reg(cond, R0, R1, t);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.goto(end);
                self.a.bind(t);
                self.a.emit(Insn::mov_imm(R0, 1));
                self.a.bind(end);
            }
            BinOp::LogAnd | BinOp::LogOr => unreachable!("handled above"),
        }
        Ok(())
    }
}
