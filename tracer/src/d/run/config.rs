//! What a D run is asked to do (`DConfig` and its parts) and how it can
//! fail (`DError`), apart from the run itself (`super::run`).

use std::io;
use std::time::Duration;

use super::super::codegen::CodegenError;
use super::super::diag::{render_all, Diagnostic, DiagnosticKind, Level, Source};
use crate::kernel::uprobe::Method;
use crate::kernel::KernelError;
use crate::process::ProcessError;

/// How to run a program.
#[derive(Debug, Clone)]
pub struct DConfig {
    /// The program text and its name (file or `<command line>`).
    pub source: Source,
    /// `-p`.
    pub pids: Vec<u32>,
    /// `-c`, split into argv.
    pub command: Vec<String>,
    /// `-q`.
    pub quiet: bool,
    /// `-F`.
    pub flowindent: bool,
    /// `-x name=value`, applied after the program's pragmas.
    pub options: Vec<(String, Option<String>)>,
    /// `-Z`.
    pub allow_empty: bool,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `$1`…
    pub args: Vec<String>,
    /// `--dump`: stop after printing this stage.
    pub dump: Option<Dump>,
    /// `-l`: list the probes the program matches and stop.
    pub list_only: bool,
    /// `-v` with `-l`: each probe's arguments too, as `dtrace -lv`.
    pub list_verbose: bool,
    /// How to attach uprobes; `None` picks uprobe_multi links where the
    /// kernel has them and perf_event uprobes otherwise.
    pub method: Option<Method>,
    /// What is said on stderr around the output.
    pub report: Report,
    /// `--folded` and `--flamegraph`: aggregations as folded stacks.
    pub stacks: StackOutput,
}

/// Aggregations drawn as stacks rather than printed as tables.
#[derive(Debug, Clone, Default)]
pub struct StackOutput {
    /// `--folded`: print `frame;frame;… value` lines (root first).
    pub folded: bool,
    /// `--flamegraph FILE`: draw the folded stacks as an SVG at exit.
    pub flamegraph: Option<std::path::PathBuf>,
    /// The flame graph's title.
    pub title: Option<String>,
}

/// What a run says on stderr besides warnings and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Report {
    /// dtrace(1)'s: `script 'NAME' matched N probes` at the start (not
    /// with `-q`).
    #[default]
    Script,
    /// `sdtrace trace`'s: `N events from M sites, D dropped` at the end
    /// (not with `-q`).
    Events,
    /// A tool's (`calls`, `flow`, …): `NAME: tracing N probes` once every
    /// probe is attached, and dropped records at the end.
    Tool(&'static str),
}

/// Compiler stages `--dump` can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dump {
    /// The syntax tree.
    Ast,
    /// The checked program.
    Types,
    /// The eBPF instructions.
    Bpf,
}

/// Why a program could not run.
#[derive(Debug, thiserror::Error)]
pub enum DError {
    /// The program has errors, reported against its source.
    #[error("{}", render_all(.diagnostics, .program))]
    Compile {
        /// Every diagnostic, warnings included, in the order found.
        diagnostics: Vec<Diagnostic>,
        /// The program they point into.
        program: Source,
    },
    /// Every error is a probe description that matched no probe (exit
    /// status 1, as in dtrace(1)).
    #[error("{}", render_all(.diagnostics, .program))]
    NoMatch {
        /// Every diagnostic, warnings included, in the order found.
        diagnostics: Vec<Diagnostic>,
        /// The program they point into.
        program: Source,
    },
    /// The checked program cannot be made into eBPF (too long, too much
    /// scratch space, a kernel fact missing).
    #[error(transparent)]
    Codegen(#[from] CodegenError),
    /// Bad usage.
    #[error("{0}")]
    Usage(String),
    /// The kernel refused.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The target process.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// Writing output failed.
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
    /// A program the verifier rejected, reported against its clauses.
    #[error("{0}")]
    Verifier(String),
}

impl DError {
    /// The error for `diagnostics` about `source`: [`DError::NoMatch`] when
    /// every error among them says a description matched no probe.
    pub fn from_diagnostics(diagnostics: Vec<Diagnostic>, source: &Source) -> DError {
        let program = source.clone();
        let errors = || diagnostics.iter().filter(|d| d.level == Level::Error);
        if errors().next().is_some() && errors().all(|d| d.kind == DiagnosticKind::NoMatch) {
            DError::NoMatch { diagnostics, program }
        } else {
            DError::Compile { diagnostics, program }
        }
    }

    /// The exit status dtrace(1) gives for this error: 1 when probe
    /// descriptions matched nothing, 2 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            DError::NoMatch { .. } => 1,
            _ => 2,
        }
    }
}
