//! The D examples of a Markdown file: what the doc writes, split as a shell
//! splits it, with the output a console block shows. Pure: no I/O.

use std::fmt;

/// One D example of the docs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Example {
    /// The Markdown file, relative to the workspace root.
    pub(super) file: String,
    /// The line (from 1) of the command, or of a block's first line.
    pub(super) line: usize,
    /// The command line as the doc writes it (without `$ `), or `""` for a block.
    pub(super) written: String,
    pub(super) form: Form,
    /// The output a console block shows after the command, without the
    /// `…` and comment lines.
    pub(super) shown: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Form {
    /// The words of an `sdtrace` command line after `sdtrace`.
    Command(Vec<String>),
    /// The text of a ```d block.
    Block(String),
}

impl Example {
    /// The D program as the doc writes it (`-n` texts joined as sdtrace
    /// joins them), or `-s FILE`.
    pub(super) fn program(&self) -> String {
        let words = match &self.form {
            Form::Block(text) => return text.clone(),
            Form::Command(words) => words,
        };
        let mut programs = Vec::new();
        let mut words = words.iter();
        while let Some(w) = words.next() {
            match w.as_str() {
                "-n" => programs.extend(words.next().cloned()),
                "-s" => programs.extend(words.next().map(|f| format!("-s {f}"))),
                _ => {}
            }
        }
        programs.join("\n")
    }
}

/// `FILE:LINE: ` and the command's first line as the doc writes it.
impl fmt::Display for Example {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.written.lines();
        match (&self.form, lines.next()) {
            (Form::Command(_), Some(first)) => {
                let more = if lines.next().is_some() { " …" } else { "" };
                write!(f, "{}:{}: {first}{more}", self.file, self.line)
            }
            _ => write!(f, "{}:{}: the ```d block", self.file, self.line),
        }
    }
}

/// `words` as a shell command line.
pub(super) fn join(words: &[String]) -> String {
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

/// The D examples of one Markdown file, which reports call `file`.
pub(super) fn extract(file: &str, markdown: &str) -> Vec<Example> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut examples = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, lang)) = fence(lines[i]) else {
            i += 1;
            continue;
        };
        let close = (i + 1..lines.len())
            .find(|&k| fence(lines[k]).is_some_and(|(_, info)| info.is_empty()))
            .unwrap_or_else(|| panic!("{file}:{}: a ``` block that is never closed", i + 1));
        let body: Vec<&str> = lines[i + 1..close].iter().map(|l| dedent(l, indent)).collect();
        // Lines count from 1, and the body starts after the fence.
        let first = i + 2;
        match lang {
            "d" => examples.push(Example {
                file: file.to_string(),
                line: first,
                written: String::new(),
                form: Form::Block(body.join("\n") + "\n"),
                shown: Vec::new(),
            }),
            "console" | "sh" => examples.extend(commands(file, first, &body, lang == "console")),
            _ => {}
        }
        i = close + 1;
    }
    examples
}

/// A fence line's indentation and info string (`d`, `console`, or empty).
fn fence(line: &str) -> Option<(usize, &str)> {
    let text = line.trim_start();
    text.strip_prefix("```").map(|info| (line.len() - text.len(), info.trim()))
}

/// `line` without the blanks that indent its block's fence.
fn dedent(line: &str, indent: usize) -> &str {
    let blanks = line.len() - line.trim_start_matches(' ').len();
    &line[blanks.min(indent)..]
}

/// The D examples among the commands of a console (`console`) or sh block
/// whose lines are `body`, the first being line `first` of `file`.
fn commands(file: &str, first: usize, body: &[&str], console: bool) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let line = body[i];
        let at = first + i;
        i += 1;
        let start = if console {
            line.strip_prefix("$ ")
        } else {
            Some(line).filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        };
        let Some(start) = start else { continue };
        let mut text = start.to_string();
        // shlex refuses an open quote or a `\` at the end: the command goes on.
        while shlex::split(&text).is_none() {
            let next = body.get(i).unwrap_or_else(|| panic!("{file}:{at}: the command's quote is never closed"));
            text.push('\n');
            text.push_str(next);
            i += 1;
        }
        let mut shown = Vec::new();
        while console && i < body.len() && !body[i].starts_with("$ ") {
            let l = body[i].trim_end();
            let t = l.trim_start();
            if !(t.is_empty() || t == "…" || t.starts_with('#')) {
                shown.push(l.to_string());
            }
            i += 1;
        }
        // A `\` at the end of a line joins it to the next, as in a shell.
        let words = shlex::split(&text.replace("\\\n", "")).expect("split above");
        // D programs: options first (not `sdtrace list`), and a program.
        if let Some((command, args)) = words.split_first() {
            let d = args.first().is_some_and(|a| a.starts_with('-')) && args.iter().any(|a| a == "-n" || a == "-s");
            if command == "sdtrace" && d {
                examples.push(Example {
                    file: file.to_string(),
                    line: at,
                    written: text,
                    form: Form::Command(args.to_vec()),
                    shown,
                });
            }
        }
    }
    examples
}

#[test]
fn extraction_reads_commands_blocks_and_their_output() {
    let markdown = r#"
Text `sdtrace -n 'BEGIN { }'` in a line is no example.

```console
$ sdtrace list /usr/bin/python3.11
python:x
$ sdtrace -q -n 'BEGIN { printf("a\n"); }
                 END { }' -c 'ls /'  # a comment
a
…
# a note
sdtrace: done
```

  ```sh
  # Count: it's a comment
  sdtrace -n 'syscall:::entry { @ = count(); }' \
          -c 'sh -c "exit 3"'
  bpftrace -e 'BEGIN { }'
  ```

```d
BEGIN { exit(0); }
```
"#;
    let examples = extract("x.md", markdown);
    let forms: Vec<(usize, &Form, &[String])> = examples.iter().map(|e| (e.line, &e.form, &e.shown[..])).collect();
    let words = |w: &[&str]| Form::Command(w.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        forms,
        [
            (
                7,
                &words(&["-q", "-n", "BEGIN { printf(\"a\\n\"); }\n                 END { }", "-c", "ls /"]),
                &["a".to_string(), "sdtrace: done".to_string()][..]
            ),
            (17, &words(&["-n", "syscall:::entry { @ = count(); }", "-c", "sh -c \"exit 3\""]), &[][..]),
            (23, &Form::Block("BEGIN { exit(0); }\n".to_string()), &[][..]),
        ]
    );
    assert_eq!(examples[0].to_string(), "x.md:7: sdtrace -q -n 'BEGIN { printf(\"a\\n\"); } …");
    assert_eq!(examples[2].to_string(), "x.md:23: the ```d block");
}
