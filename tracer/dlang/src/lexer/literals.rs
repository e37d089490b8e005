//! Literals: string and character literals with their escapes, and
//! integer literals with their suffixes.

use super::*;

impl Lexer<'_> {
    /// Decode one escape; `pos` is at the backslash. Returns the byte, or
    /// `None` after reporting a bad escape (which is then skipped).
    fn escape(&mut self) -> Option<u8> {
        let lo = self.pos;
        self.pos += 1;
        let Some(ch) = self.text[self.pos..].chars().next() else {
            self.error(lo, self.pos, "unterminated escape sequence");
            return None;
        };
        self.pos += ch.len_utf8();
        let c = if ch.is_ascii() { ch as u8 } else { 0xff };
        let simple = match c {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'v' => Some(11),
            b'\\' | b'"' | b'\'' | b'?' => Some(c),
            _ => None,
        };
        if simple.is_some() {
            return simple;
        }
        match c {
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match self.peek(0) {
                        d @ b'0'..=b'7' => {
                            value = value * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                match u8::try_from(value) {
                    Ok(b) => Some(b),
                    Err(_) => {
                        self.error(
                            lo,
                            self.pos,
                            format!("octal escape `{}` is above `\\377`", &self.text[lo..self.pos]),
                        );
                        None
                    }
                }
            }
            b'x' => {
                let digits = (0..2).take_while(|&i| self.peek(i).is_ascii_hexdigit()).count();
                if digits == 0 {
                    self.error(lo, self.pos, "`\\x` escape needs one or two hex digits");
                    return None;
                }
                let value = u8::from_str_radix(&self.text[self.pos..self.pos + digits], 16).ok();
                self.pos += digits;
                value
            }
            _ => {
                let c = ch;
                let shown =
                    if c.is_control() { format!("\\ followed by U+{:04X}", u32::from(c)) } else { format!("`\\{c}`") };
                self.error(lo, self.pos, format!("unknown escape sequence {shown}")).hint =
                    Some("escapes are \\n \\t \\r \\\\ \\\" \\' \\0, \\xNN and octal \\NNN".into());
                None
            }
        }
    }

    /// The body of a quoted literal up to `quote`, escapes decoded. Returns
    /// the bytes and whether the closing quote was found; on a newline or
    /// the end of the text it stops (the caller reports it).
    fn quoted(&mut self, quote: u8) -> (Vec<u8>, bool) {
        self.pos += 1;
        let mut bytes = Vec::new();
        loop {
            match self.peek(0) {
                q if q == quote && self.pos < self.bytes.len() => {
                    self.pos += 1;
                    return (bytes, true);
                }
                b'\n' => return (bytes, false),
                _ if self.pos >= self.bytes.len() => return (bytes, false),
                b'\\' if matches!(self.peek(1), b'\n' | 0) => {
                    self.pos += 1;
                    return (bytes, false);
                }
                b'\\' => {
                    if let Some(b) = self.escape() {
                        bytes.push(b);
                    }
                }
                b => {
                    bytes.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    pub(super) fn string_literal(&mut self) {
        let lo = self.pos;
        let (bytes, closed) = self.quoted(b'"');
        if !closed {
            let hi = self.text[lo..self.pos].trim_end().len() + lo;
            self.error(lo, hi, "unterminated string literal").hint =
                Some("add the closing `\"`; a string cannot span lines".into());
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                self.error(lo, self.pos, "string literal contains an escape that is not valid UTF-8").hint =
                    Some("escapes above `\\x7f` are not supported in strings yet".into());
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        self.push(TokenKind::Str(text), lo);
    }

    pub(super) fn char_literal(&mut self) {
        let lo = self.pos;
        let (bytes, closed) = self.quoted(b'\'');
        let value = match (closed, bytes.as_slice()) {
            (false, _) => {
                let hi = self.text[lo..self.pos].trim_end().len() + lo;
                self.error(lo, hi, "unterminated character literal").hint =
                    Some("add the closing `'`; for text use a string: \"...\"".into());
                0
            }
            (true, [b]) => *b,
            (true, []) => {
                self.error(lo, self.pos, "empty character literal");
                0
            }
            (true, _) => {
                self.error(lo, self.pos, "character literal holds more than one byte").hint =
                    Some("for text use a string: \"...\"".into());
                0
            }
        };
        self.push(TokenKind::Char(value), lo);
    }
}

pub(super) type IntError = (String, Option<String>);

/// Parse an integer literal with its suffix: `42`, `0x2aUL`, `052`, `7ull`.
pub(super) fn parse_int(text: &str) -> Result<IntLit, IntError> {
    let bad = |message: String| -> IntError { (message, None) };
    if text.contains('.') {
        return Err((
            format!("floating-point number `{text}` is not supported"),
            Some("D has only integer arithmetic".into()),
        ));
    }
    let lower = text.to_ascii_lowercase();
    let (radix, digits_start) = if lower.starts_with("0x") {
        (Radix::Hex, 2)
    } else if text.len() > 1 && text.starts_with('0') && text.as_bytes()[1].is_ascii_digit() {
        (Radix::Octal, 1)
    } else {
        (Radix::Decimal, 0)
    };
    let rest = &text[digits_start..];
    let digits_len = match radix {
        Radix::Hex => rest.bytes().take_while(u8::is_ascii_hexdigit).count(),
        _ => rest.bytes().take_while(u8::is_ascii_digit).count(),
    };
    let (digits, suffix) = rest.split_at(digits_len);
    if digits.is_empty() {
        return Err((format!("invalid number `{text}`: no digits after `0x`"), Some("write e.g. `0x1f`".into())));
    }
    if radix == Radix::Octal {
        if let Some(bad_digit) = digits.chars().find(|c| !('0'..='7').contains(c)) {
            return Err((
                format!("invalid digit `{bad_digit}` in octal number `{text}`"),
                Some("a number starting with `0` is octal".into()),
            ));
        }
    }
    let (unsigned, length) = match suffix.to_ascii_lowercase().as_str() {
        "" => (false, IntLength::Default),
        "u" => (true, IntLength::Default),
        "l" => (false, IntLength::Long),
        "ul" | "lu" => (true, IntLength::Long),
        "ll" => (false, IntLength::LongLong),
        "ull" | "llu" => (true, IntLength::LongLong),
        _ => return Err(bad(format!("invalid suffix `{suffix}` on integer `{text}`"))),
    };
    let base = match radix {
        Radix::Decimal => 10,
        Radix::Hex => 16,
        Radix::Octal => 8,
    };
    let value =
        u64::from_str_radix(digits, base).map_err(|_| bad(format!("integer `{text}` does not fit in 64 bits")))?;
    Ok(IntLit { value, unsigned, length, radix })
}
