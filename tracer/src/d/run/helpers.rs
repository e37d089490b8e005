//! What a run needs of the kernel besides its programs: the kernel's
//! types for `curthread->…` paths, and the empty helper program that
//! raises a runtime probe's semaphore.

use super::*;

/// The running kernel's types for `curthread->…` paths, from its BTF, read
/// the first time a program asks.
#[derive(Default)]
pub(super) struct BtfTypes {
    btf: std::cell::OnceCell<Result<Btf, String>>,
}

impl sema::KernelTypes for BtfTypes {
    fn task_path(&self, steps: &[(bool, String)]) -> Result<sema::KernelPath, String> {
        let btf = self.btf.get_or_init(|| Btf::vmlinux().map_err(|e| e.to_string())).as_ref().map_err(Clone::clone)?;
        let path = btf.member_path("task_struct", steps).map_err(|e| e.to_string())?;
        let (size, signed, string_len) = match path.value {
            crate::kernel::btf::MemberValue::Int { size, signed } => (size, signed, None),
            crate::kernel::btf::MemberValue::Chars { len } => (0, false, Some(len)),
        };
        Ok(sema::KernelPath { derefs: path.derefs, offset: path.offset, size, signed, string_len })
    }
}

/// The empty program that raises a needed probe's semaphore (see
/// `probes::Found::helpers`), loaded when first needed, and its links.
#[derive(Default)]
pub(super) struct Helpers {
    program: Option<Program>,
    links: Vec<uprobe::UprobeMultiLink>,
}

impl Helpers {
    /// Attach the empty program at each helper site. A failure is a
    /// warning: the probes it would have helped are traced regardless.
    pub(super) fn attach(&mut self, method: uprobe::Method, helpers: &[probes::UsdtAttach]) {
        for h in helpers {
            let program = match self.program.take() {
                Some(p) => Ok(p),
                None => {
                    let noop =
                        [crate::bpf::insn::Insn::mov_imm(crate::bpf::insn::R0, 0), crate::bpf::insn::Insn::exit()];
                    Program::load(method, "sdtrace_d_helper", &noop)
                }
            };
            let attached = program.and_then(|p| {
                let link = uprobe::attach_skipping_refused(method, &p, &h.open_path, &h.sites, h.pid).map(|(l, _)| l);
                self.program = Some(p);
                link
            });
            match attached {
                Ok(link) => self.links.push(link),
                Err(e) => {
                    eprintln!("sdtrace: warning: {}: could not enable the probe it needs: {e}", h.open_path.display())
                }
            }
        }
    }
}
