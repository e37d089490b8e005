//! Whether a run's output shows the lines a doc shows: the same words in
//! the same columns, where the numbers may differ.

/// Whether `shown` (lines a doc shows) appear in `real` in that order, other
/// lines between, each shaped as [`same_shape`] says.
pub(super) fn in_order(shown: &[&String], real: &str) -> Result<(), String> {
    let mut lines = real.lines();
    for s in shown {
        if !lines.any(|r| same_shape(s, r)) {
            return Err(format!("no line shaped as the doc's `{s}` (after the lines before it)"));
        }
    }
    Ok(())
}

/// Whether `real` has the shape of `shown`, a line the doc shows: the same
/// words, but numbers (a run of digits, with the `-` before it) may
/// differ, and each word that is not a number starts in the same column
/// (numbers are right-aligned in columns of their own, so they may not).
pub(super) fn same_shape(shown: &str, real: &str) -> bool {
    let (a, b) = (words_at(shown), words_at(real));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(&(col_a, word_a), &(col_b, word_b))| {
            let mask = mask_numbers(word_a);
            mask == mask_numbers(word_b) && (mask == "#" || col_a == col_b)
        })
}

/// The words of `line`, each with the column (in characters) it starts at.
fn words_at(line: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (col, (i, c)) in line.char_indices().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some((col, i)),
            (true, Some((c0, i0))) => {
                words.push((c0, &line[i0..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some((c0, i0)) = start {
        words.push((c0, &line[i0..]));
    }
    words
}

/// `word` with each number (digits, and a `-` before them) made `#`.
fn mask_numbers(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || (c == '-' && chars.peek().is_some_and(char::is_ascii_digit)) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('#');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn shapes_allow_other_numbers_in_the_same_columns() {
    assert!(same_shape("  0         7      -> work (flow.py:9)", "  1        12      -> work (flow.py:9)"));
    assert!(same_shape("  0         7          <= openat = 3", "  1         0          <= openat = -2"));
    assert!(same_shape("fib          177", "fib          89"));
    assert!(!same_shape("  0         7      -> work (flow.py:9)", "  0         7        -> work (flow.py:9)"));
    assert!(!same_shape("  0         7      -> work (flow.py:9)", "  0         7      -> main (flow.py:9)"));
    assert!(!same_shape("CPU DELTA(us)  EVENT", "CPU DELTA(us) EVENT"));
}
