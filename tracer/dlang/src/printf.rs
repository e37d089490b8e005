//! DTrace's `printf` formats: parsed once when the program is checked,
//! rendered by the consumer for every record.
//!
//! Conversions: `%d %i %u %x %X %o %c %s %S %p %%` (`%S` is a string with
//! its quotes, backslashes and control characters escaped: `\"`, `\\`,
//! `\n`, `\t`, `\xNN`), flags `- 0 + space #`,
//! a width and a precision (either may be `*`, taken from the arguments),
//! C's length modifiers (`h hh l ll j z t`, accepted and ignored: values are
//! 64-bit), and `%@d`-style conversions that `printa` fills with an
//! aggregation's value.

use std::fmt::Write;

/// A conversion's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// `%d`, `%i`.
    Int,
    /// `%u`.
    Unsigned,
    /// `%x`.
    Hex,
    /// `%X`.
    HexUpper,
    /// `%o`.
    Octal,
    /// `%c`.
    Char,
    /// `%s`.
    Str,
    /// `%S`: a string, escaped so that it reads back as one (`\"`, `\\`,
    /// `\n`, `\t`, `\xNN` for other control characters).
    EscapedStr,
    /// `%p`.
    Pointer,
    /// `%f`: a float argument.
    Float,
}

impl Conv {
    /// Whether the argument is a string.
    pub fn wants_string(self) -> bool {
        matches!(self, Conv::Str | Conv::EscapedStr)
    }
    /// The conversion letter, for messages.
    pub fn letter(self) -> char {
        match self {
            Conv::Int => 'd',
            Conv::Unsigned => 'u',
            Conv::Hex => 'x',
            Conv::HexUpper => 'X',
            Conv::Octal => 'o',
            Conv::Char => 'c',
            Conv::Str => 's',
            Conv::EscapedStr => 'S',
            Conv::Pointer => 'p',
            Conv::Float => 'f',
        }
    }
}

/// The largest width or precision a conversion is given (larger ones,
/// written or from a `*` argument, are cut to it), so that one printf
/// cannot ask for gigabytes of padding (65,535: Rust's formatter takes no
/// larger precision).
pub const MAX_FIELD: usize = u16::MAX as usize;

/// A width or precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Written in the format.
    Fixed(usize),
    /// `*`: the next argument.
    Star,
}

/// One `%` conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// `-`.
    pub left: bool,
    /// `0`.
    pub zero: bool,
    /// `+`.
    pub plus: bool,
    /// ` `.
    pub space: bool,
    /// `#`.
    pub alt: bool,
    /// Minimum width.
    pub width: Option<Count>,
    /// Precision (maximum characters of a string).
    pub precision: Option<Count>,
    /// What to print.
    pub conv: Conv,
    /// `%@…`: the aggregation's value in `printa`.
    pub agg: bool,
}

impl Spec {
    /// A conversion with no flags, width or precision.
    pub fn plain(conv: Conv) -> Spec {
        Spec {
            left: false,
            zero: false,
            plus: false,
            space: false,
            alt: false,
            width: None,
            precision: None,
            conv,
            agg: false,
        }
    }
}

/// A piece of a format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text printed as is.
    Lit(String),
    /// A conversion.
    Conv(Spec),
}

/// A parsed format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Format {
    /// Its pieces in order.
    pub pieces: Vec<Piece>,
    /// It starts with a probe line: dtrace(1)'s heading (`CPU ID
    /// FUNCTION:NAME`) is printed once before the first such record.
    pub heading: bool,
    /// The probe line is `-F`'s: its second value, the probe id, prints as
    /// the flow-indented function.
    pub flow: bool,
}

/// A value to print.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// Text.
    Str(String),
    /// A floating-point number.
    Float(f64),
}

/// Parse `text`, or say what is wrong with it.
pub fn parse(text: &str) -> Result<Format, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        if it.peek() == Some(&'%') {
            it.next();
            lit.push('%');
            continue;
        }
        let mut s = Spec::plain(Conv::Int);
        loop {
            match it.peek() {
                Some('-') => s.left = true,
                Some('0') => s.zero = true,
                Some('+') => s.plus = true,
                Some(' ') => s.space = true,
                Some('#') => s.alt = true,
                Some('@') => s.agg = true,
                _ => break,
            }
            it.next();
        }
        let count = |it: &mut std::iter::Peekable<std::str::Chars>| -> Option<Count> {
            if it.peek() == Some(&'*') {
                it.next();
                return Some(Count::Star);
            }
            let mut n = String::new();
            while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                it.next();
            }
            n.parse().ok().map(Count::Fixed)
        };
        s.width = count(&mut it);
        if it.peek() == Some(&'.') {
            it.next();
            s.precision = Some(count(&mut it).unwrap_or(Count::Fixed(0)));
        }
        while matches!(it.peek(), Some('h' | 'l' | 'j' | 'z' | 't' | 'L')) {
            it.next();
        }
        s.conv = match it.next() {
            Some('d' | 'i') => Conv::Int,
            Some('u') => Conv::Unsigned,
            Some('x') => Conv::Hex,
            Some('X') => Conv::HexUpper,
            Some('o') => Conv::Octal,
            Some('c') => Conv::Char,
            Some('s') => Conv::Str,
            Some('S') => Conv::EscapedStr,
            Some('p') => Conv::Pointer,
            Some('f') => Conv::Float,
            Some(other) => return Err(format!("`%{other}` is not a conversion sdtrace knows")),
            None => return Err("the format ends inside a conversion".into()),
        };
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        pieces.push(Piece::Conv(s));
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(Format { pieces, heading: false, flow: false })
}

impl Format {
    /// The arguments a `printf` with this format takes, in order (a `*`
    /// width or precision is an integer argument before its value).
    pub fn arg_kinds(&self) -> Vec<Conv> {
        let mut out = Vec::new();
        for p in &self.pieces {
            if let Piece::Conv(s) = p {
                if s.agg {
                    continue;
                }
                for c in [s.width, s.precision].into_iter().flatten() {
                    if c == Count::Star {
                        out.push(Conv::Int);
                    }
                }
                out.push(s.conv);
            }
        }
        out
    }

    /// How many `%@` conversions it has.
    pub fn aggregation_conversions(&self) -> usize {
        self.pieces.iter().filter(|p| matches!(p, Piece::Conv(s) if s.agg)).count()
    }

    /// Render with `args` in order; `agg` fills `%@` conversions.
    pub fn render(&self, args: &[Value], agg: Option<i64>) -> String {
        self.render_agg(args, Value::Int(agg.unwrap_or(0)))
    }

    /// Render with `args` in order and `agg` in every `%@` conversion: an
    /// integer, or text (a histogram) that is printed as it is.
    pub fn render_agg(&self, args: &[Value], agg: Value) -> String {
        self.render_aggs(args, std::slice::from_ref(&agg))
    }

    /// Render with `args` in order and `aggs` in the `%@` conversions: the
    /// k-th conversion takes the k-th value, the last value fills any more.
    pub fn render_aggs(&self, args: &[Value], aggs: &[Value]) -> String {
        let mut aggs = aggs.iter();
        let mut last = Value::Int(0);
        let mut out = String::new();
        let mut args = args.iter();
        let next_int = |args: &mut std::slice::Iter<Value>| match args.next() {
            Some(Value::Int(v)) => *v,
            _ => 0,
        };
        for p in &self.pieces {
            match p {
                Piece::Lit(t) => out.push_str(t),
                Piece::Conv(s) => {
                    // As C's printf: a negative `*` width is the `-` flag
                    // and its magnitude, a negative `*` precision none.
                    let mut left = s.left;
                    let width = match s.width {
                        None => None,
                        Some(Count::Fixed(n)) => Some(n),
                        Some(Count::Star) => {
                            let w = next_int(&mut args);
                            left |= w < 0;
                            Some(usize::try_from(w.unsigned_abs()).unwrap_or(usize::MAX))
                        }
                    };
                    let precision = match s.precision {
                        None => None,
                        Some(Count::Fixed(n)) => Some(n),
                        Some(Count::Star) => usize::try_from(next_int(&mut args)).ok(),
                    };
                    let width = width.map(|w| w.min(MAX_FIELD));
                    let precision = precision.map(|p| p.min(MAX_FIELD));
                    let adjusted;
                    let s = if left != s.left {
                        adjusted = Spec { left, ..s.clone() };
                        &adjusted
                    } else {
                        s
                    };
                    let value = if s.agg {
                        if let Some(v) = aggs.next() {
                            last = v.clone();
                        }
                        Some(last.clone())
                    } else {
                        args.next().cloned()
                    };
                    render_one(&mut out, s, width, precision, value.unwrap_or(Value::Int(0)));
                }
            }
        }
        out
    }
}

/// The sign a signed conversion prints: `-`, or `+`/` ` as its flags ask.
fn sign(s: &Spec, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if s.plus {
        "+"
    } else if s.space {
        " "
    } else {
        ""
    }
}

/// `t` with `"`, `\`, newlines, tabs and other control characters
/// escaped, for `%S`.
pub fn escape(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn render_one(out: &mut String, s: &Spec, width: Option<usize>, precision: Option<usize>, v: Value) {
    let body = match (s.conv, v) {
        (Conv::Str, Value::Str(t)) => match precision {
            Some(p) => t.chars().take(p).collect(),
            None => t,
        },
        (Conv::EscapedStr, Value::Str(t)) => {
            let t: String = match precision {
                Some(p) => t.chars().take(p).collect(),
                None => t,
            };
            escape(&t)
        }
        (Conv::Str | Conv::EscapedStr, Value::Int(i)) => i.to_string(),
        (Conv::Float, Value::Float(f)) => {
            let p = precision.unwrap_or(6);
            return pad_number(out, s, width, sign(s, f.is_sign_negative()), &format!("{:.p$}", f.abs()));
        }
        (Conv::Float, Value::Int(i)) => format!("{:.*}", precision.unwrap_or(6), i as f64),
        (_, Value::Float(f)) => f.to_string(),
        (_, Value::Str(t)) => t,
        (Conv::Int, Value::Int(i)) => {
            let mut b = i.unsigned_abs().to_string();
            if let Some(p) = precision {
                b = format!("{b:0>p$}");
            }
            return pad_number(out, s, width, sign(s, i < 0), &b);
        }
        (Conv::Unsigned, Value::Int(i)) => return pad_number(out, s, width, "", &(i as u64).to_string()),
        (Conv::Hex, Value::Int(i)) => {
            return pad_number(out, s, width, if s.alt { "0x" } else { "" }, &format!("{:x}", i as u64))
        }
        (Conv::HexUpper, Value::Int(i)) => {
            return pad_number(out, s, width, if s.alt { "0X" } else { "" }, &format!("{:X}", i as u64))
        }
        (Conv::Octal, Value::Int(i)) => {
            return pad_number(out, s, width, if s.alt { "0" } else { "" }, &format!("{:o}", i as u64))
        }
        (Conv::Pointer, Value::Int(i)) => format!("0x{:x}", i as u64),
        (Conv::Char, Value::Int(i)) => char::from(i as u8).to_string(),
    };
    pad(out, s.left, width, &body);
}

fn pad(out: &mut String, left: bool, width: Option<usize>, body: &str) {
    let n = body.chars().count();
    let fill = width.unwrap_or(0).saturating_sub(n);
    if left {
        out.push_str(body);
        out.push_str(&" ".repeat(fill));
    } else {
        out.push_str(&" ".repeat(fill));
        out.push_str(body);
    }
}

fn pad_number(out: &mut String, s: &Spec, width: Option<usize>, prefix: &str, digits: &str) {
    let n = prefix.len() + digits.len();
    let fill = width.unwrap_or(0).saturating_sub(n);
    if s.left {
        let _ = write!(out, "{prefix}{digits}{}", " ".repeat(fill));
    } else if s.zero {
        let _ = write!(out, "{prefix}{}{digits}", "0".repeat(fill));
    } else {
        let _ = write!(out, "{}{prefix}{digits}", " ".repeat(fill));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(f: &str, args: &[Value]) -> String {
        parse(f).unwrap().render(args, None)
    }

    #[test]
    fn renders_like_c() {
        use Value::*;
        assert_eq!(r("%d|%5d|%-5d|%05d|%+d", &[Int(-3), Int(42), Int(42), Int(42), Int(7)]), "-3|   42|42   |00042|+7");
        assert_eq!(
            r("%u %x %X %#x %o", &[Int(-1), Int(255), Int(255), Int(255), Int(8)]),
            "18446744073709551615 ff FF 0xff 10"
        );
        assert_eq!(
            r("%s|%-6s|%6s|%.2s", &[Str("ab".into()), Str("ab".into()), Str("ab".into()), Str("abc".into())]),
            "ab|ab    |    ab|ab"
        );
        assert_eq!(r("%*s-> %s", &[Int(4), Str("".into()), Str("f".into())]), "    -> f");
        assert_eq!(r("100%% %c %lld %zu", &[Int(65), Int(5), Int(6)]), "100% A 5 6");
    }

    #[test]
    fn a_negative_star_width_left_justifies_and_a_negative_star_precision_is_none() {
        use Value::{Int, Str};
        let r = |fmt: &str, args: &[Value]| parse(fmt).unwrap().render(args, None);
        // What C's printf prints: printf("[%*d]", -5, 1) is "[1    ]",
        // printf("[%.*s]", -1, "abc") is "[abc]".
        assert_eq!(r("[%*d]", &[Int(-5), Int(1)]), "[1    ]");
        assert_eq!(r("[%.*s]", &[Int(-1), Str("abc".into())]), "[abc]");
        assert_eq!(r("[%.*s]", &[Int(2), Str("abc".into())]), "[ab]");
        assert_eq!(r("[%-*d]", &[Int(-3), Int(7)]), "[7  ]");
    }

    #[test]
    fn huge_widths_are_cut_not_allocated() {
        use Value::Int;
        let out = parse("%*d").unwrap().render(&[Int(i64::MAX), Int(1)], None);
        assert_eq!(out.len(), MAX_FIELD);
        let out = parse("%*d").unwrap().render(&[Int(i64::MIN), Int(1)], None);
        assert_eq!(out.len(), MAX_FIELD);
        let out = parse("%.*f").unwrap().render(&[Int(i64::MAX), Value::Float(1.5)], None);
        assert!(out.len() <= MAX_FIELD + 2, "{}", out.len());
        // Written in the format, past what Rust's formatter takes (it panicked).
        let out = parse("%.70000f").unwrap().render(&[Value::Float(1.5)], None);
        assert_eq!(out.len(), MAX_FIELD + 2);
    }

    #[test]
    fn escaped_strings_read_back_as_one() {
        let r = |fmt: &str, t: &str| parse(fmt).unwrap().render(&[Value::Str(t.into())], None);
        assert_eq!(r("[%S]", "a \"b\" \\ c\nd\te\x01\x1b"), r#"[a \"b\" \\ c\nd\te\x01\x1b]"#);
        assert_eq!(r("[%-6S]", "ab"), "[ab    ]");
        assert_eq!(r("[%.2S]", "a\nb"), r"[a\n]");
        assert_eq!(parse("%S").unwrap().arg_kinds(), [Conv::EscapedStr]);
    }

    #[test]
    fn star_widths_take_integer_arguments() {
        let f = parse("%*s %-*d\n").unwrap();
        assert_eq!(f.arg_kinds(), [Conv::Int, Conv::Str, Conv::Int, Conv::Int]);
    }

    #[test]
    fn printa_fills_the_aggregation_conversion() {
        let f = parse("%-10s %@8d\n").unwrap();
        assert_eq!(f.aggregation_conversions(), 1);
        assert_eq!(f.arg_kinds(), [Conv::Str]);
        assert_eq!(f.render(&[Value::Str("ls".into())], Some(12)), "ls               12\n");
    }

    #[test]
    fn printa_puts_a_histogram_where_the_aggregation_conversion_stands() {
        let f = parse("%s\n%@d\n").unwrap();
        let text = f.render_agg(&[Value::Str("key".into())], Value::Str("\n  rows\n".into()));
        assert_eq!(text, "key\n\n  rows\n\n");
    }

    #[test]
    fn floats_print_with_six_decimals_by_default() {
        assert_eq!(
            r(
                "%f|%.2f|%8.3f|%-7.1f|",
                &[Value::Float(1.5), Value::Float(-2.25), Value::Float(1.23456), Value::Float(0.25)]
            ),
            "1.500000|-2.25|   1.235|0.2    |"
        );
    }

    #[test]
    fn bad_formats_are_errors() {
        assert!(parse("%q").unwrap_err().contains("`%q`"));
        assert!(parse("abc %").is_err());
    }
}
