//! `sdtrace`: find and trace SDT probes. See `sdtrace --help`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use tracer::discovery::discover_file;
use tracer::listing;
use tracer::pattern::ProbePattern;

const EXIT_HELP: &str = "\
Exit status: 0 on success, 1 when a probe pattern matched nothing, 2 on an error
(a file that cannot be read or is not ELF, a malformed note).";

/// Find and trace SDT probes (USDT) in programs and libraries.
#[derive(Debug, Parser)]
#[command(name = "sdtrace", version, after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the SDT probes in executables and shared libraries.
    ///
    /// Every probe shows its provider and name, its call sites, whether it has a
    /// semaphore (an is-enabled counter the tracer raises) and its arguments:
    /// names, types and docs when the file carries sdtrace metadata records,
    /// otherwise the sizes the stapsdt note records.
    #[command(after_help = "\
Examples:
  sdtrace list /usr/bin/python3.11
  sdtrace list /usr/bin/python3.11 'python:function-entry' -v
  sdtrace list /usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1 'gc*' --json

A pattern is PROBE or PROVIDER:PROBE with shell globs; '-' matches the '__'
that stapsdt probe names use for DTrace's '-'.")]
    List {
        /// Executables or shared libraries to read.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Only probes matching PATTERN (repeatable; an argument that is not a
        /// file is also taken as a pattern).
        #[arg(short = 'P', long = "probe", value_name = "PATTERN")]
        patterns: Vec<String>,
        /// Show every call site: address, file offset, raw and parsed arguments.
        #[arg(short, long)]
        verbose: bool,
        /// Print the documented JSON document (schema sdtrace.list/1) instead.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)) {
                return ExitCode::SUCCESS;
            }
            eprintln!("sdtrace: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::List { paths, mut patterns, verbose, json } => {
            // `sdtrace list FILE PATTERN`: a trailing argument that names no
            // file but parses as a pattern is a pattern, as in `tplist`.
            let mut files = Vec::new();
            for p in paths {
                if !p.exists() && !files.is_empty() && p.to_str().is_some_and(|s| !s.contains('/')) {
                    patterns.push(p.to_string_lossy().into_owned());
                } else {
                    files.push(p);
                }
            }
            let patterns = patterns.iter().map(|p| ProbePattern::parse(p)).collect::<Result<Vec<_>, _>>()?;
            let objects = files.iter().map(|f| discover_file(f)).collect::<Result<Vec<_>, _>>()?;
            let selected: Vec<_> = objects
                .iter()
                .map(|o| {
                    let probes = o
                        .probes
                        .iter()
                        .filter(|p| patterns.is_empty() || patterns.iter().any(|pat| pat.matches(&p.provider, &p.name)))
                        .collect();
                    (o.clone(), probes)
                })
                .collect();
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            if json {
                listing::write_json(&mut out, &selected).context("writing output")?;
            } else {
                listing::write_text(&mut out, &selected, verbose).context("writing output")?;
            }
            out.flush().context("writing output")?;
            let matched: usize = selected.iter().map(|(_, p)| p.len()).sum();
            if !patterns.is_empty() && matched == 0 {
                let names: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
                eprintln!("sdtrace: no probe matches {}", names.join(", "));
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
