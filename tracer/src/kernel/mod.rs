//! The kernel layer: BPF maps, program loading, uprobe_multi links, timer
//! (perf event) links and the ring buffer, each an owned handle that
//! releases its kernel object on drop, plus a reader of the kernel's BTF.
//! Every BPF syscall goes through libbpf-sys here and nowhere else. What
//! user space reads of maps goes through [`entries::MapEntries`], which a
//! fake implements for tests.

pub mod btf;
pub mod entries;
pub mod nop10;
pub mod perf;
pub mod ringbuf;
pub mod sys;
pub mod uprobe;

pub use sys::KernelError;
