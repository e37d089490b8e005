//! What the probe context holds: which probe fired, the built-in
//! variables (`pid`, `timestamp`, `vtimestamp`, ...), and `argN` read per
//! attachment context (USDT argument plans, syscall and timer registers).

use super::*;

impl Gen<'_> {
    pub(super) fn probe_id(&mut self, out: Label) -> Result<(), CodegenError> {
        match &self.spec.context {
            Context::Usdt(_) => {
                self.a.emit(Insn::mov(R1, R6));
                self.a.emit(Insn::call(helper::GET_ATTACH_COOKIE));
                self.a.emit(Insn::mov(R9, R0));
            }
            Context::SyscallEntry { base } | Context::SyscallReturn { base } => {
                if matches!(self.spec.context, Context::SyscallEntry { .. }) {
                    // ctx->args[1] is the syscall number.
                    self.a.emit(Insn::load(Size::DW, R9, R6, 8));
                } else {
                    // regs->orig_ax holds it on the way out.
                    self.read_kernel_regs(120);
                    self.a.emit(Insn::mov(R9, R0));
                }
                self.a.jmp_imm(Cond::Sge, R9, syscall_count() as i32, out);
                self.a.jmp_imm(Cond::Slt, R9, 0, out);
                self.a.emit_all(Insn::ld_imm64(R1, *base));
                self.a.emit(Insn::alu(Alu::Add, R9, R1));
            }
            Context::Special(id) | Context::Timer(id) => self.a.emit_all(Insn::ld_imm64(R9, *id)),
            Context::Tracepoint(id, probe) => {
                match probe {
                    TracepointProbe::ExecSuccess
                    | TracepointProbe::OnCpu
                    | TracepointProbe::OffCpu
                    | TracepointProbe::SignalSend
                    | TracepointProbe::Wakeup => {}
                    TracepointProbe::Exit if self.layout.kernel.exit_has_group_dead => {
                        // ctx->args[1] is group_dead: the last thread is leaving.
                        self.a.emit(Insn::load(Size::DW, R0, R6, 8));
                        self.a.emit(Insn::alu_imm(Alu::And, R0, 0xff));
                        self.a.jmp_imm(Cond::Eq, R0, 0, out);
                    }
                    TracepointProbe::Exit => {
                        // Older kernels: when the thread-group leader exits.
                        self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
                        self.a.emit(Insn::mov(R1, R0));
                        self.a.emit(Insn::alu_imm(Alu::Rsh, R1, 32));
                        self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                        self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
                        self.a.jmp_reg(Cond::Ne, R0, R1, out);
                    }
                    TracepointProbe::Create => {
                        // A new process, not a new thread: child->pid == child->tgid.
                        let task = self.task_offsets()?;
                        self.a.emit(Insn::load(Size::DW, R3, R6, 8));
                        self.read_kernel(R3, task.pid as i32, 4);
                        self.a.emit(Insn::store(Size::DW, R10, KEY, R0));
                        self.a.emit(Insn::load(Size::DW, R3, R6, 8));
                        self.read_kernel(R3, task.tgid as i32, 4);
                        self.a.emit(Insn::load(Size::DW, R1, R10, KEY));
                        self.a.jmp_reg(Cond::Ne, R0, R1, out);
                    }
                }
                self.a.emit_all(Insn::ld_imm64(R9, *id));
            }
        }
        Ok(())
    }

    /// Whether the program's built-ins are about the thread coming onto the
    /// CPU (`sched:::on-cpu`), not the one running.
    pub(super) fn about_next(&self) -> bool {
        matches!(self.spec.context, Context::Tracepoint(_, TracepointProbe::OnCpu))
    }

    /// Refuse `what` in `sched:::on-cpu`, where only the thread leaving the
    /// CPU could give it: reading it there would describe the wrong thread.
    pub(super) fn running_thread_only(&self, what: &str) -> Result<(), CodegenError> {
        if self.about_next() {
            return Err(CodegenError(format!(
                "sched:::on-cpu is about the thread coming onto the CPU, which is not running yet: {what} cannot be \
                 read there (sched:::off-cpu, in the thread leaving, can)"
            )));
        }
        Ok(())
    }

    /// `sched:::on-cpu`'s prologue: the `pid_tgid` of `next`
    /// (`ctx->args[2]`) into [`SCRATCH_THREAD`].
    pub(super) fn next_thread_prologue(&mut self) -> Result<(), CodegenError> {
        let task = self.task_offsets()?;
        self.a.emit(Insn::load(Size::DW, R3, R6, 16));
        self.read_kernel(R3, task.tgid as i32, 4);
        self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
        self.a.emit(Insn::store(Size::DW, R7, SCRATCH_THREAD, R0));
        self.a.emit(Insn::load(Size::DW, R3, R6, 16));
        self.read_kernel(R3, task.pid as i32, 4);
        self.a.emit(Insn::load(Size::DW, R1, R7, SCRATCH_THREAD));
        self.a.emit(Insn::alu(Alu::Or, R0, R1));
        self.a.emit(Insn::store(Size::DW, R7, SCRATCH_THREAD, R0));
        Ok(())
    }

    /// `r0` = the `pid_tgid` of the thread the probe is about.
    pub(super) fn pid_tgid(&mut self) {
        if self.about_next() {
            self.a.emit(Insn::load(Size::DW, R0, R7, SCRATCH_THREAD));
        } else {
            self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
        }
    }

    /// `r0 = ucaller` in a pid provider program: on entry the return
    /// address at the stack pointer (the function has pushed nothing yet),
    /// on return (a uretprobe) the instruction pointer, which is then the
    /// return address. Other probes do not know their caller: an error.
    pub(super) fn ucaller(&mut self, e: &TExpr) -> Result<(), CodegenError> {
        let Context::Usdt(_) = self.spec.context else {
            return self
                .err(e, "ucaller is known only in pid provider probes (pidPID:MODULE:FUNCTION:entry or :return)");
        };
        let (mut entries, mut returns) = (Vec::new(), Vec::new());
        for &id in &self.spec.ids {
            let provider = self.names.field(id, ProbeField::Provider);
            let name = self.names.field(id, ProbeField::Name);
            let pid_provider =
                provider.strip_prefix("pid").is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            match name.as_str() {
                "entry" if pid_provider => entries.push(id),
                "return" if pid_provider => returns.push(id),
                _ => {
                    return self.err(
                        e,
                        "ucaller is known only in pid provider probes (pidPID:MODULE:FUNCTION:entry or :return)",
                    )
                }
            }
        }
        // x86-64 pt_regs: ip at 128, sp at 152.
        let on_return = self.a.label();
        let done = self.a.label();
        for id in &returns {
            self.jmp_id(Cond::Eq, *id, on_return);
        }
        if !entries.is_empty() {
            self.a.emit(Insn::store_imm(Size::DW, R10, READ_BUF, 0));
            self.a.emit(Insn::mov(R1, R10));
            self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(READ_BUF)));
            self.a.emit(Insn::mov_imm(R2, 8));
            self.a.emit(Insn::load(Size::DW, R3, R6, 152));
            self.a.emit(Insn::call(helper::PROBE_READ_USER));
            self.a.emit(Insn::load(Size::DW, R0, R10, READ_BUF));
            if !returns.is_empty() {
                self.a.goto(done);
            }
        }
        if !returns.is_empty() {
            self.a.bind(on_return);
            self.a.emit(Insn::load(Size::DW, R0, R6, 128));
        }
        self.a.bind(done);
        Ok(())
    }

    /// `r0` = the task a probe's arguments name: `proc:::signal-send`'s
    /// receiver (`signal_generate`'s third argument).
    pub(super) fn other_task(&mut self, e: &TExpr) -> Result<(), CodegenError> {
        match self.spec.context {
            Context::Tracepoint(_, TracepointProbe::SignalSend) => {
                self.a.emit(Insn::load(Size::DW, R0, R6, 16));
                Ok(())
            }
            // sched_wakeup(struct task_struct *p).
            Context::Tracepoint(_, TracepointProbe::Wakeup) => {
                self.a.emit(Insn::load(Size::DW, R0, R6, 0));
                Ok(())
            }
            _ => self.err(e, "args[0] and args[1] have members only in proc:::signal-send and sched:::wakeup"),
        }
    }

    /// `r0` = the structure the last member of `path` is in: `curthread`,
    /// then each pointer on the way read in turn (a NULL on the way reads
    /// as zeros from then on).
    pub(super) fn kernel_base(&mut self, path: &crate::d::sema::KernelPath) {
        self.task();
        for &off in &path.derefs {
            self.read_kernel(R0, off as i32, 8);
        }
    }

    /// `r0` = the `task_struct` of the thread the probe is about.
    pub(super) fn task(&mut self) {
        if self.about_next() {
            self.a.emit(Insn::load(Size::DW, R0, R6, 16));
        } else {
            self.a.emit(Insn::call(helper::GET_CURRENT_TASK));
        }
    }

    /// The thread's command name (16 bytes) into `r7 + off`.
    pub(super) fn comm(&mut self, off: i32) -> Result<(), CodegenError> {
        if self.about_next() {
            let offs = self.process_offsets()?;
            self.a.emit(Insn::load(Size::DW, R3, R6, 16));
            self.a.emit(Insn::alu_imm(Alu::Add, R3, offs.comm as i32));
            self.a.emit(Insn::mov(R1, R7));
            self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
            self.a.emit(Insn::mov_imm(R2, 16));
            self.a.emit(Insn::call(helper::PROBE_READ_KERNEL_STR));
        } else {
            self.a.emit(Insn::mov(R1, R7));
            self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
            self.a.emit(Insn::mov_imm(R2, 16));
            self.a.emit(Insn::call(helper::GET_CURRENT_COMM));
        }
        Ok(())
    }

    /// The `task_struct` offsets, or an error that says why they are unknown.
    pub(super) fn task_offsets(&self) -> Result<TaskOffsets, CodegenError> {
        match &self.layout.kernel.task {
            Some(Ok(t)) => Ok(*t),
            Some(Err(why)) => Err(CodegenError(format!(
                "this program reads the kernel's task_struct, whose layout comes from BTF: {why}"
            ))),
            None => Err(CodegenError("internal error: the kernel's BTF was not read for this program".into())),
        }
    }

    /// The offsets `curpsinfo`/`curlwpsinfo` read, or an error that says
    /// why they are unknown.
    pub(super) fn process_offsets(&self) -> Result<ProcessOffsets, CodegenError> {
        match &self.layout.kernel.process {
            Some(Ok(t)) => Ok(*t),
            Some(Err(why)) => Err(CodegenError(format!(
                "curpsinfo and curlwpsinfo read the kernel's task_struct, whose layout comes from BTF: {why}"
            ))),
            None => Err(CodegenError("internal error: the kernel's BTF was not read for this program".into())),
        }
    }

    /// `r0 = *(u{size*8} *)(src + off)`, read from kernel memory (0 when
    /// the read fails). `src` must not be `r1` or `r2`.
    pub(super) fn read_kernel(&mut self, src: Reg, off: i32, size: u8) {
        self.a.emit(Insn::store_imm(Size::DW, R10, READ_BUF, 0));
        if src != R3 {
            self.a.emit(Insn::mov(R3, src));
        }
        if off != 0 {
            self.a.emit(Insn::alu_imm(Alu::Add, R3, off));
        }
        self.a.emit(Insn::mov(R1, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(READ_BUF)));
        self.a.emit(Insn::mov_imm(R2, i32::from(size)));
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL));
        self.a.emit(Insn::load(Size::of(size), R0, R10, READ_BUF));
    }

    /// `r0 = *(u64 *)(regs + off)`, where regs is `ctx->args[0]`.
    pub(super) fn read_kernel_regs(&mut self, off: i32) {
        self.a.emit(Insn::store_imm(Size::DW, R10, READ_BUF, 0));
        self.a.emit(Insn::mov(R1, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(READ_BUF)));
        self.a.emit(Insn::mov_imm(R2, 8));
        self.a.emit(Insn::load(Size::DW, R3, R6, 0));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, off));
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL));
        self.a.emit(Insn::load(Size::DW, R0, R10, READ_BUF));
    }

    pub(super) fn builtin(&mut self, b: Builtin, e: &TExpr) -> Result<(), CodegenError> {
        match b {
            Builtin::Pid => {
                self.pid_tgid();
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            }
            Builtin::Tid => {
                self.pid_tgid();
                self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            }
            Builtin::Uid | Builtin::Gid => {
                self.running_thread_only("uid and gid")?;
                self.a.emit(Insn::call(helper::GET_CURRENT_UID_GID));
                if b == Builtin::Uid {
                    self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                }
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            }
            Builtin::Timestamp => self.a.emit(Insn::call(helper::KTIME_GET_NS)),
            Builtin::Walltimestamp => {
                self.a.emit(Insn::call(helper::KTIME_GET_NS));
                self.a.emit_all(Insn::ld_imm64(R1, self.layout.wall_offset));
                self.a.emit(Insn::alu(Alu::Add, R0, R1));
            }
            Builtin::Vtimestamp => {
                self.running_thread_only("vtimestamp")?;
                self.vtimestamp()?;
            }
            Builtin::Cpu => self.a.emit(Insn::call(helper::GET_SMP_PROCESSOR_ID)),
            Builtin::Rand => self.a.emit(Insn::call(helper::GET_PRANDOM_U32)),
            Builtin::Ucaller => self.ucaller(e)?,
            Builtin::UstackDepth => {
                self.running_thread_only("ustackdepth")?;
                // bpf_get_stack of the user stack into scratch: its byte
                // count, 8 a frame, or a negative error (no frames). The
                // kernel unwinds it as for ustack() (frame pointers).
                let bytes = usize::from(crate::d::sema::MAX_FRAMES) * 8;
                let buf = self.alloc(bytes);
                let none = self.a.label();
                let done = self.a.label();
                self.a.emit(Insn::mov(R1, R6));
                self.a.emit(Insn::mov(R2, R7));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, buf));
                self.a.emit(Insn::mov_imm(R3, bytes as i32));
                // BPF_F_USER_STACK.
                self.a.emit(Insn::mov_imm(R4, 1 << 8));
                self.a.emit(Insn::call(helper::GET_STACK));
                self.a.jmp_imm(Cond::Sle, R0, 0, none);
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 3));
                self.a.goto(done);
                self.a.bind(none);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.bind(done);
            }
            Builtin::Other(TaskField::Fname) => return self.err(e, "this is a string"),
            Builtin::Other(field) => {
                let task = self.task_offsets()?;
                self.other_task(e)?;
                match field {
                    TaskField::Pid => self.read_kernel(R0, task.tgid as i32, 4),
                    TaskField::Tid => self.read_kernel(R0, task.pid as i32, 4),
                    TaskField::Ppid => {
                        self.read_kernel(R0, task.real_parent as i32, 8);
                        self.read_kernel(R0, task.tgid as i32, 4);
                    }
                    TaskField::Fname => unreachable!("a string"),
                }
            }
            Builtin::Prio => {
                let offs = self.process_offsets()?;
                self.task();
                self.read_kernel(R0, offs.prio as i32, 4);
                // An int: sign-extended.
                self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                self.a.emit(Insn::alu_imm(Alu::Arsh, R0, 32));
            }
            Builtin::Ppid => self.ppid()?,
            Builtin::Curthread => self.task(),
            Builtin::Probe(_) | Builtin::Id => self.a.emit(Insn::mov(R0, R9)),
            Builtin::Execname | Builtin::Psargs => return self.err(e, "this is a string"),
            Builtin::Arg(n) => self.arg(n)?,
            Builtin::Errno => match self.spec.context {
                Context::SyscallReturn { .. } => {
                    let end = self.a.label();
                    self.a.emit(Insn::load(Size::DW, R1, R6, 8));
                    self.a.emit(Insn::mov_imm(R0, 0));
                    self.a.jmp_imm(Cond::Sge, R1, 0, end);
                    self.a.emit(Insn::alu(Alu::Sub, R0, R1));
                    self.a.bind(end);
                }
                _ => self.a.emit(Insn::mov_imm(R0, 0)),
            },
        }
        Ok(())
    }

    /// `r0 = vtimestamp`: the thread's on-CPU total plus the time since it
    /// was last switched in. A thread not seen before starts its account
    /// here, at 0.
    pub(super) fn vtimestamp(&mut self) -> Result<(), CodegenError> {
        let fd = self.maps.vtime.ok_or_else(|| CodegenError("internal error: vtimestamp without its map".into()))?;
        let since = self.push()?;
        let total = self.push()?;
        debug_assert_eq!(total + 8, since);
        self.a.emit(Insn::call(helper::KTIME_GET_NS));
        self.a.emit(Insn::store(Size::DW, R10, since, R0));
        self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
        self.a.emit(Insn::store(Size::W, R10, KEY, R0));
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
        self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        let found = self.a.label();
        let done = self.a.label();
        self.a.jmp_imm(Cond::Ne, R0, 0, found);
        // First sight: {total 0, since now}.
        self.a.emit(Insn::store_imm(Size::DW, R10, total, 0));
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
        self.a.emit(Insn::mov(R3, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, i32::from(total)));
        self.a.emit(Insn::mov_imm(R4, 1)); // BPF_NOEXIST
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.goto(done);
        self.a.bind(found);
        self.a.emit(Insn::load(Size::DW, R1, R10, since));
        self.a.emit(Insn::load(Size::DW, R2, R0, 8));
        let on_cpu = self.a.label();
        self.a.jmp_imm(Cond::Ne, R2, 0, on_cpu);
        // Running, but its switch-in was not seen: count from now.
        self.a.emit(Insn::store(Size::DW, R0, 8, R1));
        self.a.emit(Insn::mov(R2, R1));
        self.a.bind(on_cpu);
        self.a.emit(Insn::alu(Alu::Sub, R1, R2));
        self.a.emit(Insn::load(Size::DW, R0, R0, 0));
        self.a.emit(Insn::alu(Alu::Add, R0, R1));
        self.a.bind(done);
        self.pop();
        self.pop();
        Ok(())
    }

    pub(super) fn arg(&mut self, n: u8) -> Result<(), CodegenError> {
        if let Some(faulted) = self.in_error {
            // ERROR: arg1 the probe, arg2 the clause, arg4 the fault type,
            // arg5 the address.
            match n {
                1 => self.a.emit(Insn::load(Size::DW, R0, R10, ERR_PROBE)),
                2 => self.a.emit(Insn::mov_imm(R0, faulted as i32)),
                4 => self.a.emit(Insn::load(Size::DW, R0, R10, ERR_KIND)),
                5 => self.a.emit(Insn::load(Size::DW, R0, R10, ERR_ADDR)),
                _ => self.a.emit(Insn::mov_imm(R0, 0)),
            }
            return Ok(());
        }
        match &self.spec.context {
            Context::Timer(_) if n < 2 => {
                // bpf_perf_event_data: pt_regs first; ip at 128, cs at 136.
                // arg0 is the PC in the kernel, arg1 the PC in user space.
                let other = self.a.label();
                let end = self.a.label();
                self.a.emit(Insn::load(Size::DW, R1, R6, 136));
                self.a.emit(Insn::alu_imm(Alu::And, R1, 3));
                self.a.jmp_imm(if n == 0 { Cond::Ne } else { Cond::Eq }, R1, 3, other);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.goto(end);
                self.a.bind(other);
                self.a.emit(Insn::load(Size::DW, R0, R6, 128));
                self.a.bind(end);
            }
            Context::Tracepoint(_, TracepointProbe::Exit) if n == 0 => {
                // DTrace's reason: CLD_EXITED (1), CLD_KILLED (2) or
                // CLD_DUMPED (3), from the task's wait status.
                let task = self.task_offsets()?;
                self.a.emit(Insn::load(Size::DW, R3, R6, 0));
                self.read_kernel(R3, task.exit_code as i32, 4);
                let signalled = self.a.label();
                let end = self.a.label();
                self.a.emit(Insn::mov(R1, R0));
                self.a.emit(Insn::alu_imm(Alu::And, R1, 0x7f));
                self.a.jmp_imm(Cond::Ne, R1, 0, signalled);
                self.a.emit(Insn::mov_imm(R0, 1));
                self.a.goto(end);
                self.a.bind(signalled);
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 7));
                self.a.emit(Insn::alu_imm(Alu::And, R0, 1));
                self.a.emit(Insn::alu_imm(Alu::Add, R0, 2));
                self.a.bind(end);
            }
            // args[2]/arg2: the signal (an int); arg0 and arg1 the receiver.
            Context::Tracepoint(_, TracepointProbe::SignalSend) => match n {
                2 => {
                    self.a.emit(Insn::load(Size::DW, R0, R6, 0));
                    self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                    self.a.emit(Insn::alu_imm(Alu::Arsh, R0, 32));
                }
                0 | 1 => self.a.emit(Insn::load(Size::DW, R0, R6, 16)),
                _ => self.a.emit(Insn::mov_imm(R0, 0)),
            },
            Context::Tracepoint(_, TracepointProbe::Create) if n == 0 => {
                let task = self.task_offsets()?;
                self.a.emit(Insn::load(Size::DW, R3, R6, 8));
                self.read_kernel(R3, task.tgid as i32, 4);
            }
            Context::Usdt(plans) => match plans.get(usize::from(n)).copied() {
                Some(p) => self.usdt_arg(p),
                None => self.a.emit(Insn::mov_imm(R0, 0)),
            },
            Context::SyscallEntry { .. } => {
                // x86-64 syscall arguments in pt_regs: di si dx r10 r8 r9.
                const OFFS: [i32; 6] = [112, 104, 96, 56, 72, 64];
                match OFFS.get(usize::from(n)) {
                    Some(off) => self.read_kernel_regs(*off),
                    None => self.a.emit(Insn::mov_imm(R0, 0)),
                }
            }
            Context::SyscallReturn { .. } if n < 2 => self.a.emit(Insn::load(Size::DW, R0, R6, 8)),
            _ => self.a.emit(Insn::mov_imm(R0, 0)),
        }
        Ok(())
    }

    pub(super) fn usdt_arg(&mut self, p: ArgPlan) {
        crate::bpf::usdt::emit_fetch(&mut self.a, &p, R6, R0, (R10, READ_BUF));
    }
}
