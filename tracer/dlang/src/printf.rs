//! DTrace's `printf` formats: parsed once when the program is checked,
//! rendered by the consumer for every record.
//!
//! Conversions: `%d %i %u %x %X %o %c %s %S %p %%` (`%S` is a string with
//! its quotes, backslashes and control characters escaped: `\"`, `\\`,
//! `\n`, `\t`, `\xNN`), floats `%f %e %E %g %G`, dtrace(1)'s `%Y` (a
//! time in nanoseconds since the epoch, such as `walltimestamp`, as
//! `2026 Dec  7 23:02:31` in local time, see [`set_utc_offset`]), `%a`
//! and `%A` (a kernel or user address as `module`symbol+0xoff`, which the
//! consumer looks up) and `%k` (a `stack()`), flags `- 0 + space #`,
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
    /// `%e` (`upper`: `%E`): a float in exponent form.
    Exp {
        /// `%E`.
        upper: bool,
    },
    /// `%g` (`upper`: `%G`): a float in `%f` or `%e` form, whichever is
    /// shorter, without trailing zeros.
    General {
        /// `%G`.
        upper: bool,
    },
    /// `%Y`: nanoseconds since the epoch as a local date and time.
    Time,
    /// `%a`: a kernel address as its symbol (the consumer looks it up).
    KernelSym,
    /// `%A`: a user address as its symbol in the process that fired (the
    /// checker passes that process's id as a hidden argument after it).
    UserSym,
    /// `%k`: a stack trace.
    Stack,
}

impl Conv {
    /// Whether the argument is a string.
    pub fn wants_string(self) -> bool {
        matches!(self, Conv::Str | Conv::EscapedStr)
    }
    /// Whether the argument is a float.
    pub fn wants_float(self) -> bool {
        matches!(self, Conv::Float | Conv::Exp { .. } | Conv::General { .. })
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
            Conv::Exp { upper } => {
                if upper {
                    'E'
                } else {
                    'e'
                }
            }
            Conv::General { upper } => {
                if upper {
                    'G'
                } else {
                    'g'
                }
            }
            Conv::Time => 'Y',
            Conv::KernelSym => 'a',
            Conv::UserSym => 'A',
            Conv::Stack => 'k',
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
    /// `system(...)`'s: the consumer runs the text as a shell command
    /// instead of printing it.
    pub system: bool,
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
        // dtrace(1) takes `@` after the width too: `%6@d`.
        while matches!(it.peek(), Some('h' | 'l' | 'j' | 'z' | 't' | 'L' | '@')) {
            s.agg |= it.next() == Some('@');
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
            Some('e') => Conv::Exp { upper: false },
            Some('E') => Conv::Exp { upper: true },
            Some('g') => Conv::General { upper: false },
            Some('G') => Conv::General { upper: true },
            Some('Y') => Conv::Time,
            Some('a') => Conv::KernelSym,
            Some('A') => Conv::UserSym,
            Some('k') => Conv::Stack,
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
    Ok(Format { pieces, heading: false, flow: false, system: false })
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
        (Conv::Exp { upper }, v @ (Value::Float(_) | Value::Int(_))) => {
            let f = as_float(&v);
            let digits = c_exp(f.abs(), precision.unwrap_or(6), upper);
            return pad_number(out, s, width, sign(s, f.is_sign_negative()), &digits);
        }
        (Conv::General { upper }, v @ (Value::Float(_) | Value::Int(_))) => {
            let f = as_float(&v);
            let digits = c_general(f.abs(), precision.unwrap_or(6), upper, s.alt);
            return pad_number(out, s, width, sign(s, f.is_sign_negative()), &digits);
        }
        (Conv::Time, Value::Int(ns)) => local_time(ns),
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
        (Conv::Pointer | Conv::KernelSym | Conv::UserSym | Conv::Stack, Value::Int(i)) => format!("0x{:x}", i as u64),
        (Conv::Char, Value::Int(i)) => char::from(i as u8).to_string(),
    };
    pad(out, s.left, width, &body);
}

fn as_float(v: &Value) -> f64 {
    match *v {
        Value::Float(f) => f,
        Value::Int(i) => i as f64,
        Value::Str(_) => 0.0,
    }
}

/// C's `%e` of `f` (not negative): one digit, `precision` decimals, and an
/// exponent of at least two digits (`1.500000e+00`).
fn c_exp(f: f64, precision: usize, upper: bool) -> String {
    if !f.is_finite() {
        return if upper { format!("{f}").to_uppercase() } else { format!("{f}") };
    }
    // Rust's `{:e}` rounds the mantissa as C does and writes `1.5e0`.
    let text = format!("{f:.precision$e}");
    let (mantissa, exp) = text.split_once('e').expect("an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs())
}

/// C's `%g` of `f` (not negative): `%e` when the exponent is below -4 or
/// not below the precision, else `%f`, trailing zeros removed (kept with
/// `#`).
fn c_general(f: f64, precision: usize, upper: bool, alt: bool) -> String {
    if !f.is_finite() {
        return c_exp(f, 0, upper);
    }
    let p = precision.max(1);
    let exp: i32 = if f == 0.0 {
        0
    } else {
        let t = format!("{f:.prec$e}", prec = p - 1);
        t.split_once('e').expect("an exponent").1.parse().expect("an integer exponent")
    };
    let mut text = if exp < -4 || exp >= p as i32 {
        c_exp(f, p - 1, upper)
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        format!("{f:.decimals$}")
    };
    if !alt {
        let (num, tail) = match text.find(['e', 'E']) {
            Some(i) => (text[..i].to_string(), text[i..].to_string()),
            None => (text.clone(), String::new()),
        };
        let num = if num.contains('.') { num.trim_end_matches('0').trim_end_matches('.').to_string() } else { num };
        text = num + &tail;
    }
    text
}

/// Seconds east of UTC of the local time zone, for `%Y`.
static UTC_OFFSET: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Set the local time zone's offset from UTC, in seconds east, that `%Y`
/// prints times in (UTC until set). The consumer sets it from the C
/// library's idea of local time when it starts, as dtrace(1) prints
/// `%Y` in local time.
pub fn set_utc_offset(seconds: i64) {
    UTC_OFFSET.store(seconds, std::sync::atomic::Ordering::Relaxed);
}

/// `%Y`: `ns` nanoseconds since the epoch as `2026 Dec  7 23:02:31`, in
/// the local time zone (see [`set_utc_offset`]).
pub fn local_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000) + UTC_OFFSET.load(std::sync::atomic::Ordering::Relaxed);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{year} {} {day:>2} {:02}:{:02}:{:02}", MONTHS[(month - 1) as usize], rem / 3600, rem / 60 % 60, rem % 60)
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
    fn the_aggregation_mark_may_follow_the_width() {
        // sigdist.d's printa("%16s %6@d\n", ...).
        let f = parse("%4s|%6@d|%-4@u|").unwrap();
        assert_eq!(f.aggregation_conversions(), 2);
        assert_eq!(f.render_aggs(&[Value::Str("ls".into())], &[Value::Int(42), Value::Int(7)]), "  ls|    42|7   |");
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
    fn exponent_and_general_forms_print_as_c_does() {
        use Value::{Float, Int};
        // What C's printf prints for the same formats and values.
        assert_eq!(
            r("%e|%E|%.2e|%e", &[Float(1.5), Float(-12345.678), Float(0.000123), Int(0)]),
            "1.500000e+00|-1.234568E+04|1.23e-04|0.000000e+00"
        );
        assert_eq!(
            r("%g|%g|%g|%g|%G", &[Float(1.5), Float(100000.0), Float(1e6), Float(0.0001), Float(1e-5)]),
            "1.5|100000|1e+06|0.0001|1E-05"
        );
        assert_eq!(
            r("%.3g|%#g|%10.2e|%-8g|", &[Float(4.56789), Float(2.0), Float(1234.5), Float(0.5)]),
            "4.57|2.00000|  1.23e+03|0.5     |"
        );
    }

    #[test]
    fn times_print_as_dtrace_does() {
        // date -u -d @1796684551 is Mon Dec  7 23:02:31 UTC 2026.
        assert_eq!(local_time(1_796_684_551 * 1_000_000_000 + 999), "2026 Dec  7 23:02:31");
        assert_eq!(local_time(0), "1970 Jan  1 00:00:00");
        // 2000-02-29 12:00:00 UTC is 951825600.
        assert_eq!(local_time(951_825_600_000_000_000), "2000 Feb 29 12:00:00");
        assert_eq!(parse("%Y").unwrap().arg_kinds(), [Conv::Time]);
    }

    #[test]
    fn bad_formats_are_errors() {
        assert!(parse("%q").unwrap_err().contains("`%q`"));
        assert!(parse("abc %").is_err());
    }
}
