//! Programs of sdtrace's own over the scheduler's tracepoints:
//! `vtimestamp`'s accounting (the `sched_switch` program that keeps each
//! thread's on-CPU time), and the exec watch of system-wide USDT.

use super::*;

/// Bytes of a `vtimestamp` account: the u64 nanoseconds on a CPU before
/// the last switch-in, and the u64 time of that switch-in.
pub const VTIME_VALUE: usize = 16;

/// The `sched_switch` raw-tracepoint program behind `vtimestamp`. For each
/// thread already in the accounts (`vtime`, see [`MapFds::vtime`]): the
/// one switched out adds the time since its switch-in to its total and
/// marks itself off the CPU (`since` 0), the one switched in notes the
/// time. `sched_switch`'s arguments are `(preempt, prev, next, ...)`; the
/// thread ids are read from the tasks at the BTF offset of
/// `task_struct.pid`.
///
/// The kernel does not always report a switch-in: on the 6.18 VM this was
/// written on, about one switch in a few thousand back to a preempted
/// thread reached neither this program nor a perf tracepoint (bpftrace's
/// `tracepoint:sched:sched_switch` missed the same one). Counting from the
/// last switch-in seen would then add the time the thread spent off the
/// CPU. With the mark, such a slice is left out instead: a switch-out
/// finds `since` 0 and adds nothing, and a probe that finds it 0 starts
/// the slice at its own time.
pub fn vtime_program(vtime: i32, task: TaskOffsets) -> Vec<Insn> {
    let mut a = Asm::new();
    a.emit(Insn::mov(R6, R1));
    a.emit(Insn::call(helper::KTIME_GET_NS));
    a.emit(Insn::mov(R7, R0));
    for (arg, switched_in) in [(1, false), (2, true)] {
        let next = a.label();
        // key = task->pid
        a.emit(Insn::store_imm(Size::DW, R10, KEY, 0));
        a.emit(Insn::mov(R1, R10));
        a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(KEY)));
        a.emit(Insn::mov_imm(R2, 4));
        a.emit(Insn::load(Size::DW, R3, R6, 8 * arg));
        a.emit(Insn::alu_imm(Alu::Add, R3, task.pid as i32));
        a.emit(Insn::call(helper::PROBE_READ_KERNEL));
        a.emit(Insn::load(Size::W, R1, R10, KEY));
        a.jmp_imm(Cond::Eq, R1, 0, next); // the idle task
        a.emit_all(Insn::ld_map_fd(R1, vtime));
        a.emit(Insn::mov(R2, R10));
        a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
        a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        a.jmp_imm(Cond::Eq, R0, 0, next);
        if switched_in {
            a.emit(Insn::store(Size::DW, R0, 8, R7));
        } else {
            // total += now - since, unless the switch-in was not seen.
            a.emit(Insn::load(Size::DW, R2, R0, 8));
            a.emit(Insn::store_imm(Size::DW, R0, 8, 0));
            a.jmp_imm(Cond::Eq, R2, 0, next);
            a.emit(Insn::mov(R1, R7));
            a.emit(Insn::alu(Alu::Sub, R1, R2));
            a.emit(Insn::load(Size::DW, R2, R0, 0));
            a.emit(Insn::alu(Alu::Add, R1, R2));
            a.emit(Insn::store(Size::DW, R0, 0, R1));
        }
        a.bind(next);
    }
    a.emit(Insn::mov_imm(R0, 0));
    a.emit(Insn::exit());
    a.finish()
}

/// The `sched_process_exec` raw-tracepoint program that tells sdtrace of
/// every exec (a [`tag::EXECED`] record with the pid, into `ringbuf`), so
/// that a USDT description without `-p` or `-c` finds its probes in
/// programs that start later.
pub fn exec_watch_program(ringbuf: i32) -> Vec<Insn> {
    let mut a = Asm::new();
    a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
    a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
    a.emit(Insn::store(Size::DW, R10, -8, R0));
    a.emit(Insn::store_imm(Size::W, R10, -16, tag::EXECED as i32));
    a.emit(Insn::store_imm(Size::W, R10, -12, 0));
    a.emit_all(Insn::ld_map_fd(R1, ringbuf));
    a.emit(Insn::mov(R2, R10));
    a.emit(Insn::alu_imm(Alu::Add, R2, -16));
    a.emit(Insn::mov_imm(R3, 16));
    a.emit(Insn::mov_imm(R4, 0));
    a.emit(Insn::call(helper::RINGBUF_OUTPUT));
    a.emit(Insn::mov_imm(R0, 0));
    a.emit(Insn::exit());
    a.finish()
}
