//! Probe-site safety, shared by every way sdtrace attaches to a USDT site:
//! before a uprobe goes on a site, its bytes must be a nop form sdtrace
//! knows (`check_site_bytes`), the `nop; nop10` form is probed one byte in
//! only where the kernel optimises 10-byte nops safely (`nop10_safe`, see
//! [`crate::kernel::nop10`]), and a semaphore whose file page two writable
//! segments share is refused (`semaphore_page_is_shared`). DESIGN.md's
//! "Safety first" and "The probe site" sections say why.

use stap_notes::Arch;

use crate::kernel::nop10;

/// A probe site's form, from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteForm {
    /// A single nop: probed there.
    Nop,
    /// x86-64 `nop; nop10`: probed one byte in when the kernel optimises
    /// 10-byte nops safely (see `kernel::nop10`), else on the 1-byte nop.
    NopNop10([u8; 10]),
}

/// The nop forms a probe site may hold; anything else is refused.
pub fn check_site_bytes(file: &[u8], offset: u64, arch: Arch) -> Result<SiteForm, String> {
    let n = if arch == Arch::X86_64 { 1 } else { 4 };
    let at = usize::try_from(offset).ok().filter(|o| o.saturating_add(n) <= file.len());
    let Some(at) = at else { return Err("the site lies outside the file".into()) };
    let b = &file[at..at + n];
    let ok = match arch {
        // The 1-byte `nop` that sys/sdt.h and our providers emit: probed
        // there, the kernel takes the int3 trap path, which is safe
        // everywhere. A 5-byte nop (`0f 1f 44 00 00`) is refused: kernels
        // that optimise it call a trampoline that writes into the red zone.
        Arch::X86_64 => b == [0x90],
        Arch::AArch64 => b == [0x1f, 0x20, 0x03, 0xd5],
        _ => false,
    };
    if ok {
        let rest = file.get(at..at.saturating_add(11)).unwrap_or_default();
        if arch == Arch::X86_64 && nop10::is_nop1_nop10(rest) {
            return Ok(SiteForm::NopNop10(rest[1..11].try_into().expect("10 bytes")));
        }
        Ok(SiteForm::Nop)
    } else {
        Err(format!("the bytes there ({b:02x?}) are not a nop sdtrace knows; refusing to place a probe"))
    }
}

/// Whether the semaphore at file offset `off` lies in the file pages of
/// more than one writable `PT_LOAD` segment. Linkers such as lld let the
/// RELRO segment's last file page also start the `.data` segment; while
/// the program loads, both mappings are writable and the kernel, looking
/// for the semaphore by file offset, may raise the copy in the RELRO
/// mapping, which the program never reads.
pub fn semaphore_page_is_shared(file: &[u8], off: u64) -> bool {
    let Ok(elf) = stap_notes::ElfFile::parse(file) else { return false };
    let page = 4096u64;
    let covering = elf
        .segments()
        .iter()
        .filter(|s| s.flags & 2 != 0)
        .filter(|s| {
            let lo = s.offset & !(page - 1);
            let hi = (s.offset + s.filesz).div_ceil(page) * page;
            (lo..hi).contains(&off)
        })
        .count();
    covering > 1
}

/// Whether the kernel optimises the 10-byte nop `nop10` safely, asked once
/// per encoding (see `kernel::nop10`).
pub fn nop10_safe(results: &mut Vec<([u8; 10], bool)>, nop10: [u8; 10]) -> bool {
    if let Some((_, ok)) = results.iter().find(|(b, _)| *b == nop10) {
        return *ok;
    }
    let outcome = nop10::probe_kernel(&nop10);
    if std::env::var_os("SDTRACE_TIMINGS").is_some() {
        eprintln!("sdtrace: nop10 {nop10:02x?}: {outcome:?}");
    }
    let ok = outcome == nop10::Nop10::OptimisedSafely;
    results.push((nop10, ok));
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_nops_are_probed() {
        assert!(check_site_bytes(&[0x55, 0x90], 1, Arch::X86_64).is_ok());
        let e = check_site_bytes(&[0x0f, 0x1f, 0x44, 0, 0], 0, Arch::X86_64).unwrap_err();
        assert!(e.contains("[0f]") && e.contains("refusing"), "{e}");
        assert!(check_site_bytes(&[0x90], 1, Arch::X86_64).is_err());
        assert!(check_site_bytes(&[0x1f, 0x20, 0x03, 0xd5], 0, Arch::AArch64).is_ok());
    }
}
