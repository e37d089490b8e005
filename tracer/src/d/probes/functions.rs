//! The pid provider's functions: the function symbols of an object, one
//! per address, named publicly, with those uprobes cannot take marked.

/// The functions an object defines (`STT_FUNC` symbols of `.symtab` and
/// `.dynsym` with an address in an executable segment), each name once,
/// with the file offset of its first instruction. Indirect functions
/// (`STT_GNU_IFUNC`, such as glibc's `memcpy`) are left out: their symbol
/// is the resolver, not the code that runs. Sorted by offset, and at one
/// offset the public name first (`free` before `__libc_free`), which names
/// the probe of aliases.
pub(super) fn function_symbols(path: &std::path::Path) -> Vec<FunctionSymbol> {
    let Ok(bytes) = std::fs::read(path) else { return Vec::new() };
    let Ok(elf) = goblin::elf::Elf::parse(&bytes) else { return Vec::new() };
    let code: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD && p.is_executable())
        .map(|p| (p.p_vaddr, p.p_filesz, p.p_offset))
        .collect();
    let lock_prefixed =
        |off: u64| elf.header.e_machine == goblin::elf::header::EM_X86_64 && bytes.get(off as usize) == Some(&0xf0);
    let entry_point = elf.header.e_entry;
    // A name that is an indirect function in any version (glibc's default
    // `memcpy@@GLIBC_2.14`) is left out whole, not probed at an old version.
    let indirect: std::collections::HashSet<&str> = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)]
        .into_iter()
        .flat_map(|(syms, strtab)| {
            syms.iter()
                .filter(|s| s.st_type() == goblin::elf::sym::STT_GNU_IFUNC)
                .filter_map(|s| strtab.get_at(s.st_name))
        })
        .collect();
    let mut out = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (dynamic, syms, strtab) in [(false, &elf.syms, &elf.strtab), (true, &elf.dynsyms, &elf.dynstrtab)] {
        for (i, s) in syms.iter().enumerate() {
            if s.st_type() != goblin::elf::sym::STT_FUNC || s.st_value == 0 || s.st_shndx == 0 {
                continue;
            }
            // A non-default version (`realpath@GLIBC_2.2.5` beside
            // `realpath@@GLIBC_2.3`) is not what programs call now.
            if dynamic && elf.versym.as_ref().and_then(|v| v.get_at(i)).is_some_and(|v| v.is_hidden()) {
                continue;
            }
            let Some(name) = strtab.get_at(s.st_name).filter(|n| !n.is_empty() && !indirect.contains(n)) else {
                continue;
            };
            let Some(&(vaddr, _, off)) = code.iter().find(|(v, n, _)| s.st_value >= *v && s.st_value < v + n) else {
                continue;
            };
            let offset = s.st_value - vaddr + off;
            if names.insert(name) {
                out.push(FunctionSymbol {
                    name: name.to_string(),
                    offset,
                    probeable: !lock_prefixed(offset),
                    returns: s.st_value != entry_point && !NOT_CALLED.contains(&name),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.offset
            .cmp(&b.offset)
            .then_with(|| (a.name.starts_with('_'), a.name.len()).cmp(&(b.name.starts_with('_'), b.name.len())))
    });
    // An alias of a function that is not called is not called either.
    for group in out.chunk_by_mut(|a, b| a.offset == b.offset) {
        let returns = group.iter().all(|f| f.returns);
        group.iter_mut().for_each(|f| f.returns = returns);
    }
    out
}

/// A function an object defines, for the pid provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FunctionSymbol {
    pub(super) name: String,
    /// The file offset of its first instruction.
    pub(super) offset: u64,
    /// False for x86 functions that start with a `lock`-prefixed
    /// instruction, which uprobes refuse.
    pub(super) probeable: bool,
    /// False for code that is entered without a call (the entry point,
    /// signal return trampolines, new threads' first frames): a return
    /// probe takes the word at the stack pointer for a return address and
    /// replaces it, and there it is something else (`argc`, a signal
    /// frame), which would corrupt the process.
    pub(super) returns: bool,
}

/// Functions entered without a call, besides the ELF entry point.
pub(super) const NOT_CALLED: &[&str] = &[
    "_start",
    "__restore_rt",
    "_dl_start",
    "_dl_start_user",
    "__clone",
    "__clone3",
    "clone",
    "clone3",
    "__clone_internal",
];
