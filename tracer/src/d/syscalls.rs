//! Syscall names and numbers for the `syscall` provider, from the
//! `syscalls` crate's tables for the machine sdtrace runs on (so no tracefs
//! is needed to learn them).

use syscalls::Sysno;

/// One more than the highest syscall number.
pub fn count() -> usize {
    Sysno::last().id() as usize + 1
}

/// The name of syscall `nr`, if there is one.
pub fn name(nr: usize) -> Option<&'static str> {
    Sysno::new(nr).map(|s| s.name())
}

/// Every syscall as (number, name).
pub fn all() -> impl Iterator<Item = (usize, &'static str)> {
    Sysno::iter().map(|s| (s.id() as usize, s.name()))
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_table_is_this_machines() {
        assert_eq!(super::name(0), Some("read"));
        assert_eq!(super::name(59), Some("execve"));
        assert!(super::count() > 400);
    }
}
