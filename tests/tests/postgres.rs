//! `sdtrace latency` on Debian's PostgreSQL 15, started by the test under a
//! temporary data directory: given the postmaster's pid, it follows the
//! backends forked for each connection made after it started, counts
//! every query the test sent, times them at least as long as they sleep,
//! finds the wait among the syscalls and off CPU, and `--by
//! 'copyinstr(arg0)'` groups them by the exact text sent.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as J;
use tests::{can_attach, sdtrace_bin, system_file};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server of the test's own, stopped when dropped.
struct Server {
    dir: PathBuf,
    port: u16,
    postmaster: Child,
}

impl Server {
    fn start(name: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("sdtrace-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let chown = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status().unwrap();
        assert!(chown.success());
        let data = dir.join("data");
        let init = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/initdb"), "-A", "trust", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        let port = 40000 + (std::process::id() % 10000) as u16 + if name == "a" { 0 } else { 10000 };
        let postmaster = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/postgres"), "-D"])
            .arg(&data)
            .arg("-k")
            .arg(&dir)
            .args(["-p", &port.to_string(), "-c", "listen_addresses="])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Server { dir, port, postmaster };
        let deadline = Instant::now() + Duration::from_secs(30);
        while s.psql("select 1").is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    /// The postmaster's pid (runuser's child), from its pid file.
    fn pid(&self) -> u32 {
        let text = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap();
        text.lines().next().unwrap().trim().parse().unwrap()
    }

    /// Run one query through a new connection (a new backend).
    fn psql(&self, query: &str) -> Result<String, String> {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--", "psql", "-X", "-At", "-d", "postgres", "-h"])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-c", query])
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGQUIT: the immediate shutdown.
        let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok();
        if let Some(pid) = pid.and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok())) {
            // SAFETY: kill(2) with a pid and a signal number touches no memory.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
        }
        let _ = self.postmaster.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Start `sdtrace ARGS`, wait until it says it is tracing, run `work`,
/// then stop it with SIGINT (Ctrl-C) and return its stdout.
fn traced(args: &[&str], work: impl FnOnce()) -> String {
    let mut child =
        Command::new(sdtrace_bin()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("sdtrace ended before tracing: {said}");
        }
        said.push_str(&line);
        if line.contains(": tracing ") {
            break;
        }
    }
    work();
    // SAFETY: kill(2) with a pid and a signal number touches no memory.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    assert!(out.status.success(), "{said}{rest}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn available() -> bool {
    // Each fails the test under CI when it cannot run.
    can_attach() && system_file(&format!("{BIN}/postgres")).is_some() && system_file("/usr/bin/psql").is_some()
}

#[test]
fn latency_follows_the_backends_of_the_postmaster_and_counts_every_query() {
    if !available() {
        return;
    }
    let pg = Server::start("a");
    let pm = pg.pid().to_string();
    let args =
        ["latency", "postgresql:query-start", "postgresql:query-done", "-p", &pm, "--syscalls", "--sched", "--json"];
    let sent = 8;
    let out = traced(&args, || {
        for i in 0..sent {
            assert_eq!(pg.psql(&format!("select {i} from pg_sleep(0.02)")).unwrap().trim(), i.to_string());
        }
    });
    let r: J = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let g = &r["groups"][0];
    assert_eq!(g["count"], sent, "{r}");
    // Each query sleeps 20 ms inside; the whole query takes at least that.
    let avg = g["total_ns"].as_i64().unwrap() / sent;
    assert!((20_000_000..1_000_000_000).contains(&avg), "{r}");
    assert!(g["max_ns"].as_i64().unwrap() >= avg, "{r}");
    // pg_sleep waits on its latch: epoll_wait, off CPU.
    let epoll = r["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["syscall"] == "epoll_wait")
        .unwrap_or_else(|| panic!("{r}"));
    assert!(epoll["count"].as_i64().unwrap() >= sent, "{r}");
    assert!(r["offcpu"]["ns"].as_i64().unwrap() >= sent * 15_000_000, "{r}");
}

#[test]
fn latency_by_query_text_groups_the_queries_as_sent() {
    if !available() {
        return;
    }
    let pg = Server::start("b");
    let pm = pg.pid().to_string();
    let queries = [("select 1", 3), ("select 'two'", 2), ("select 3 from pg_sleep(0.01)", 1)];
    let args =
        ["latency", "postgresql:query-start", "postgresql:query-done", "-p", &pm, "--by", "copyinstr(arg0)", "--json"];
    let out = traced(&args, || {
        for (q, n) in queries {
            for _ in 0..n {
                pg.psql(q).unwrap();
            }
        }
    });
    let r: J = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let mut got: Vec<(String, i64)> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["by"].as_str().unwrap().to_string(), g["count"].as_i64().unwrap()))
        .collect();
    got.sort();
    let mut want: Vec<(String, i64)> = queries.iter().map(|(q, n)| (q.to_string(), *n)).collect();
    want.sort();
    assert_eq!(got, want, "{r}");
}
