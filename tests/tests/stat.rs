//! `sdtrace stat` beside bpftrace, in one run on one Debian python3.11
//! process: the calls it counts over all its intervals (the last one cut
//! short included) equal those of a bpftrace one-liner attached to the
//! same process at the same time, and include the burst of calls the
//! program makes once both are attached.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use tests::{can_attach, sdtrace_bin, system_file};

const PYTHON: &str = "/usr/bin/python3.11";
const BURST: i64 = 3000;

/// Read `child`'s `stream` lines until one contains `what`; the lines read.
fn wait_for(reader: &mut impl BufRead, what: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "ended before `{what}`: {seen}");
        seen.push_str(&line);
        if line.contains(what) {
            return seen;
        }
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) with a pid and a signal number touches no memory.
    unsafe { libc::kill(child.id() as i32, sig) };
}

#[test]
fn stat_counts_the_calls_bpftrace_counts_in_the_same_run() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let program = format!(
        "import signal, time\ngo = False\ndef on_usr1(sig, frame):\n    global go\n    go = True\n\
         signal.signal(signal.SIGUSR1, on_usr1)\nprint('ready', flush=True)\ndef f():\n    return 1\n\
         while not go:\n    time.sleep(0.01)\nfor _ in range({BURST}):\n    f()\nprint('done', flush=True)\n"
    );
    let mut app = Command::new(python).args(["-c", &program]).stdout(Stdio::piped()).spawn().unwrap();
    let mut app_out = BufReader::new(app.stdout.take().unwrap());
    wait_for(&mut app_out, "ready");
    let pid = app.id().to_string();
    let script = format!(
        "BEGIN {{ printf(\"attached\\n\"); }} usdt:{PYTHON}:python:function__entry {{ @calls = count(); }} \
         usdt:{PYTHON}:python:line {{ }}"
    );
    let mut bt = Command::new("bpftrace")
        .args(["-p", &pid, "-e", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut bt_out = BufReader::new(bt.stdout.take().unwrap());
    wait_for(&mut bt_out, "attached");
    let mut st = Command::new(sdtrace_bin())
        .args(["stat", "--runtime", "python", "--json", "-i", "1", "-p", &pid])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut st_err = BufReader::new(st.stderr.take().unwrap());
    wait_for(&mut st_err, ": tracing ");
    signal(&app, libc::SIGUSR1);
    wait_for(&mut app_out, "done");
    assert!(app.wait().unwrap().success());
    let out = st.wait_with_output().unwrap();
    assert!(out.status.success(), "sdtrace stat failed");
    // bpftrace -p goes on after its process is gone: Ctrl-C prints @calls.
    signal(&bt, libc::SIGINT);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut bt_out, &mut rest).unwrap();
    bt.wait().unwrap();
    let bpftrace: i64 = rest
        .lines()
        .find_map(|l| l.strip_prefix("@calls: "))
        .unwrap_or_else(|| panic!("bpftrace printed {rest}"))
        .trim()
        .parse()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut total = 0;
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for p in v["processes"].as_array().unwrap() {
            assert_eq!(p["pid"].to_string(), pid, "{l}");
            total += p["calls"].as_i64().unwrap();
        }
    }
    assert!(total > BURST, "the burst of {BURST} calls and the handler: {total}\n{text}");
    assert_eq!(total, bpftrace, "sdtrace stat's intervals:\n{text}");
}
