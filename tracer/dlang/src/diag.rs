//! Diagnostics for the D compiler: the source text a program came from,
//! byte spans into it, and the one sink every stage reports into.
//!
//! A [`Diagnostic`] renders in the shape compilers share (`file:line:col:
//! level: message`, the source line, a `^` underline, an optional hint), so
//! editors and people read it the same way. Lines and columns are 1-based;
//! columns count characters, not bytes.

use std::fmt;
use std::ops::Range;

/// A half-open byte range `lo..hi` into a [`Source`]'s text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub lo: u32,
    /// Offset one past the last byte; equal to `lo` for an empty span.
    pub hi: u32,
}

impl Span {
    /// The span `lo..hi`.
    pub const fn new(lo: u32, hi: u32) -> Span {
        Span { lo, hi }
    }

    /// The empty span at `at`, for "something is missing here".
    pub const fn point(at: u32) -> Span {
        Span { lo: at, hi: at }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { lo: self.lo.min(other.lo), hi: self.hi.max(other.hi) }
    }

    /// Length in bytes.
    pub fn len(self) -> u32 {
        self.hi.saturating_sub(self.lo)
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.hi <= self.lo
    }

    /// The span as a `usize` range, for slicing the source text.
    pub fn range(self) -> Range<usize> {
        self.lo as usize..self.hi as usize
    }
}

/// A D program's text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file path as the user gave it, or `<command line>` for `-n`.
    pub name: String,
    /// The whole program text.
    pub text: String,
}

/// A 1-based line and column; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub col: usize,
}

impl Source {
    /// A source named `name` (a path, or `<command line>`) holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source { name: name.into(), text: text.into() }
    }

    /// Clamp `offset` into the text and back onto a character boundary.
    fn clamp(&self, offset: u32) -> usize {
        let mut at = (offset as usize).min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// Byte offset where the line holding `at` starts.
    fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    /// Byte offset where the line starting at `start` ends, excluding its
    /// `\n` and a `\r` before it.
    fn line_end(&self, start: usize) -> usize {
        let end = self.text[start..].find('\n').map_or(self.text.len(), |i| start + i);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// Line and column of byte `offset` (clamped into the text).
    pub fn line_col(&self, offset: u32) -> LineCol {
        let at = self.clamp(offset);
        let start = self.line_start(at);
        let line = self.text.as_bytes()[..start].iter().filter(|&&b| b == b'\n').count() + 1;
        LineCol { line, col: self.text[start..at].chars().count() + 1 }
    }

    /// The text of 1-based line `line` without its line ending; empty past
    /// the last line.
    pub fn line_text(&self, line: usize) -> &str {
        let mut start = 0;
        for _ in 1..line {
            match self.text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return "",
            }
        }
        &self.text[start..self.line_end(start)]
    }

    /// The text a span covers (clamped into the text).
    pub fn slice(&self, span: Span) -> &str {
        let lo = self.clamp(span.lo);
        let hi = self.clamp(span.hi).max(lo);
        &self.text[lo..hi]
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// The program is rejected.
    Error,
    /// The program is accepted, but probably not what the user meant.
    Warning,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
        })
    }
}

/// What an error is about, for the caller that picks an exit status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DiagnosticKind {
    /// The program itself: syntax, types, an unsupported construct.
    #[default]
    Program,
    /// A probe description that matched no probe (dtrace(1) exits 1 for
    /// these alone, 2 for any other error).
    NoMatch,
}

/// One message about a span of the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What the message is about; may be empty ("missing here").
    pub span: Span,
    /// One line, lowercase, no final period: "expected `;` after statement".
    pub message: String,
    /// An optional suggestion or pointer to related code.
    pub hint: Option<String>,
    /// Error or warning.
    pub level: Level,
    /// What it is about.
    pub kind: DiagnosticKind,
}

impl Diagnostic {
    /// An error about `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { span, message: message.into(), hint: None, level: Level::Error, kind: DiagnosticKind::Program }
    }

    /// A warning about `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { span, message: message.into(), hint: None, level: Level::Warning, kind: DiagnosticKind::Program }
    }

    /// An error saying that probe description `text` at `span` matches no
    /// probes.
    pub fn no_match(span: Span, text: &str) -> Diagnostic {
        Diagnostic {
            kind: DiagnosticKind::NoMatch,
            ..Diagnostic::error(span, format!("probe description `{text}` matches no probes"))
        }
    }

    /// The same diagnostic with a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Render as
    ///
    /// ```text
    /// script.d:3:12: error: expected `;` after statement
    ///    3 |     x = y + 1
    ///      |            ^
    ///   = hint: ...
    /// ```
    ///
    /// The underline covers the span's part of its first line, at least one
    /// `^`; tabs before it are kept so it lines up in a terminal. Every line
    /// ends with `\n`; the hint line appears only when there is a hint.
    pub fn render(&self, source: &Source) -> String {
        let lo = source.clamp(self.span.lo);
        let hi = source.clamp(self.span.hi).max(lo);
        let LineCol { line, col } = source.line_col(self.span.lo);
        let start = source.line_start(lo);
        let end = source.line_end(start);
        let text = &source.text[start..end];
        let before = &source.text[start..lo.min(end)];
        let pad: String = before.chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let carets = if hi > lo && lo < end { source.text[lo..hi.min(end)].chars().count() } else { 0 }.max(1);
        let width = line.to_string().len().max(4);
        let mut out = format!("{}:{line}:{col}: {}: {}\n", source.name, self.level, self.message);
        out.push_str(&format!("{line:>width$} | {text}\n"));
        out.push_str(&format!("{:>width$} | {pad}{}\n", "", "^".repeat(carets)));
        if let Some(hint) = &self.hint {
            out.push_str(&format!("  = hint: {hint}\n"));
        }
        out
    }
}

/// Render every diagnostic in order, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], source: &Source) -> String {
    diagnostics.iter().map(|d| d.render(source)).collect::<Vec<_>>().join("\n")
}

/// The sink every compiler stage reports into, in the order reported.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty sink.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Record a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.list.push(diagnostic);
    }

    /// Record an error about `span`.
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(Diagnostic::error(span, message));
    }

    /// Whether any error (not just warnings) was recorded.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.level == Level::Error)
    }

    /// How many diagnostics were recorded.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The diagnostics in the order they were recorded.
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.list
    }

    /// Take the diagnostics out.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.list.extend(iter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source::new("script.d", text)
    }

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let s = src("ab\n\u{e9}x\n");
        assert_eq!(s.line_col(0), LineCol { line: 1, col: 1 });
        assert_eq!(s.line_col(2), LineCol { line: 1, col: 3 });
        assert_eq!(s.line_col(3), LineCol { line: 2, col: 1 });
        assert_eq!(s.line_col(5), LineCol { line: 2, col: 2 }, "é is one column");
        assert_eq!(s.line_col(4), LineCol { line: 2, col: 1 }, "inside a char clamps back");
        assert_eq!(s.line_col(999), LineCol { line: 3, col: 1 });
        assert_eq!(s.line_text(2), "\u{e9}x");
        assert_eq!(s.line_text(7), "");
    }

    #[test]
    fn render_matches_the_documented_shape() {
        let s = src("BEGIN\n{\n    x = y + \n}\n");
        let d = Diagnostic::error(Span::point(19), "expected `;` after expression");
        assert_eq!(
            d.render(&s),
            "script.d:3:12: error: expected `;` after expression\n   3 |     x = y + \n     |            ^\n"
        );
        let d = Diagnostic::warning(Span::new(12, 17), "odd").with_hint("look");
        assert_eq!(d.render(&s), "script.d:3:5: warning: odd\n   3 |     x = y + \n     |     ^^^^^\n  = hint: look\n");
    }

    #[test]
    fn render_clips_spans_to_their_first_line_and_keeps_tabs() {
        let s = src("\tab /* x\ny */\n");
        let d = Diagnostic::error(Span::new(4, 14), "unterminated");
        assert_eq!(d.render(&s), "script.d:1:5: error: unterminated\n   1 | \tab /* x\n     | \t   ^^^^\n");
        let past_end = Diagnostic::error(Span::new(40, 50), "eof");
        assert_eq!(past_end.render(&s), "script.d:3:1: error: eof\n   3 | \n     | ^\n");
    }

    #[test]
    fn wide_line_numbers_widen_the_gutter() {
        let text = "\n".repeat(12344) + "x";
        let s = src(&text);
        let d = Diagnostic::error(Span::new(12344, 12345), "m");
        assert_eq!(d.render(&s), "script.d:12345:1: error: m\n12345 | x\n      | ^\n");
    }

    #[test]
    fn render_all_separates_with_blank_lines() {
        let s = src("a b");
        let ds = [Diagnostic::error(Span::new(0, 1), "one"), Diagnostic::error(Span::new(2, 3), "two")];
        assert_eq!(
            render_all(&ds, &s),
            "script.d:1:1: error: one\n   1 | a b\n     | ^\n\nscript.d:1:3: error: two\n   1 | a b\n     |   ^\n"
        );
    }

    #[test]
    fn sink_tracks_errors_but_not_warnings() {
        let mut sink = Diagnostics::new();
        sink.push(Diagnostic::warning(Span::point(0), "w"));
        assert!(!sink.has_errors());
        sink.error(Span::point(0), "e");
        assert!(sink.has_errors());
        assert_eq!(sink.len(), 2);
    }
}
