//! Aggregations (histogram buckets, values kept per CPU), stacks as
//! aggregation keys, and speculations.

use super::*;

impl Gen<'_> {
    /// r0 = the histogram bucket of r0, as [`super::sema::quantize_bucket`] or
    /// [`AggFunc::Lquantize`] define it. Clobbers r1 and r2.
    pub(super) fn bucket(&mut self, func: AggFunc) {
        match func {
            AggFunc::Lquantize { lo, hi, step } => {
                let n = (hi - lo) / step;
                let under = self.a.label();
                let over = self.a.label();
                let done = self.a.label();
                self.a.emit_all(Insn::ld_imm64(R1, lo as u64));
                self.a.jmp_reg(Cond::Slt, R0, R1, under);
                self.a.emit_all(Insn::ld_imm64(R2, (lo + n * step) as u64));
                self.a.jmp_reg(Cond::Sge, R0, R2, over);
                // lo <= r0 < lo + n * step: unsigned division is right.
                self.a.emit(Insn::alu(Alu::Sub, R0, R1));
                self.a.emit_all(Insn::ld_imm64(R1, step as u64));
                self.a.emit(Insn::alu(Alu::Div, R0, R1));
                self.a.emit(Insn::alu_imm(Alu::Add, R0, 1));
                self.a.goto(done);
                self.a.bind(under);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.goto(done);
                self.a.bind(over);
                self.a.emit(Insn::mov_imm(R0, (n + 1) as i32));
                self.a.bind(done);
            }
            AggFunc::Llquantize { factor, low, high, nsteps } => {
                // Magnitude by magnitude: the first whose end is above r0
                // holds it; below factor^low is bucket 0.
                let done = self.a.label();
                let first = factor.pow(low);
                self.a.emit(Insn::mov_imm(R2, 0));
                self.a.emit_all(Insn::ld_imm64(R1, first as u64));
                self.a.jmp_reg(Cond::Slt, R0, R1, done);
                let mut base = 1i64;
                for m in low..=high {
                    let from = factor.pow(m);
                    let to = factor.pow(m + 1);
                    let step = (to / nsteps).max(1);
                    let next = self.a.label();
                    self.a.emit_all(Insn::ld_imm64(R1, to as u64));
                    self.a.jmp_reg(Cond::Sge, R0, R1, next);
                    self.a.emit(Insn::mov(R2, R0));
                    self.a.emit_all(Insn::ld_imm64(R1, from as u64));
                    self.a.emit(Insn::alu(Alu::Sub, R2, R1));
                    self.a.emit_all(Insn::ld_imm64(R1, step as u64));
                    self.a.emit(Insn::alu(Alu::Div, R2, R1));
                    self.a.emit_all(Insn::ld_imm64(R1, base as u64));
                    self.a.emit(Insn::alu(Alu::Add, R2, R1));
                    self.a.goto(done);
                    self.a.bind(next);
                    base += (to - from - 1) / step + 1;
                }
                self.a.emit_all(Insn::ld_imm64(R2, base as u64));
                self.a.bind(done);
                self.a.emit(Insn::mov(R0, R2));
            }
            _ => {
                // Bucket = floor(log2 |x|) + 1, negated for negative x:
                // a binary search over the bit length.
                let done = self.a.label();
                let positive = self.a.label();
                self.a.jmp_imm(Cond::Eq, R0, 0, done);
                self.a.emit(Insn::mov_imm(R2, 1));
                self.a.jmp_imm(Cond::Sgt, R0, 0, positive);
                self.a.emit(Insn::mov_imm(R2, -1));
                self.a.emit(Insn::alu_imm(Alu::Mul, R0, -1));
                self.a.bind(positive);
                // r1 = bit length of r0 (unsigned), r0 >= 1.
                self.a.emit(Insn::mov_imm(R1, 1));
                for shift in [32, 16, 8, 4, 2, 1] {
                    let skip = self.a.label();
                    self.a.emit(Insn::mov(R3, R0));
                    self.a.emit(Insn::alu_imm(Alu::Rsh, R3, shift));
                    self.a.jmp_imm(Cond::Eq, R3, 0, skip);
                    self.a.emit(Insn::mov(R0, R3));
                    self.a.emit(Insn::alu_imm(Alu::Add, R1, shift));
                    self.a.bind(skip);
                }
                self.a.emit(Insn::mov(R0, R1));
                self.a.emit(Insn::alu(Alu::Mul, R0, R2));
                self.a.bind(done);
            }
        }
    }

    pub(super) fn aggregate(&mut self, agg: usize, keys: &[TExpr], value: Option<&TExpr>) -> Result<(), CodegenError> {
        let (offs, key_size) = self.layout.agg_keys[agg].clone();
        let key = self.alloc(key_size);
        self.zero_scratch(key, key_size);
        let slot_tys = self.ir.aggs[agg].keys.clone();
        for ((k, off), slot_ty) in keys.iter().zip(offs).zip(slot_tys) {
            let at = key + off as i32;
            match k.ty {
                // A probe name where other uses of the aggregation put strings.
                Ty::Probe(field) if slot_ty == Ty::Str => {
                    self.int(k)?;
                    self.a.emit(Insn::store_imm(Size::B, R7, (at + 1) as i16, i32::from(PROBE_IN_STRING)));
                    self.a.emit(Insn::store_imm(Size::B, R7, (at + 2) as i16, i32::from(probe_field_code(field))));
                    self.a.emit(Insn::store(Size::W, R7, (at + 4) as i16, R0));
                }
                _ => self.store_value(k, R7, at)?,
            }
        }
        let slot = self.push()?;
        if let Some(v) = value {
            self.int(v)?;
            self.a.emit(Insn::store(Size::DW, R10, slot, R0));
        }
        let func = self.ir.aggs[agg].func;
        if func.is_histogram() {
            // The value's bucket is the last key; the value counts.
            let last = *self.layout.agg_keys[agg].0.last().expect("a histogram has a bucket key") as i32;
            self.bucket(func);
            self.a.emit(Insn::store(Size::DW, R7, (key + last) as i16, R0));
        }
        let fd = self.maps.aggs[agg];
        let have = self.a.label();
        let done = self.a.label();
        let lookup = |g: &mut Self| {
            g.a.emit_all(Insn::ld_map_fd(R1, fd));
            g.a.emit(Insn::mov(R2, R7));
            g.a.emit(Insn::alu_imm(Alu::Add, R2, key));
            g.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        };
        lookup(self);
        self.a.jmp_imm(Cond::Ne, R0, 0, have);
        let zero = self.alloc(AGG_VALUE);
        self.zero_scratch(zero, AGG_VALUE);
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, key));
        self.a.emit(Insn::mov(R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, zero));
        self.a.emit(Insn::mov_imm(R4, 1)); // BPF_NOEXIST
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        lookup(self);
        // Still not there: the map is full; the value is counted as lost.
        self.a.jmp_imm(Cond::Ne, R0, 0, have);
        self.bump_counter(counter::FULL);
        self.a.goto(done);
        self.a.bind(have);
        self.a.emit(Insn::load(Size::DW, R1, R0, 0));
        match func {
            AggFunc::Count | AggFunc::Quantize | AggFunc::Lquantize { .. } | AggFunc::Llquantize { .. } => {
                self.a.emit(Insn::alu_imm(Alu::Add, R1, 1))
            }
            AggFunc::Stddev => {
                // Sum and count, then |x|^2 added to the 128-bit sum of
                // squares in slots 2 (low) and 3 (high), from 32-bit halves.
                self.a.emit(Insn::load(Size::DW, R2, R10, slot));
                self.a.emit(Insn::alu(Alu::Add, R1, R2));
                self.a.emit(Insn::load(Size::DW, R3, R0, 8));
                self.a.emit(Insn::alu_imm(Alu::Add, R3, 1));
                self.a.emit(Insn::store(Size::DW, R0, 8, R3));
                let pos = self.a.label();
                self.a.jmp_imm(Cond::Sge, R2, 0, pos);
                self.a.emit(Insn::alu_imm(Alu::Mul, R2, -1));
                self.a.bind(pos);
                self.a.emit(Insn::mov(R3, R2));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R3, 32));
                self.a.emit(Insn::alu_imm(Alu::Lsh, R2, 32));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R2, 32));
                // lo * lo.
                self.a.emit(Insn::mov(R4, R2));
                self.a.emit(Insn::alu(Alu::Mul, R4, R2));
                self.add_low_128(R4);
                // 2 * hi * lo * 2^32: cross << 33 low, cross >> 31 high.
                self.a.emit(Insn::mov(R4, R3));
                self.a.emit(Insn::alu(Alu::Mul, R4, R2));
                self.a.emit(Insn::mov(R2, R4));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R2, 31));
                self.a.emit(Insn::alu_imm(Alu::Lsh, R4, 33));
                self.add_low_128(R4);
                // hi * hi * 2^64.
                self.a.emit(Insn::load(Size::DW, R5, R0, 24));
                self.a.emit(Insn::alu(Alu::Add, R5, R2));
                self.a.emit(Insn::mov(R2, R3));
                self.a.emit(Insn::alu(Alu::Mul, R2, R3));
                self.a.emit(Insn::alu(Alu::Add, R5, R2));
                self.a.emit(Insn::store(Size::DW, R0, 24, R5));
            }
            AggFunc::Sum | AggFunc::Avg => {
                self.a.emit(Insn::load(Size::DW, R2, R10, slot));
                self.a.emit(Insn::alu(Alu::Add, R1, R2));
                if func == AggFunc::Avg {
                    self.a.emit(Insn::load(Size::DW, R3, R0, 8));
                    self.a.emit(Insn::alu_imm(Alu::Add, R3, 1));
                    self.a.emit(Insn::store(Size::DW, R0, 8, R3));
                }
            }
            AggFunc::Min | AggFunc::Max => {
                // Slot 1 says whether slot 0 holds a value yet.
                let take = self.a.label();
                let keep = self.a.label();
                self.a.emit(Insn::load(Size::DW, R2, R10, slot));
                self.a.emit(Insn::load(Size::DW, R3, R0, 8));
                self.a.jmp_imm(Cond::Eq, R3, 0, take);
                let better = if func == AggFunc::Min { Cond::Slt } else { Cond::Sgt };
                self.a.jmp_reg(better, R2, R1, take);
                self.a.goto(keep);
                self.a.bind(take);
                self.a.emit(Insn::mov(R1, R2));
                self.a.emit(Insn::store_imm(Size::DW, R0, 8, 1));
                self.a.bind(keep);
            }
        }
        self.a.emit(Insn::store(Size::DW, R0, 0, R1));
        self.a.bind(done);
        self.pop();
        Ok(())
    }

    /// r0 = the stack of `e` (`stack()` or `ustack()`): its id in the
    /// stack-trace map (negative when the kernel could not take it), with
    /// the process id in the upper 32 bits for a user stack.
    pub(super) fn stack_id(&mut self, e: &TExpr) -> Result<(), CodegenError> {
        let Ty::Stack { user, .. } = e.ty else { return self.err(e, "not a stack") };
        let Some(fd) = self.maps.stacks else { return self.err(e, "no stack map") };
        self.running_thread_only("stacks")?;
        self.a.emit(Insn::mov(R1, R6));
        self.a.emit_all(Insn::ld_map_fd(R2, fd));
        // BPF_F_USER_STACK.
        self.a.emit(Insn::mov_imm(R3, if user { 1 << 8 } else { 0 }));
        self.a.emit(Insn::call(helper::GET_STACKID));
        if user {
            let slot = self.push()?;
            self.a.emit(Insn::store(Size::DW, R10, slot, R0));
            self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
            self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
            self.a.emit(Insn::load(Size::DW, R1, R10, slot));
            self.a.emit(Insn::alu_imm(Alu::Lsh, R1, 32));
            self.a.emit(Insn::alu_imm(Alu::Rsh, R1, 32));
            self.a.emit(Insn::alu(Alu::Or, R0, R1));
            self.pop();
        }
        Ok(())
    }

    /// r0 = the speculation counters (last id, active); to `missing` when
    /// the lookup fails.
    pub(super) fn speculation_counters(&mut self, missing: Label) {
        let fd = self.maps.speculations.expect("speculations use a map");
        let key = self.alloc(8);
        self.a.emit(Insn::store_imm(Size::DW, R7, key as i16, 0));
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, key));
        self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        self.a.jmp_imm(Cond::Eq, R0, 0, missing);
    }

    pub(super) fn active_speculations(&self) -> i32 {
        self.maps.active_speculations.expect("speculations use a map")
    }

    /// r0 = `speculation()`: a new id, or 0 when `nspec` are active.
    pub(super) fn speculation(&mut self) -> Result<(), CodegenError> {
        let done = self.a.label();
        let full = self.a.label();
        let none = self.a.label();
        self.speculation_counters(none);
        self.a.emit(Insn::mov_imm(R1, 1));
        self.a.emit(Insn::atomic_fetch_add(R0, 8, R1));
        self.a.jmp_imm(Cond::Sge, R1, self.layout.nspec as i32, full);
        self.a.emit(Insn::mov_imm(R1, 1));
        self.a.emit(Insn::atomic_fetch_add(R0, 0, R1));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, 1));
        // Noted as active until it ends.
        let id = self.push()?;
        self.a.emit(Insn::store(Size::DW, R10, id, R1));
        self.a.emit_all(Insn::ld_map_fd(R1, self.active_speculations()));
        self.a.emit(Insn::mov(R2, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(id)));
        self.a.emit(Insn::mov(R3, R2));
        self.a.emit(Insn::mov_imm(R4, 0)); // BPF_ANY
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        // An id that could not be noted could never end: give it up.
        let noted = self.a.label();
        self.a.jmp_imm(Cond::Eq, R0, 0, noted);
        self.speculation_counters(none);
        self.a.goto(full);
        self.a.bind(noted);
        self.a.emit(Insn::load(Size::DW, R0, R10, id));
        self.pop();
        self.a.goto(done);
        self.a.bind(full);
        self.a.emit(Insn::mov_imm(R1, -1));
        self.a.emit(Insn::atomic_fetch_add(R0, 8, R1));
        self.a.bind(none);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.bind(done);
        Ok(())
    }

    /// Add `r` to the 128-bit value in slots 2 and 3 of the aggregation
    /// value at r0, carrying into the high half. Clobbers `r` and r5.
    pub(super) fn add_low_128(&mut self, r: Reg) {
        let no_carry = self.a.label();
        self.a.emit(Insn::load(Size::DW, R5, R0, 16));
        self.a.emit(Insn::alu(Alu::Add, r, R5));
        self.a.emit(Insn::store(Size::DW, R0, 16, r));
        self.a.jmp_reg(Cond::Ge, r, R5, no_carry);
        self.a.emit(Insn::load(Size::DW, R5, R0, 24));
        self.a.emit(Insn::alu_imm(Alu::Add, R5, 1));
        self.a.emit(Insn::store(Size::DW, R0, 24, R5));
        self.a.bind(no_carry);
    }
}
