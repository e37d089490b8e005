//! Run-time providers (`usdt_runtime::dynamic`) end to end, as root: the
//! `runtime_provider` example declares a provider while it runs; sdtrace
//! attaches to its shared object by path before the program starts, lists
//! it in a running process with names and docs, and bpftrace reads it.

use std::process::{Command, Stdio};
use std::time::Duration;

use tests::{can_attach, example_bin, ndjson, sdtrace_bin, system_file};

/// bpftrace attaches by path, to every process: the test that expects the
/// probes to be off must not run while it is attached.
static SYSTEM_WIDE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn provider_path() -> String {
    let out = Command::new(example_bin("runtime_provider")).arg("path").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn the_same_definition_maps_one_content_addressed_file() {
    let a = provider_path();
    assert_eq!(a, provider_path());
    assert!(a.contains("/librtprov-") && a.ends_with(".so"), "{a}");
}

#[test]
fn untraced_runtime_probes_are_disabled() {
    let _alone = SYSTEM_WIDE.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(example_bin("runtime_provider")).arg("2").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("round 2 enabled=false"), "{text}");
}

#[test]
fn sdtrace_attaches_by_path_before_the_program_starts_and_reads_every_value() {
    if !can_attach() {
        return;
    }
    let path = provider_path();
    let exe = example_bin("runtime_provider");
    let pattern = format!("{path}:rtprov:*");
    let out = Command::new(sdtrace_bin())
        .args(["trace", "--json", &pattern, "-c", &format!("{} 2", exe.display())])
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("round 1 enabled=true"));
    let events = ndjson(&out.stdout);
    let of = |p: &str| events.iter().filter(|e| e["probe"] == p).map(|e| &e["args"]).collect::<Vec<_>>();
    let ints = of("ints");
    assert_eq!(ints.len(), 2, "{events:?}");
    assert_eq!(
        (ints[1]["a"].as_i64(), ints[1]["b"].as_u64(), ints[1]["c"].as_i64()),
        (Some(-2), Some(60002), Some(-200_000))
    );
    assert_eq!(ints[1]["d"].as_u64(), Some(u64::MAX - 2));
    assert_eq!(ints[1]["e"].as_i64(), Some(i64::MIN + 2));
    let text = of("text");
    assert_eq!(text[0]["s"], "héllo wörld 1");
    assert_eq!(text[0]["c"], "c string");
    assert_eq!(text[0]["b"], "010203ff");
    let floats = of("floats");
    assert_eq!(
        (floats[1]["x"].as_f64(), floats[1]["y"].as_f64(), floats[1]["flag"].as_bool()),
        (Some(-2.5), Some(0.5), Some(false))
    );
    let twelve = of("twelve");
    for k in 0..11 {
        assert_eq!(twelve[1][format!("a{k}")], 200 + k, "a{k}");
    }
    assert_eq!(twelve[1]["a11"], -2);
}

#[test]
fn sdtrace_lists_the_runtime_provider_of_a_running_process_with_names_and_docs() {
    if !can_attach() {
        return;
    }
    let mut child =
        Command::new(example_bin("runtime_provider")).args(["300", "10"]).stdout(Stdio::piped()).spawn().unwrap();
    // Wait for the first round: the provider is loaded by then.
    let mut first = [0u8; 6];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    let out = Command::new(sdtrace_bin()).args(["list", "-p", &child.id().to_string(), "rtprov:*"]).output().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rtprov:ints") && text.contains("(a i8, b u16, c i32, d u64, e i64)"), "{text}");
    assert!(text.contains("Integers of several widths."), "{text}");
    assert!(text.contains("rtprov:twelve"), "{text}");
}

#[test]
fn bpftrace_attaches_by_path_and_reads_integers_and_strings() {
    if !can_attach() {
        return;
    }
    let Some(bt) = system_file("/usr/bin/bpftrace") else { return };
    let _alone = SYSTEM_WIDE.lock().unwrap_or_else(|e| e.into_inner());
    let path = provider_path();
    let prog = format!(
        r#"usdt:{path}:rtprov:ints {{ printf("ints %d %d %d %ld\n", arg0, arg1, arg2, arg4); }}
usdt:{path}:rtprov:text {{ printf("text %s|%s\n", str(arg0, arg1), str(arg2)); }}"#
    );
    let mut tracer = Command::new(bt).args(["-e", &prog]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let pid = tracer.id();
    // bpftrace prints "Attaching" before it attaches; give it time, then run the program.
    let stdout = tracer.stdout.take().unwrap();
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert!(line.starts_with("Attaching"), "{line}");
    std::thread::sleep(Duration::from_millis(400));
    let prog_out = Command::new(example_bin("runtime_provider")).arg("2").output().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signal to the bpftrace we spawned; SIGINT makes it exit cleanly.
    unsafe { libc_kill(pid as i32, 2) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    tracer.wait().unwrap();
    assert!(String::from_utf8_lossy(&prog_out.stdout).contains("round 1 enabled=true"));
    assert!(rest.contains("ints -1 60001 -100000 -9223372036854775807"), "{rest}");
    assert!(rest.contains("text héllo wörld 2|c string"), "{rest}");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// With no runtime directory (as in many containers) the file goes to
/// `/tmp/sdtrace-<uid>` and is not left behind: the last process using it
/// removes it at exit, and a file left by a killed process is removed by
/// the next one. Runs in a private mount namespace with its own `/tmp` and
/// a read-only `/run/user`.
#[test]
fn files_in_the_temporary_directory_are_removed_by_their_last_user() {
    if !can_attach() {
        return;
    }
    let exe = example_bin("runtime_provider");
    let script = r#"
set -e
# The binaries may live under /tmp (a CI checkout there): copy them out first.
mount -t tmpfs none /mnt
cp "$EX" /mnt/ex
EX=/mnt/ex
if [ -d /run/user ]; then mount -t tmpfs -o ro none /run/user; fi
mount -t tmpfs none /tmp
unset XDG_RUNTIME_DIR SDTRACE_PROVIDER_DIR
p=$("$EX" path)
echo "path $p"
state() { if [ -e "$p" ]; then echo "$1 present"; else echo "$1 absent"; fi; }
state after-one
"$EX" 1000 10 > /tmp/long.out &
bg=$!
n=0
while [ ! -s /tmp/long.out ]; do n=$((n + 1)); [ $n -lt 200 ] || { echo "the program did not start" >&2; exit 1; }; sleep 0.05; done
"$EX" path > /dev/null
state while-held
kill -9 $bg
wait $bg || true
state after-kill
"$EX" path > /dev/null
state after-sweep
ls -A /tmp/sdtrace-* 2>/dev/null | wc -l | sed 's/^/left /'
"#;
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("EX", &exe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("path /tmp/sdtrace-0/librtprov-"), "{text}");
    for want in ["after-one absent", "while-held present", "after-kill present", "after-sweep absent", "left 0"] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
}

/// A provider the process loads after sdtrace started (`-Z`: nothing
/// matches at first) is found in its maps and traced from then on.
#[test]
fn sdtrace_picks_up_a_provider_loaded_after_tracing_began() {
    if !can_attach() {
        return;
    }
    let exe = example_bin("runtime_provider");
    let out = Command::new(sdtrace_bin())
        .args(["trace", "--json", "-Z", "rtprov:ints", "-c", &format!("{} 8 100", exe.display())])
        .env("RTPROV_DELAY_MS", "600")
        .env("SDTRACE_PROVIDER_DIR", std::env::temp_dir().join("sdtrace-late-test"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("librtprov-") && stderr.contains("1 more site"), "{stderr}");
    let events = ndjson(&out.stdout);
    let rounds: Vec<i64> = events.iter().filter_map(|e| e["args"]["a"].as_i64()).map(|a| -a).collect();
    // Rounds are 100 ms apart and the maps are read every 100 ms: at most
    // the first two can be missed, and the last ones must all be there.
    assert!(rounds.len() >= 6 && rounds.ends_with(&[6, 7, 8]), "{rounds:?}\n{stderr}");
    let last = events.last().unwrap();
    assert_eq!(last["args"]["d"].as_u64(), Some(u64::MAX - 8), "{last}");
}

#[test]
fn without_z_a_pattern_that_matches_nothing_yet_is_an_error_with_a_hint() {
    if !can_attach() {
        return;
    }
    let exe = example_bin("runtime_provider");
    let out = Command::new(sdtrace_bin())
        .args(["trace", "rtprov:ints", "-c", &format!("{} 1", exe.display())])
        .env("RTPROV_DELAY_MS", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no probe matches rtprov:ints") && stderr.contains("with -Z"), "{stderr}");
}

/// With `/tmp` mounted noexec and no runtime directory, the provider is
/// loaded from a memfd, nothing is left in `/tmp`, and sdtrace still lists
/// it in the running process.
#[test]
fn a_noexec_tmp_falls_back_to_a_memfd_that_sdtrace_still_lists() {
    if !can_attach() {
        return;
    }
    let script = r#"
set -e
# The binaries may live under /tmp (a CI checkout there): copy them out first.
mount -t tmpfs none /mnt
cp "$EX" /mnt/ex
cp "$SDTRACE" /mnt/sdtrace
EX=/mnt/ex
SDTRACE=/mnt/sdtrace
if [ -d /run/user ]; then mount -t tmpfs -o ro none /run/user; fi
mount -t tmpfs -o noexec none /tmp
unset XDG_RUNTIME_DIR SDTRACE_PROVIDER_DIR
"$EX" 1000 10 > /tmp/long.out &
bg=$!
n=0
while [ ! -s /tmp/long.out ]; do n=$((n + 1)); [ $n -lt 200 ] || { echo "the program did not start" >&2; exit 1; }; sleep 0.05; done
"$SDTRACE" list -p $bg 'rtprov:ints'
kill -9 $bg
wait $bg || true
rm /tmp/long.out
ls -A /tmp | wc -l | sed 's/^/left /'
"#;
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("EX", example_bin("runtime_provider"))
        .env("SDTRACE", sdtrace_bin())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("/memfd:librtprov-") && text.contains("rtprov:ints"), "{text}");
    assert!(text.contains("left 0"), "{text}");
}
