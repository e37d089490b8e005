//! `sdtrace calls` and `flow` on Debian's OpenJDK 17 running a class the
//! test compiles: the tools add `-XX:+DTraceMethodProbes` themselves, attach
//! to libjvm.so (which the java launcher opens after it starts), and count
//! each method as often as the source calls it and as a bpftrace one-liner
//! over the same probe counts it; flow nests the calls as the source does.

use std::io::BufRead;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value as J;
use tests::{can_attach, sdtrace_bin, system_file};

const MAIN: &str = "public class Main {
    static int leaf(int i) { return i * 2; }
    static int handle(int k) { int s = 0; for (int i = 0; i < 10; i++) s += leaf(i); return s; }
    public static void main(String[] a) { int t = 0; for (int k = 0; k < 30; k++) t += handle(k); System.out.println(\"total \" + t); }
}
";

/// The directory of the class compiled as `class`, or None where there is
/// no JDK.
fn compiled(class: &str) -> Option<PathBuf> {
    let javac = system_file("/usr/bin/javac")?;
    let dir = std::env::temp_dir().join(format!("sdtrace-java-{class}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{class}.java")), MAIN.replace("class Main", &format!("class {class}"))).unwrap();
    let out = Command::new(javac).arg(format!("{class}.java")).current_dir(&dir).output().unwrap();
    assert!(out.status.success(), "javac: {}", String::from_utf8_lossy(&out.stderr));
    Some(dir)
}

fn jvm() -> PathBuf {
    std::fs::canonicalize("/usr/bin/java").unwrap().parent().unwrap().parent().unwrap().join("lib/server/libjvm.so")
}

#[test]
fn java_calls_equal_the_source_and_bpftrace() {
    if !can_attach() {
        return;
    }
    let Some(dir) = compiled("CallsMain") else { return };
    let cmd = format!("java -cp {} CallsMain", dir.display());
    let out =
        Command::new(sdtrace_bin()).args(["calls", "--json", "--file", "CallsMain", "-c", &cmd]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("-XX:+DTraceMethodProbes"), "{err}");
    assert!(stdout.contains("total 2700"), "the program ran: {stdout}");
    let report: J = serde_json::from_str(stdout.lines().rev().find(|l| l.starts_with('{')).unwrap()).unwrap();
    let mut got: Vec<(String, i64)> = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["function"].as_str().unwrap().to_string(), f["calls"].as_i64().unwrap()))
        .collect();
    got.sort();
    assert_eq!(got, [("handle".to_string(), 30), ("leaf".into(), 300), ("main".into(), 1)], "{report}");
    // bpftrace 0.17 cannot probe a library a `-c` child opens later, so it
    // is attached to libjvm.so for every process before the JVM starts.
    let script = format!(
        "BEGIN {{ printf(\"attached\\n\"); }} usdt:{}:hotspot:method__entry /str(arg1, arg2) == \"CallsMain\"/ \
         {{ @[str(arg3, arg4)] = count(); }}",
        jvm().display()
    );
    let mut bt = Command::new("bpftrace").args(["-e", &script]).stdout(Stdio::piped()).spawn().expect("bpftrace runs");
    let mut bt_out = BufReader::new(bt.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("attached") {
        line.clear();
        assert!(bt_out.read_line(&mut line).unwrap() > 0, "bpftrace ended");
    }
    let run = Command::new("/usr/bin/java")
        .args(["-XX:+DTraceMethodProbes", "-cp"])
        .arg(&dir)
        .arg("CallsMain")
        .output()
        .unwrap();
    assert!(run.status.success());
    // SAFETY: kill(2) with a pid and a signal number touches no memory.
    unsafe { libc::kill(bt.id() as i32, libc::SIGINT) };
    let mut text = String::new();
    std::io::Read::read_to_string(&mut bt_out, &mut text).unwrap();
    bt.wait().unwrap();
    let mut bpftrace: Vec<(String, i64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("@["))
        .map(|l| {
            let (k, n) = l.split_once("]: ").unwrap();
            (k.to_string(), n.trim().parse().unwrap())
        })
        .collect();
    bpftrace.sort();
    assert_eq!(got, bpftrace, "bpftrace printed:\n{text}");
}

#[test]
fn java_flow_nests_calls_as_the_source_does() {
    if !can_attach() {
        return;
    }
    let Some(dir) = compiled("FlowMain") else { return };
    let out = Command::new(sdtrace_bin())
        .args(["flow", "--file", "FlowMain", "-c", &format!("java -cp {} FlowMain", dir.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<String> = text
        .lines()
        .filter(|l| l.contains("-> ") || l.contains("<- "))
        .map(|l| {
            let e = &l[22..];
            let w: Vec<&str> = e.split_whitespace().collect();
            format!("{}{} {}", " ".repeat(e.len() - e.trim_start().len()), w[0], w[1])
        })
        .collect();
    let mut want = vec!["-> main".to_string()];
    for _ in 0..30 {
        want.push("  -> handle".into());
        for _ in 0..10 {
            want.push("    -> leaf".into());
            want.push("    <- leaf".into());
        }
        want.push("  <- handle".into());
    }
    want.push("<- main".into());
    assert_eq!(events, want, "\n{text}");
}

#[test]
fn java_collections_are_as_many_as_the_jvm_counts() {
    if !can_attach() {
        return;
    }
    let Some(javac) = system_file("/usr/bin/javac") else { return };
    let dir = std::env::temp_dir().join(format!("sdtrace-java-gc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Churn makes young collections in a small heap, System.gc() 3 full
    // ones; the JVM's own management beans count them all.
    let source = "import java.lang.management.*;
public class GcMain {
    static byte[] keep;
    public static void main(String[] a) {
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 20000; j++) keep = new byte[1000];
            System.gc();
        }
        long n = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) n += b.getCollectionCount();
        System.out.println(\"collections \" + n);
    }
}
";
    std::fs::write(dir.join("GcMain.java"), source).unwrap();
    assert!(Command::new(javac).arg("GcMain.java").current_dir(&dir).status().unwrap().success());
    let cmd = format!("java -XX:+UseSerialGC -Xmx16m -Xmn2m -cp {} GcMain", dir.display());
    let out = Command::new(sdtrace_bin()).args(["gc", "--json", "-c", &cmd]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counted: usize = stdout.lines().find_map(|l| l.strip_prefix("collections ")).unwrap().trim().parse().unwrap();
    let events: Vec<J> =
        stdout.lines().filter(|l| l.starts_with("{\"time_ns\"")).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), counted, "{stdout}");
    assert!(events.iter().filter(|e| e["gc"] == "full").count() >= 3, "{stdout}");
    assert!(events.iter().any(|e| e["gc"] == "young"), "the churn collects young objects: {stdout}");
}
