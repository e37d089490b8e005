//! A disassembler for the programs sdtrace builds: [`disassemble`] turns
//! instructions into one line of text per instruction, in the syntax the
//! kernel's verifier log and `bpftool prog dump xlated` use
//! (`kernel/bpf/disasm.c`: `r1 = *(u32 *)(r10 -8)`, `w1 += w2`,
//! `if r1 == 0x0 goto pc+5`, `call bpf_map_lookup_elem#1`), decoding the
//! encodings of the kernel's `Documentation/bpf/standardization/instruction-set.rst`.
//!
//! It reads any bytes without panicking: an opcode, or a field that picks
//! the operation (a `src_reg` kind, an atomic operation, a signed-division
//! or sign-extension offset), that the document does not define prints as
//! `(bad)` with the raw fields. Fields an operation does not use are not
//! checked: the verifier does that. Two choices differ from `bpftool`:
//! every jump, call and subprogram address also shows its target slot
//! (`goto pc+5 <12>`), and maps are named by the caller (`map[ringbuf]`)
//! since their descriptors mean nothing outside the process.

use super::insn::Insn;

/// One line of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The instruction slot it starts at. An `ld_imm64` takes two slots and
    /// one line, so the next line starts two further on; jump targets count
    /// the same slots.
    pub at: usize,
    /// The instruction, e.g. `r1 = *(u32 *)(r10 -8)`.
    pub text: String,
}

/// `insns` as text, one [`Line`] per instruction. `map_name` names the map
/// an `ld_imm64` with `BPF_PSEUDO_MAP_FD` loads by its descriptor; one it
/// does not know prints as `map[fd N]`.
pub fn disassemble<'a>(insns: &[Insn], map_name: impl Fn(i32) -> Option<&'a str>) -> Vec<Line> {
    let mut lines = Vec::with_capacity(insns.len());
    let mut at = 0;
    while at < insns.len() {
        let (text, slots) = match ld_imm64(insns, at, &map_name) {
            Some(text) => (text, 2),
            None => (narrow(insns[at], at).unwrap_or_else(|| bad(insns[at])), 1),
        };
        lines.push(Line { at, text });
        at += slots;
    }
    lines
}

/// The name of helper `id` in `enum bpf_func_id` (`map_lookup_elem` for 1),
/// without its `bpf_` prefix.
pub fn helper_name(id: i32) -> Option<&'static str> {
    usize::try_from(id).ok().and_then(|id| HELPERS.split_whitespace().nth(id))
}

/// `enum bpf_func_id` (`___BPF_FUNC_MAPPER` in `include/uapi/linux/bpf.h`)
/// in order from 0, separated by white space; the list is frozen at 211.
const HELPERS: &str = "
    unspec map_lookup_elem map_update_elem map_delete_elem probe_read ktime_get_ns trace_printk
    get_prandom_u32 get_smp_processor_id skb_store_bytes l3_csum_replace l4_csum_replace tail_call
    clone_redirect get_current_pid_tgid get_current_uid_gid get_current_comm get_cgroup_classid
    skb_vlan_push skb_vlan_pop skb_get_tunnel_key skb_set_tunnel_key perf_event_read redirect
    get_route_realm perf_event_output skb_load_bytes get_stackid csum_diff skb_get_tunnel_opt
    skb_set_tunnel_opt skb_change_proto skb_change_type skb_under_cgroup get_hash_recalc
    get_current_task probe_write_user current_task_under_cgroup skb_change_tail skb_pull_data
    csum_update set_hash_invalid get_numa_node_id skb_change_head xdp_adjust_head probe_read_str
    get_socket_cookie get_socket_uid set_hash setsockopt skb_adjust_room redirect_map sk_redirect_map
    sock_map_update xdp_adjust_meta perf_event_read_value perf_prog_read_value getsockopt
    override_return sock_ops_cb_flags_set msg_redirect_map msg_apply_bytes msg_cork_bytes
    msg_pull_data bind xdp_adjust_tail skb_get_xfrm_state get_stack skb_load_bytes_relative
    fib_lookup sock_hash_update msg_redirect_hash sk_redirect_hash lwt_push_encap
    lwt_seg6_store_bytes lwt_seg6_adjust_srh lwt_seg6_action rc_repeat rc_keydown skb_cgroup_id
    get_current_cgroup_id get_local_storage sk_select_reuseport skb_ancestor_cgroup_id sk_lookup_tcp
    sk_lookup_udp sk_release map_push_elem map_pop_elem map_peek_elem msg_push_data msg_pop_data
    rc_pointer_rel spin_lock spin_unlock sk_fullsock tcp_sock skb_ecn_set_ce get_listener_sock
    skc_lookup_tcp tcp_check_syncookie sysctl_get_name sysctl_get_current_value sysctl_get_new_value
    sysctl_set_new_value strtol strtoul sk_storage_get sk_storage_delete send_signal tcp_gen_syncookie
    skb_output probe_read_user probe_read_kernel probe_read_user_str probe_read_kernel_str
    tcp_send_ack send_signal_thread jiffies64 read_branch_records get_ns_current_pid_tgid
    xdp_output get_netns_cookie get_current_ancestor_cgroup_id sk_assign ktime_get_boot_ns
    seq_printf seq_write sk_cgroup_id sk_ancestor_cgroup_id ringbuf_output ringbuf_reserve
    ringbuf_submit ringbuf_discard ringbuf_query csum_level skc_to_tcp6_sock skc_to_tcp_sock
    skc_to_tcp_timewait_sock skc_to_tcp_request_sock skc_to_udp6_sock get_task_stack load_hdr_opt
    store_hdr_opt reserve_hdr_opt inode_storage_get inode_storage_delete d_path copy_from_user
    snprintf_btf seq_printf_btf skb_cgroup_classid redirect_neigh per_cpu_ptr this_cpu_ptr
    redirect_peer task_storage_get task_storage_delete get_current_task_btf bprm_opts_set
    ktime_get_coarse_ns ima_inode_hash sock_from_file check_mtu for_each_map_elem snprintf
    sys_bpf btf_find_by_name_kind sys_close timer_init timer_set_callback timer_start timer_cancel
    get_func_ip get_attach_cookie task_pt_regs get_branch_snapshot trace_vprintk skc_to_unix_sock
    kallsyms_lookup_name find_vma loop strncmp get_func_arg get_func_ret get_func_arg_cnt
    get_retval set_retval xdp_get_buff_len xdp_load_bytes xdp_store_bytes copy_from_user_task
    skb_set_tstamp ima_file_hash kptr_xchg map_lookup_percpu_elem skc_to_mptcp_sock dynptr_from_mem
    ringbuf_reserve_dynptr ringbuf_submit_dynptr ringbuf_discard_dynptr dynptr_read dynptr_write
    dynptr_data tcp_raw_gen_syncookie_ipv4 tcp_raw_gen_syncookie_ipv6 tcp_raw_check_syncookie_ipv4
    tcp_raw_check_syncookie_ipv6 ktime_get_tai_ns user_ringbuf_drain cgrp_storage_get
    cgrp_storage_delete
";

// Classes.
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const ALU: u8 = 0x04;
const JMP: u8 = 0x05;
const JMP32: u8 = 0x06;
const ALU64: u8 = 0x07;
// Load and store modes and sizes.
const IMM: u8 = 0x00;
const ABS: u8 = 0x20;
const IND: u8 = 0x40;
const MEM: u8 = 0x60;
const MEMSX: u8 = 0x80;
const ATOMIC: u8 = 0xc0;
const W: u8 = 0x00;
const DW: u8 = 0x18;
// Arithmetic and jump operations (a source bit of 0x08 means a register).
const X: u8 = 0x08;
const DIV: u8 = 0x30;
const NEG: u8 = 0x80;
const MOD: u8 = 0x90;
const MOV: u8 = 0xb0;
const END: u8 = 0xd0;
const JA: u8 = 0x00;
const CALL: u8 = 0x80;
const EXIT: u8 = 0x90;
const JCOND: u8 = 0xe0;
// `src_reg` of an `ld_imm64`.
const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;
const PSEUDO_BTF_ID: u8 = 3;
const PSEUDO_FUNC: u8 = 4;
const PSEUDO_MAP_IDX: u8 = 5;
const PSEUDO_MAP_IDX_VALUE: u8 = 6;
// `src_reg` of a call.
const PSEUDO_CALL: u8 = 1;
const PSEUDO_KFUNC_CALL: u8 = 2;
// Atomic operations (`imm`).
const FETCH: i32 = 0x01;
const XCHG: i32 = 0xe1;
const CMPXCHG: i32 = 0xf1;
const LOAD_ACQ: i32 = 0x100;
const STORE_REL: i32 = 0x110;

/// The assignment each arithmetic operation writes, by `op >> 4`; `NEG` and
/// `END` are not of this form.
const ALU_OPS: [&str; 13] = ["+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "", "%=", "^=", "=", "s>>="];
/// The comparison of each conditional jump, by `op >> 4`.
const CMP_OPS: [&str; 14] = ["", "==", ">", ">=", "&", "!=", "s>", "s>=", "", "", "<", "<=", "s<", "s<="];

fn dst(i: Insn) -> u8 {
    i.regs & 0x0f
}

fn src(i: Insn) -> u8 {
    i.regs >> 4
}

/// The `u32` of a load or store size.
fn unsigned(code: u8) -> &'static str {
    ["u32", "u16", "u8", "u64"][usize::from(code & 0x18) >> 3]
}

/// `*(u32 *)(r10 -8)`.
fn mem(ty: &str, base: u8, off: i16) -> String {
    format!("*({ty} *)(r{base} {off:+})")
}

/// `pc+5 <12>`: `off` slots after the one after `at`.
fn target(at: usize, off: i64) -> String {
    format!("pc{off:+} <{}>", at as i64 + 1 + off)
}

fn bad(i: Insn) -> String {
    format!("(bad) code {:#04x} regs {:#04x} off {} imm {:#x}", i.code, i.regs, i.off, i.imm)
}

/// The `ld_imm64` at `at` with its second slot, or `None` when it is not
/// one or the second slot is missing or malformed.
fn ld_imm64<'a>(insns: &[Insn], at: usize, map_name: &impl Fn(i32) -> Option<&'a str>) -> Option<String> {
    let (first, second) = (insns[at], *insns.get(at + 1)?);
    if first.code != LD | IMM | DW || first.off != 0 || second.code != 0 || second.regs != 0 || second.off != 0 {
        return None;
    }
    let map = |fd: i32| match map_name(fd) {
        Some(name) => format!("map[{name}]"),
        None => format!("map[fd {fd}]"),
    };
    let value = match src(first) {
        0 => format!("{:#x} ll", u64::from(first.imm as u32) | u64::from(second.imm as u32) << 32),
        PSEUDO_MAP_FD => map(first.imm),
        PSEUDO_MAP_VALUE => format!("{}[0]+{}", map(first.imm), second.imm as u32),
        PSEUDO_BTF_ID => format!("btf_id[{}]", first.imm),
        PSEUDO_FUNC => format!("subprog[pc{:+}] <{}>", first.imm, at as i64 + 1 + i64::from(first.imm)),
        PSEUDO_MAP_IDX => format!("map[idx {}]", first.imm),
        PSEUDO_MAP_IDX_VALUE => format!("map[idx {}][0]+{}", first.imm, second.imm as u32),
        _ => return None,
    };
    Some(format!("r{} = {value}", dst(first)))
}

/// A one-slot instruction, or `None` when the document does not define it.
fn narrow(i: Insn, at: usize) -> Option<String> {
    let (d, s, size, mode) = (dst(i), src(i), i.code & 0x18, i.code & 0xe0);
    match i.code & 0x07 {
        LD if (mode == ABS || mode == IND) && size != DW => {
            let index = if mode == ABS { i.imm.to_string() } else { format!("r{s} + {}", i.imm) };
            Some(format!("r0 = *({} *)skb[{index}]", unsigned(i.code)))
        }
        LDX if mode == MEM => Some(format!("r{d} = {}", mem(unsigned(i.code), s, i.off))),
        LDX if mode == MEMSX && size != DW => {
            Some(format!("r{d} = {}", mem(&unsigned(i.code).replace('u', "s"), s, i.off)))
        }
        ST if mode == MEM => Some(format!("{} = {}", mem(unsigned(i.code), d, i.off), i.imm)),
        STX if mode == MEM => Some(format!("{} = r{s}", mem(unsigned(i.code), d, i.off))),
        STX if mode == ATOMIC => atomic(i),
        ALU | ALU64 => alu(i),
        JMP | JMP32 => jump(i, at),
        _ => None,
    }
}

/// A `BPF_ATOMIC` store, the operation in `imm`.
fn atomic(i: Insn) -> Option<String> {
    let (d, s, ty) = (dst(i), src(i), unsigned(i.code));
    let addr = format!("({ty} *)(r{d} {:+})", i.off);
    match i.imm {
        LOAD_ACQ => return Some(format!("r{d} = load_acquire(({ty} *)(r{s} {:+}))", i.off)),
        STORE_REL => return Some(format!("store_release({addr}, r{s})")),
        _ => {}
    }
    let size = i.code & 0x18;
    if size != W && size != DW {
        return None;
    }
    let (r, bits) = if size == DW { ('r', "64") } else { ('w', "") };
    let name = match i.imm & !FETCH {
        0x00 => "add",
        0x40 => "or",
        0x50 => "and",
        0xa0 => "xor",
        _ if i.imm == XCHG => return Some(format!("{r}{s} = atomic{bits}_xchg({addr}, {r}{s})")),
        _ if i.imm == CMPXCHG => return Some(format!("r0 = atomic{bits}_cmpxchg({addr}, r0, {r}{s})")),
        _ => return None,
    };
    if i.imm & FETCH == 0 {
        let op = ALU_OPS[(i.imm >> 4) as usize];
        Some(format!("lock *{addr} {op} r{s}"))
    } else {
        Some(format!("{r}{s} = atomic{bits}_fetch_{name}({addr}, {r}{s})"))
    }
}

/// An `ALU` (32-bit, `w` registers) or `ALU64` instruction.
fn alu(i: Insn) -> Option<String> {
    let (d, s, op, by_reg) = (dst(i), src(i), i.code & 0xf0, i.code & X != 0);
    let wide = i.code & 0x07 == ALU64;
    let r = if wide { 'r' } else { 'w' };
    let operand = if by_reg { format!("{r}{s}") } else { i.imm.to_string() };
    Some(match (op, i.off) {
        (NEG, 0) if !by_reg => format!("{r}{d} = -{r}{d}"),
        (END, 0) if matches!(i.imm, 16 | 32 | 64) => match (wide, by_reg) {
            (false, false) => format!("r{d} = le{} r{d}", i.imm),
            (false, true) => format!("r{d} = be{} r{d}", i.imm),
            (true, false) => format!("r{d} = bswap{} r{d}", i.imm),
            (true, true) => return None,
        },
        (NEG | END | 0xe0 | 0xf0, _) => return None,
        (_, 0) => format!("{r}{d} {} {operand}", ALU_OPS[usize::from(op >> 4)]),
        (DIV, 1) => format!("{r}{d} s/= {operand}"),
        (MOD, 1) => format!("{r}{d} s%= {operand}"),
        (MOV, 8 | 16) if by_reg => format!("{r}{d} = (s{}){r}{s}", i.off),
        (MOV, 32) if by_reg && wide => format!("r{d} = (s32)r{s}"),
        (MOV, 1) if by_reg && wide => {
            format!("r{d} = addr_space_cast(r{s}, {}, {})", (i.imm as u32) >> 16, i.imm & 0xffff)
        }
        _ => return None,
    })
}

/// A `JMP` or `JMP32` (32-bit comparisons, `w` registers) instruction.
fn jump(i: Insn, at: usize) -> Option<String> {
    let (d, s, op, by_reg) = (dst(i), src(i), i.code & 0xf0, i.code & X != 0);
    let wide = i.code & 0x07 == JMP;
    let off = i64::from(i.off);
    Some(match op {
        _ if by_reg && matches!(op, JA | CALL | EXIT | JCOND) => return None,
        JA if wide => format!("goto {}", target(at, off)),
        JA => format!("gotol {}", target(at, i64::from(i.imm))),
        CALL | EXIT | JCOND if !wide => return None,
        CALL => match s {
            0 => match helper_name(i.imm) {
                Some(name) => format!("call bpf_{name}#{}", i.imm),
                None => format!("call unknown#{}", i.imm),
            },
            PSEUDO_CALL => format!("call {}", target(at, i64::from(i.imm))),
            PSEUDO_KFUNC_CALL => format!("call kfunc#{}", i.imm),
            _ => return None,
        },
        EXIT => "exit".to_string(),
        JCOND if s == 0 => format!("may_goto {}", target(at, off)),
        JCOND | 0xf0 => return None,
        _ => {
            let r = if wide { 'r' } else { 'w' };
            let operand = if by_reg { format!("{r}{s}") } else { format!("{:#x}", i.imm) };
            format!("if {r}{d} {} {operand} goto {}", CMP_OPS[usize::from(op >> 4)], target(at, off))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::{helper, Alu, Cond, Reg, Size, R0, R1, R10, R2, R3, R4, R6, R7};

    /// The text of each line.
    fn text(insns: &[Insn]) -> Vec<String> {
        disassemble(insns, |fd| (fd == 7).then_some("ringbuf")).into_iter().map(|l| l.text).collect()
    }

    fn one(insn: Insn) -> String {
        let lines = text(&[insn]);
        assert_eq!(lines.len(), 1);
        lines.into_iter().next().unwrap()
    }

    /// `insn` moved to another class with the same operation bits, for the
    /// 32-bit forms, which have no constructor since sdtrace does not emit them.
    fn in_class(mut insn: Insn, class: u8) -> Insn {
        insn.code = insn.code & !0x07 | class;
        insn
    }

    #[test]
    fn helper_names_follow_enum_bpf_func_id() {
        assert_eq!(HELPERS.split_whitespace().count(), 212);
        for (id, name) in [
            (0, "unspec"),
            (helper::MAP_LOOKUP_ELEM, "map_lookup_elem"),
            (helper::MAP_UPDATE_ELEM, "map_update_elem"),
            (helper::MAP_DELETE_ELEM, "map_delete_elem"),
            (helper::KTIME_GET_NS, "ktime_get_ns"),
            (helper::GET_SMP_PROCESSOR_ID, "get_smp_processor_id"),
            (helper::GET_PRANDOM_U32, "get_prandom_u32"),
            (helper::SEND_SIGNAL, "send_signal"),
            (helper::GET_CURRENT_PID_TGID, "get_current_pid_tgid"),
            (helper::GET_CURRENT_UID_GID, "get_current_uid_gid"),
            (helper::GET_CURRENT_COMM, "get_current_comm"),
            (helper::GET_STACKID, "get_stackid"),
            (helper::GET_STACK, "get_stack"),
            (helper::GET_CURRENT_TASK, "get_current_task"),
            (helper::PROBE_READ_USER, "probe_read_user"),
            (helper::PROBE_READ_KERNEL, "probe_read_kernel"),
            (helper::PROBE_READ_USER_STR, "probe_read_user_str"),
            (helper::PROBE_READ_KERNEL_STR, "probe_read_kernel_str"),
            (helper::RINGBUF_OUTPUT, "ringbuf_output"),
            (helper::RINGBUF_RESERVE, "ringbuf_reserve"),
            (helper::RINGBUF_SUBMIT, "ringbuf_submit"),
            (helper::GET_ATTACH_COOKIE, "get_attach_cookie"),
            (helper::LOOP, "loop"),
            (211, "cgrp_storage_delete"),
        ] {
            assert_eq!(helper_name(id), Some(name), "helper {id}");
        }
        assert_eq!(helper_name(212), None);
        assert_eq!(helper_name(-1), None);
    }

    #[test]
    fn alu64_reads_as_assignments_with_decimal_immediates() {
        assert_eq!(one(Insn::alu_imm(Alu::Add, R0, 8)), "r0 += 8");
        assert_eq!(one(Insn::alu_imm(Alu::And, R1, -1)), "r1 &= -1");
        assert_eq!(one(Insn::alu(Alu::Sub, R1, R2)), "r1 -= r2");
        assert_eq!(one(Insn::alu_imm(Alu::Lsh, R3, 32)), "r3 <<= 32");
        assert_eq!(one(Insn::alu_imm(Alu::Arsh, R3, 32)), "r3 s>>= 32");
        assert_eq!(one(Insn::mov(R6, R1)), "r6 = r1");
        assert_eq!(one(Insn::mov_imm(R0, 0)), "r0 = 0");
        assert_eq!(one(Insn::alu_signed(Alu::Div, R1, R2)), "r1 s/= r2");
        assert_eq!(one(Insn::alu_signed(Alu::Mod, R1, R2)), "r1 s%= r2");
    }

    #[test]
    fn alu32_uses_w_registers() {
        assert_eq!(one(in_class(Insn::mov(R1, R2), ALU)), "w1 = w2");
        assert_eq!(one(in_class(Insn::alu_imm(Alu::Add, R1, 5), ALU)), "w1 += 5");
        assert_eq!(one(in_class(Insn::alu_signed(Alu::Div, R1, R2), ALU)), "w1 s/= w2");
    }

    #[test]
    fn neg_byte_swaps_and_sign_extending_moves_have_their_own_forms() {
        // `alu_imm` with operations sdtrace has no constructor for (BPF_NEG,
        // BPF_END) and `mov` with a sign-extension width in `off`.
        let op = |code: u8, imm: i32| Insn { code, ..Insn::alu_imm(Alu::Add, R1, imm) };
        assert_eq!(one(op(ALU64 | NEG, 0)), "r1 = -r1");
        assert_eq!(one(op(ALU | NEG, 0)), "w1 = -w1");
        assert_eq!(one(op(ALU | END, 16)), "r1 = le16 r1");
        assert_eq!(one(op(ALU | X | END, 32)), "r1 = be32 r1");
        assert_eq!(one(op(ALU64 | END, 64)), "r1 = bswap64 r1");
        assert!(one(op(ALU64 | END, 8)).starts_with("(bad)"));
        assert_eq!(one(Insn { off: 8, ..Insn::mov(R1, R2) }), "r1 = (s8)r2");
        assert_eq!(one(Insn { off: 32, ..Insn::mov(R1, R2) }), "r1 = (s32)r2");
        assert_eq!(one(in_class(Insn { off: 16, ..Insn::mov(R1, R2) }, ALU)), "w1 = (s16)w2");
        assert!(one(in_class(Insn { off: 32, ..Insn::mov(R1, R2) }, ALU)).starts_with("(bad)"));
        assert!(one(Insn { off: 1, ..Insn::alu(Alu::Add, R1, R2) }).starts_with("(bad)"));
    }

    #[test]
    fn loads_read_as_dereferences() {
        assert_eq!(one(Insn::load(Size::W, R1, R10, -8)), "r1 = *(u32 *)(r10 -8)");
        assert_eq!(one(Insn::load(Size::DW, R2, R6, 112)), "r2 = *(u64 *)(r6 +112)");
        assert_eq!(one(Insn::load(Size::B, R4, R3, 0)), "r4 = *(u8 *)(r3 +0)");
        assert_eq!(one(Insn::load_signed(Size::H, R0, R7, 2)), "r0 = *(s16 *)(r7 +2)");
        assert!(one(Insn { code: LDX | MEMSX | DW, ..Insn::load(Size::DW, R0, R7, 0) }).starts_with("(bad)"));
    }

    #[test]
    fn stores_read_as_assignments_to_dereferences() {
        assert_eq!(one(Insn::store(Size::DW, R10, -16, R2)), "*(u64 *)(r10 -16) = r2");
        assert_eq!(one(Insn::store(Size::H, R7, 4, R1)), "*(u16 *)(r7 +4) = r1");
        assert_eq!(one(Insn::store_imm(Size::B, R7, 3, 0)), "*(u8 *)(r7 +3) = 0");
        assert_eq!(one(Insn::store_imm(Size::DW, R7, 8, -1)), "*(u64 *)(r7 +8) = -1");
    }

    #[test]
    fn atomics_read_as_bpftool_writes_them() {
        assert_eq!(one(Insn::atomic_fetch_add(R1, 0, R2)), "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)");
        assert_eq!(one(Insn::atomic_cmpxchg(R7, 8, R1)), "r0 = atomic64_cmpxchg((u64 *)(r7 +8), r0, r1)");
        let add = Insn::atomic_fetch_add(R1, 0, R2);
        let with = |imm: i32| Insn { imm, ..add };
        assert_eq!(one(with(0x00)), "lock *(u64 *)(r1 +0) += r2");
        assert_eq!(one(with(0xa0)), "lock *(u64 *)(r1 +0) ^= r2");
        assert_eq!(one(with(0x51)), "r2 = atomic64_fetch_and((u64 *)(r1 +0), r2)");
        assert_eq!(one(with(XCHG)), "r2 = atomic64_xchg((u64 *)(r1 +0), r2)");
        assert_eq!(one(Insn { code: STX | ATOMIC | W, ..with(0x41) }), "w2 = atomic_fetch_or((u32 *)(r1 +0), w2)");
        assert_eq!(one(with(LOAD_ACQ)), "r1 = load_acquire((u64 *)(r2 +0))");
        assert_eq!(one(with(STORE_REL)), "store_release((u64 *)(r1 +0), r2)");
        assert!(one(with(0x10)).starts_with("(bad)"));
        assert!(one(Insn { code: STX | ATOMIC | 0x10, ..add }).starts_with("(bad)"));
    }

    #[test]
    fn jumps_show_the_offset_and_the_target_slot() {
        assert_eq!(one(Insn::jmp_imm(Cond::Eq, R1, 0, 5)), "if r1 == 0x0 goto pc+5 <6>");
        assert_eq!(one(Insn::jmp_imm(Cond::Sgt, R1, -1, 2)), "if r1 s> 0xffffffff goto pc+2 <3>");
        assert_eq!(one(Insn::jmp(Cond::Le, R3, R2, 0)), "if r3 <= r2 goto pc+0 <1>");
        assert_eq!(one(Insn::jmp_imm(Cond::Set, R0, 0x40, 1)), "if r0 & 0x40 goto pc+1 <2>");
        assert_eq!(one(Insn::jmp_imm(Cond::Always, Reg(0), 0, 3)), "goto pc+3 <4>");
        // A backward jump from slot 2.
        let lines = text(&[Insn::mov_imm(R0, 0), Insn::exit(), Insn::jmp_imm(Cond::Always, Reg(0), 0, -3)]);
        assert_eq!(lines[2], "goto pc-3 <0>");
    }

    #[test]
    fn jmp32_compares_w_registers() {
        assert_eq!(one(in_class(Insn::jmp_imm(Cond::Ne, R1, 7, 1), JMP32)), "if w1 != 0x7 goto pc+1 <2>");
        assert_eq!(one(in_class(Insn::jmp(Cond::Slt, R1, R2, 1), JMP32)), "if w1 s< w2 goto pc+1 <2>");
        assert_eq!(one(in_class(Insn { imm: 9, ..Insn::jmp_imm(Cond::Always, R0, 0, 0) }, JMP32)), "gotol pc+9 <10>");
        assert!(one(in_class(Insn::exit(), JMP32)).starts_with("(bad)"));
    }

    #[test]
    fn calls_name_helpers_and_subprograms() {
        assert_eq!(one(Insn::call(helper::MAP_LOOKUP_ELEM)), "call bpf_map_lookup_elem#1");
        assert_eq!(one(Insn::call(helper::LOOP)), "call bpf_loop#181");
        assert_eq!(one(Insn::call(999)), "call unknown#999");
        // `src_reg` BPF_PSEUDO_CALL: `imm` is the distance to a subprogram.
        assert_eq!(one(Insn { regs: PSEUDO_CALL << 4, ..Insn::call(4) }), "call pc+4 <5>");
        assert_eq!(one(Insn { regs: PSEUDO_KFUNC_CALL << 4, ..Insn::call(4) }), "call kfunc#4");
        assert_eq!(one(Insn::exit()), "exit");
    }

    #[test]
    fn ld_imm64_is_one_line_over_two_slots() {
        let mut p = vec![Insn::mov(R6, R1)];
        p.extend(Insn::ld_imm64(R1, 0x12_3456_7890));
        p.extend(Insn::ld_map_fd(R2, 7));
        p.extend(Insn::ld_map_fd(R3, 3));
        p.push(Insn::jmp_imm(Cond::Eq, R0, 0, 1));
        p.extend(Insn::ld_func(R2, 1));
        p.push(Insn::exit());
        p.push(Insn::exit());
        let lines = disassemble(&p, |fd| (fd == 7).then_some("ringbuf"));
        let got: Vec<(usize, &str)> = lines.iter().map(|l| (l.at, l.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (0, "r6 = r1"),
                (1, "r1 = 0x1234567890 ll"),
                (3, "r2 = map[ringbuf]"),
                (5, "r3 = map[fd 3]"),
                // Jumps count slots: over the ld_func's two to the exit at 10.
                (7, "if r0 == 0x0 goto pc+1 <9>"),
                (8, "r2 = subprog[pc+1] <10>"),
                (10, "exit"),
                (11, "exit"),
            ]
        );
    }

    #[test]
    fn a_malformed_ld_imm64_is_bad_and_takes_one_slot() {
        let [first, second] = Insn::ld_imm64(R1, 1);
        assert_eq!(text(&[first]), ["(bad) code 0x18 regs 0x01 off 0 imm 0x1"]);
        let lines = text(&[first, Insn::exit()]);
        assert_eq!(lines, ["(bad) code 0x18 regs 0x01 off 0 imm 0x1", "exit"]);
        let unknown_kind = Insn { regs: 0x71, ..first };
        assert!(text(&[unknown_kind, second])[0].starts_with("(bad)"));
    }

    #[test]
    fn undefined_opcodes_print_their_fields() {
        assert_eq!(one(Insn { code: 0xff, regs: 0x21, off: -3, imm: 16 }), "(bad) code 0xff regs 0x21 off -3 imm 0x10");
        assert!(one(Insn { code: JMP | 0xf0, ..Insn::exit() }).starts_with("(bad)"));
        assert!(one(Insn { code: LD | MEM | W, ..Insn::exit() }).starts_with("(bad)"));
    }

    #[test]
    fn any_bytes_disassemble_without_panicking() {
        // Every opcode with field values at the edges and in between, alone,
        // at the end and followed by an ld_imm64's second slot.
        let regs = [0x00, 0x01, 0x10, 0x21, 0x4a, 0x7f, 0xab, 0xff];
        let offs = [0, 1, 8, 16, 32, -1, i16::MIN, i16::MAX];
        let imms = [0, 1, 16, 32, 64, 0xe1, 0xf1, 0x100, 0x110, -1, i32::MIN, i32::MAX];
        for code in 0..=u8::MAX {
            for &regs in &regs {
                for &off in &offs {
                    for &imm in &imms {
                        let insn = Insn { code, regs, off, imm };
                        for p in [vec![insn], vec![insn, Insn { code: 0, regs: 0, off: 0, imm }], vec![insn, insn]] {
                            let lines = disassemble(&p, |_| None);
                            assert!(!lines.is_empty() && lines.iter().all(|l| !l.text.is_empty()));
                        }
                    }
                }
            }
        }
        // And random programs (xorshift, fixed seed).
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let p: Vec<Insn> = (0..16)
                .map(|_| {
                    let v = next();
                    Insn { code: v as u8, regs: (v >> 8) as u8, off: (v >> 16) as i16, imm: (v >> 32) as i32 }
                })
                .collect();
            let lines = disassemble(&p, |_| Some("m"));
            assert!(lines.windows(2).all(|w| w[1].at - w[0].at <= 2));
        }
    }
}
