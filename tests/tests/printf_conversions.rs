//! dtrace(1)'s printf conversions that need the consumer's knowledge of
//! the machine — `%Y` (local time) and `%a` (kernel symbols) — checked
//! against date(1) and `/proc/kallsyms`.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tests::{can_attach, sdtrace_bin};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// `sdtrace -q -n program` with `TZ=tz`: its stdout.
fn run(program: &str, tz: &str) -> String {
    let out = Command::new(sdtrace_bin()).args(["-q", "-n", program]).env("TZ", tz).output().unwrap();
    assert!(out.status.success(), "{program}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn percent_y_prints_walltimestamp_as_date_does_in_the_local_zone() {
    if !can_attach() {
        return;
    }
    for tz in ["UTC", "Asia/Tokyo", "America/St_Johns"] {
        let before = now();
        let printed = run("BEGIN { printf(\"%Y\\n\", walltimestamp); exit(0); }", tz);
        let after = now();
        // date(1)'s rendering of each second the program could have read.
        let shown: Vec<String> = (before..=after)
            .map(|s| {
                let out = Command::new("date")
                    .args(["-d", &format!("@{s}"), "+%Y %b %e %H:%M:%S"])
                    .env("TZ", tz)
                    .env("LC_ALL", "C")
                    .output()
                    .unwrap();
                String::from_utf8(out.stdout).unwrap()
            })
            .collect();
        assert!(shown.contains(&printed), "TZ={tz}: printed {printed:?}, date says one of {shown:?}");
    }
}

#[test]
fn percent_a_prints_a_kernel_address_as_its_symbol() {
    if !can_attach() {
        return;
    }
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let addr = kallsyms
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            let (a, t, name) = (w.next()?, w.next()?, w.next()?);
            (name == "vfs_read" && t.eq_ignore_ascii_case("t") && w.next().is_none()).then(|| a.to_string())
        })
        .expect("vfs_read in /proc/kallsyms");
    let addr = u64::from_str_radix(&addr, 16).unwrap();
    assert_ne!(addr, 0, "kallsyms shows addresses to root");
    let program = format!("BEGIN {{ printf(\"%a|%a\\n\", {addr:#x}, {:#x}); exit(0); }}", addr + 0x10);
    assert_eq!(run(&program, "UTC"), "vmlinux`vfs_read|vmlinux`vfs_read+0x10\n");
    // sym(), func() and mod() name the same address as symbols.
    let program =
        format!("BEGIN {{ printf(\"%s|%s|%s\\n\", sym({:#x}), func({addr:#x}), mod({addr:#x})); exit(0); }}", addr + 3);
    assert_eq!(run(&program, "UTC"), "vmlinux`vfs_read|vmlinux`vfs_read|vmlinux\n");
}
