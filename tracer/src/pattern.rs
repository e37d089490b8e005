//! Probe patterns as the command line takes them: `PROBE` or
//! `PROVIDER:PROBE`, each part a shell glob (`*`, `?`, `[abc]`).
//!
//! As in DTrace, `-` in a pattern matches `__` in a stapsdt probe name, so
//! `python:function-entry` finds `python:function__entry`.

use std::fmt;

/// A parsed probe pattern.
#[derive(Debug, Clone)]
pub struct ProbePattern {
    text: String,
    provider: glob::Pattern,
    name: glob::Pattern,
}

/// A pattern that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid probe pattern `{text}`: {reason}")]
pub struct PatternError {
    /// The pattern as given.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl ProbePattern {
    /// Parse `PROBE` or `PROVIDER:PROBE`.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let err = |reason: String| PatternError { text: text.to_string(), reason };
        let (provider, name) = match text.split(':').collect::<Vec<_>>().as_slice() {
            [name] => ("*", *name),
            [provider, name] => (*provider, *name),
            _ => return Err(err("expected PROBE or PROVIDER:PROBE".into())),
        };
        let glob = |s: &str| {
            let s = if s.is_empty() { "*".to_string() } else { s.replace('-', "__") };
            glob::Pattern::new(&s).map_err(|e| err(e.to_string()))
        };
        Ok(ProbePattern { text: text.to_string(), provider: glob(provider)?, name: glob(name)? })
    }

    /// Whether the probe `provider:name` matches.
    pub fn matches(&self, provider: &str, name: &str) -> bool {
        self.provider.matches(provider) && self.name.matches(name)
    }
}

impl fmt::Display for ProbePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::ProbePattern;

    #[test]
    fn forms() {
        let p = ProbePattern::parse("python:function-entry").unwrap();
        assert!(p.matches("python", "function__entry"));
        assert!(!p.matches("ruby", "function__entry"));
        let p = ProbePattern::parse("gc*").unwrap();
        assert!(p.matches("python", "gc__start"));
        assert!(p.matches("ruby", "gc__mark__begin"));
        assert!(!p.matches("python", "line"));
        assert!(ProbePattern::parse(":line").unwrap().matches("x", "line"));
        assert!(ProbePattern::parse("a:b:c").is_err());
        assert!(ProbePattern::parse("py[thon").is_err());
    }
}
