//! Runtime errors: a fault (a bad user address, a division by zero)
//! counted, recorded for `ERROR`, and the jump out of the clause.

use super::*;

impl Gen<'_> {
    /// The `ERROR` clauses, run after clause `faulted` faulted: `r9` is
    /// the `ERROR` probe's id meanwhile.
    pub(super) fn error_clauses(
        &mut self,
        handler: &ErrorHandler,
        faulted: usize,
        out: Label,
    ) -> Result<(), CodegenError> {
        self.a.emit(Insn::store(Size::DW, R10, ERR_PROBE, R9));
        self.a.emit_all(Insn::ld_imm64(R9, handler.id));
        self.in_error = Some(faulted);
        for ci in &handler.clauses {
            let clause = &self.ir.clauses[*ci];
            let skip = self.a.label();
            self.scratch = self.layout.temps;
            if let Some(p) = &clause.predicate {
                self.int(p)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, skip);
            }
            self.stmts(&clause.body, out)?;
            self.a.bind(skip);
        }
        self.in_error = None;
        self.a.emit(Insn::load(Size::DW, R9, R10, ERR_PROBE));
        Ok(())
    }

    /// After a read of user memory at the address in stack slot `addr`:
    /// when it failed (r0 < 0), count the error, keep the address for
    /// `ERROR` and leave the clause; inside `ERROR` clauses, empty the
    /// `n` bytes at `r7 + off` and go on.
    pub(super) fn check_fault(&mut self, addr: i16, off: i32, n: usize) {
        let ok = self.a.label();
        self.a.jmp_imm(Cond::Sge, R0, 0, ok);
        self.count_error();
        match self.fault {
            Some(fault) => {
                self.fault_used = true;
                self.a.emit(Insn::load(Size::DW, R1, R10, addr));
                self.a.emit(Insn::store(Size::DW, R10, ERR_ADDR, R1));
                self.a.emit(Insn::store_imm(Size::DW, R10, ERR_KIND, FAULT_BADADDR));
                self.a.goto(fault);
            }
            None => self.zero_scratch(off, n),
        }
        self.a.bind(ok);
    }

    /// Before `r0 /= r1` or `r0 %= r1`: when `r1` is 0, count the error
    /// and leave the clause as DTrace does (`ERROR` sees fault type
    /// [`FAULT_DIVZERO`], address 0); inside `ERROR` clauses the result is
    /// 0. `r0` and `r1` are untouched when the divisor is not 0.
    pub(super) fn check_divisor(&mut self) -> Result<(), CodegenError> {
        let ok = self.a.label();
        self.a.jmp_imm(Cond::Ne, R1, 0, ok);
        self.bump_counter(counter::DIVZERO);
        match self.fault {
            Some(fault) => {
                self.fault_used = true;
                self.a.emit(Insn::store_imm(Size::DW, R10, ERR_ADDR, 0));
                self.a.emit(Insn::store_imm(Size::DW, R10, ERR_KIND, FAULT_DIVZERO));
                self.a.goto(fault);
                self.a.bind(ok);
            }
            None => {
                let done = self.a.label();
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.emit(Insn::mov_imm(R1, 1));
                self.a.goto(done);
                self.a.bind(ok);
                self.a.bind(done);
            }
        }
        Ok(())
    }
}
