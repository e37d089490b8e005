//! `-C`: the C preprocessor over a D program, as `dtrace -C` runs it, so
//! that `#define`, `#include` and `#if` work. sdtrace runs the system's
//! `cpp` (GCC's, which the `gcc` package brings) rather than carrying a
//! preprocessor of its own: scripts that use `-C` expect that one's
//! behaviour, `#include` of system headers included.
//!
//! The output keeps the script's line numbers where it can: `cpp`'s line
//! markers are read, and blank lines put back where it left them out, so
//! that an error in the script names its own line (text an `#include`
//! brings in shifts the lines after it).

use std::io::Write;
use std::process::{Command, Stdio};

use super::diag::Source;
use super::run::DError;

/// What `-C`, `-D`, `-U` and `-I` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preprocess {
    /// `-D NAME[=VALUE]`, in order.
    pub defines: Vec<String>,
    /// `-U NAME`.
    pub undefines: Vec<String>,
    /// `-I DIR`.
    pub includes: Vec<std::path::PathBuf>,
}

/// The program `source` after the C preprocessor.
pub fn preprocess(source: &Source, opts: &Preprocess) -> Result<Source, DError> {
    let mut cmd = Command::new("cpp");
    // dtrace(1) defines these for D programs; sdtrace names itself too.
    cmd.args(["-x", "c", "-D__SUNW_D=1", "-D__SUNW_D_64=1", "-D__sdtrace__=1"]);
    for d in &opts.defines {
        cmd.arg(format!("-D{d}"));
    }
    for u in &opts.undefines {
        cmd.arg(format!("-U{u}"));
    }
    for i in &opts.includes {
        cmd.arg("-I").arg(i);
    }
    cmd.arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        DError::Usage(format!(
            "-C runs the C preprocessor, cpp, which could not be started: {e} (Debian's `cpp` package has it)"
        ))
    })?;
    // A `#!` line is the script's, not the preprocessor's: blank it, keeping
    // the lines where they are.
    let text = match source.text.strip_prefix("#!") {
        Some(rest) => rest.find('\n').map_or(String::new(), |at| rest[at..].to_string()),
        None => source.text.clone(),
    };
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().map_err(|e| DError::Usage(format!("running cpp: {e}")))?;
    let _ = writer.join();
    if !out.status.success() {
        let errors = String::from_utf8_lossy(&out.stderr).replace("<stdin>", &source.name);
        return Err(DError::Usage(format!("{}: the C preprocessor (-C) failed:\n{}", source.name, errors.trim_end())));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| DError::Usage(format!("{}: the C preprocessor's output is not UTF-8", source.name)))?;
    Ok(Source::new(&source.name, realign(&text)))
}

/// `cpp`'s output without its line markers (`# 12 "<stdin>"`), with blank
/// lines where a marker of the script itself skipped some.
fn realign(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line = 1usize;
    let mut in_script = true;
    for l in text.lines() {
        if let Some((n, file)) = marker(l) {
            in_script = file == "<stdin>";
            if in_script {
                while line < n {
                    out.push('\n');
                    line += 1;
                }
            }
            continue;
        }
        out.push_str(l);
        out.push('\n');
        if in_script {
            line += 1;
        }
    }
    out
}

/// A line marker `# N "file" flags…`: its line number and file.
fn marker(l: &str) -> Option<(usize, &str)> {
    let rest = l.strip_prefix("# ")?;
    let (n, rest) = rest.split_once(' ')?;
    let n: usize = n.parse().ok()?;
    let file = rest.strip_prefix('"')?.split('"').next()?;
    Some((n, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_go_and_the_scripts_lines_stay_where_they_were() {
        let cpp = "# 0 \"<stdin>\"\n# 1 \"<built-in>\"\n# 1 \"<stdin>\"\n\n# 5 \"<stdin>\"\nBEGIN { x = 10; }\n";
        let text = realign(cpp);
        assert_eq!(text.lines().position(|l| l.starts_with("BEGIN")), Some(4), "{text:?}");
    }

    #[test]
    fn defines_and_conditionals_are_applied() {
        let src = Source::new("t.d", "#!/usr/sbin/dtrace -Cs\n#define N 5\n#if N > 3\nBEGIN { x = N; }\n#endif\n");
        let opts = Preprocess { defines: vec!["M=7".into()], ..Default::default() };
        let out = preprocess(&src, &opts).unwrap();
        let lines: Vec<&str> = out.text.lines().collect();
        assert_eq!(lines.get(3).copied(), Some("BEGIN { x = 5; }"), "{:?}", out.text);
        let bad = preprocess(&Source::new("t.d", "#if\n"), &opts).unwrap_err();
        assert!(bad.to_string().contains("t.d") && bad.to_string().contains("preprocessor"), "{bad}");
    }
}
