//! The stack and scratch space, counters, and records to the ring
//! buffer: the plumbing every statement uses.

use super::*;

impl Gen<'_> {
    pub(super) fn push(&mut self) -> Result<i16, CodegenError> {
        if self.depth >= MAX_DEPTH {
            return Err(CodegenError("expression too deep for the BPF stack".into()));
        }
        self.depth += 1;
        Ok(TEMPS - 8 * (self.depth - 1))
    }

    pub(super) fn pop(&mut self) {
        self.depth -= 1;
    }

    pub(super) fn alloc(&mut self, bytes: usize) -> i32 {
        let at = self.scratch;
        self.scratch += bytes.div_ceil(8) * 8;
        self.scratch_high = self.scratch_high.max(self.scratch);
        at as i32
    }

    pub(super) fn zero_scratch(&mut self, off: i32, bytes: usize) {
        for k in (0..bytes).step_by(8) {
            self.a.emit(Insn::store_imm(Size::DW, R7, (off + k as i32) as i16, 0));
        }
    }

    /// The `n`-byte string value a map lookup left in R0, copied to fresh
    /// scratch; "" when R0 is null (a missing key or thread-local).
    pub(super) fn string_from_lookup(&mut self, n: usize) -> StrLoc {
        let off = self.alloc(n);
        let found = self.a.label();
        let done = self.a.label();
        self.a.jmp_imm(Cond::Ne, R0, 0, found);
        self.zero_scratch(off, n);
        self.a.goto(done);
        self.a.bind(found);
        self.copy(R7, off, StrLoc { base: R0, off: 0 }, n);
        self.a.bind(done);
        StrLoc { base: R7, off }
    }

    /// `dst = memcpy(src, n)` between map values: `bpf_probe_read_kernel`.
    pub(super) fn copy(&mut self, dst_base: Reg, dst_off: i32, src: StrLoc, n: usize) {
        self.a.emit(Insn::mov(R1, dst_base));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, dst_off));
        self.a.emit(Insn::mov_imm(R2, n as i32));
        self.a.emit(Insn::mov(R3, src.base));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, src.off));
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL));
    }

    /// Add one to this CPU's counter `index` (see [`counter`]), atomically:
    /// a timer program may interrupt the update.
    pub(super) fn bump_counter(&mut self, index: i32) {
        let done = self.a.label();
        self.lookup_key(self.maps.counters, index);
        self.a.jmp_imm(Cond::Eq, R0, 0, done);
        self.a.emit(Insn::mov_imm(R1, 1));
        self.a.emit(Insn::atomic_fetch_add(R0, 0, R1));
        self.a.bind(done);
    }

    pub(super) fn count_error(&mut self) {
        self.bump_counter(counter::ERRORS);
    }

    /// After storing into a hash map: count a lost value when it failed
    /// (r0 < 0: the map is full).
    pub(super) fn count_full_if_failed(&mut self) {
        let ok = self.a.label();
        self.a.jmp_imm(Cond::Sge, R0, 0, ok);
        self.bump_counter(counter::FULL);
        self.a.bind(ok);
    }

    /// After a ring buffer output: count a drop when it failed (r0 < 0).
    pub(super) fn count_drop_if_failed(&mut self) {
        let ok = self.a.label();
        self.a.jmp_imm(Cond::Sge, R0, 0, ok);
        self.bump_counter(counter::DROPS);
        self.a.bind(ok);
    }

    /// Build the thread-local key `{tid, var}` on the stack.
    pub(super) fn thread_key(&mut self, var: usize) {
        self.pid_tgid();
        self.a.emit(Insn::store(Size::DW, R10, KEY, R0));
        self.a.emit(Insn::store_imm(Size::DW, R10, KEY + 8, var as i32));
    }

    pub(super) fn thread_fd(&self) -> i32 {
        self.maps.thread.expect("a thread-local map when thread-locals exist")
    }

    pub(super) fn output(&mut self, off: i32, size: usize) {
        if self.speculative {
            // The record behind a header that names the speculation.
            let wrapped = self.alloc(size + 16);
            self.a.emit(Insn::store_imm(Size::W, R7, wrapped as i16, tag::SPECULATIVE as i32));
            self.a.emit(Insn::store_imm(Size::W, R7, (wrapped + 4) as i16, 0));
            self.a.emit(Insn::load(Size::DW, R1, R10, SPEC_ID));
            self.a.emit(Insn::store(Size::DW, R7, (wrapped + 8) as i16, R1));
            self.copy(R7, wrapped + 16, StrLoc { base: R7, off }, size);
            self.send(wrapped, size + 16);
            return;
        }
        self.send(off, size);
    }

    pub(super) fn send(&mut self, off: i32, size: usize) {
        self.a.emit_all(Insn::ld_map_fd(R1, self.maps.ringbuf));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, off));
        self.a.emit(Insn::mov_imm(R3, size as i32));
        self.a.emit(Insn::mov_imm(R4, 1)); // BPF_RB_NO_WAKEUP
        self.a.emit(Insn::call(helper::RINGBUF_OUTPUT));
        self.count_drop_if_failed();
    }

    pub(super) fn header(&mut self, off: i32, tag: u32, id: u32) {
        self.a.emit(Insn::store_imm(Size::W, R7, off as i16, tag as i32));
        self.a.emit(Insn::store_imm(Size::W, R7, (off + 4) as i16, id as i32));
    }
}
