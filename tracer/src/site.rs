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
/// more than one writable `PT_LOAD` segment (`writable`: each one's file
/// offset and size, as [`crate::discovery::ObjectProbes::writable_segments`]
/// has them). Linkers such as lld let the RELRO segment's last file page
/// also start the `.data` segment; while the program loads, both mappings
/// are writable and the kernel, looking for the semaphore by file offset,
/// may raise the copy in the RELRO mapping, which the program never reads.
pub fn semaphore_page_is_shared(writable: &[(u64, u64)], off: u64) -> bool {
    let page = 4096u64;
    let covering = writable
        .iter()
        .filter(|&&(offset, filesz)| {
            let lo = offset & !(page - 1);
            let hi = offset.saturating_add(filesz).div_ceil(page).saturating_mul(page);
            (lo..hi).contains(&off)
        })
        .count();
    covering > 1
}

/// An object's file, opened to read the bytes at its probe sites: a few
/// bytes per site with `pread`, never a mapping, so a file truncated or
/// rewritten while sdtrace reads it gives an error, not a SIGBUS, and a
/// FIFO put in the file's place does not block the open.
#[derive(Debug)]
pub struct SiteFile {
    file: std::fs::File,
}

impl SiteFile {
    /// Open `path` for reading site bytes.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
        if !file.metadata()?.is_file() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
        }
        Ok(SiteFile { file })
    }

    /// The form of the site at file offset `offset` ([`check_site_bytes`]
    /// on the bytes there).
    pub fn form(&self, offset: u64, arch: Arch) -> Result<SiteForm, String> {
        use std::os::unix::fs::FileExt;
        let mut window = [0u8; 11];
        let mut got = 0;
        while got < window.len() {
            match self.file.read_at(&mut window[got..], offset.saturating_add(got as u64)) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading the site: {e}")),
            }
        }
        check_site_bytes(&window[..got], 0, arch)
    }
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

    #[test]
    fn a_site_is_read_from_its_offset_and_past_the_end_is_refused() {
        let dir = std::env::temp_dir().join(format!("sdtrace-site-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("obj");
        let mut bytes = vec![0xccu8; 64];
        bytes[40] = 0x90;
        std::fs::write(&path, &bytes).unwrap();
        let f = SiteFile::open(&path).unwrap();
        assert_eq!(f.form(40, Arch::X86_64), Ok(SiteForm::Nop));
        assert!(f.form(41, Arch::X86_64).unwrap_err().contains("[cc]"));
        assert!(f.form(64, Arch::X86_64).unwrap_err().contains("outside the file"));
        assert!(SiteFile::open(&dir).is_err(), "a directory is not a site file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_semaphore_page_is_shared_only_when_two_writable_segments_cover_it() {
        // RELRO ending at 0x2100 and .data starting at 0x2100: page 0x2000 shared.
        let lld = [(0x1000, 0x1100), (0x2100, 0x300)];
        assert!(semaphore_page_is_shared(&lld, 0x2200));
        assert!(!semaphore_page_is_shared(&lld, 0x1200));
        let apart = [(0x1000, 0x100), (0x3000, 0x300)];
        assert!(!semaphore_page_is_shared(&apart, 0x3010));
        assert!(!semaphore_page_is_shared(&[(u64::MAX - 10, 100)], 5));
    }
}
