//! The text of `quantize`, `lquantize` and `llquantize` aggregations, as dtrace(1)
//! prints them: a header with `value`, `Distribution` and `count`, then
//! one row per bucket from the bucket below the lowest non-empty one to
//! the bucket above the highest, each with a bar of up to 40 `@`s scaled
//! to the histogram's total.

use super::sema::{llquantize_bounds, quantize_bucket, quantize_value, AggFunc};

const BAR: usize = 40;

/// The rows of one histogram as dtrace(1) shows them: (label, count) for
/// each bucket from the one below the lowest non-empty bucket to the one
/// above the highest. `buckets` holds (bucket, count) pairs in any order,
/// with buckets numbered as [`AggFunc::Quantize`] and
/// [`AggFunc::Lquantize`] say. A label is the bucket's lowest value, or
/// `< N` / `>= N` for the underflow and overflow buckets. Other functions
/// have no rows.
pub fn rows(func: AggFunc, buckets: &[(i64, i64)]) -> Vec<(String, i64)> {
    let (min_bucket, max_bucket) = match func {
        AggFunc::Quantize => (quantize_bucket(i64::MIN), quantize_bucket(i64::MAX)),
        AggFunc::Lquantize { lo, hi, step } => (0, (hi - lo) / step + 1),
        AggFunc::Llquantize { factor, low, high, nsteps } => {
            (0, llquantize_bounds(factor, low, high, nsteps).len() as i64 + 1)
        }
        _ => return Vec::new(),
    };
    let count = |b: i64| buckets.iter().filter(|(k, _)| *k == b).map(|(_, c)| *c).sum::<i64>();
    let present = buckets.iter().filter(|(_, c)| *c != 0).map(|(b, _)| *b);
    let (first, last) = match (present.clone().min(), present.max()) {
        (Some(a), Some(b)) => ((a - 1).max(min_bucket), (b + 1).min(max_bucket)),
        _ => return Vec::new(),
    };
    (first..=last)
        .map(|b| {
            let label = match func {
                AggFunc::Lquantize { lo, .. } if b == 0 => format!("< {lo}"),
                AggFunc::Lquantize { lo, step, .. } if b == max_bucket => format!(">= {}", lo + (b - 1) * step),
                AggFunc::Lquantize { lo, step, .. } => (lo + (b - 1) * step).to_string(),
                AggFunc::Llquantize { factor, low, .. } if b == 0 => format!("< {}", factor.pow(low)),
                AggFunc::Llquantize { factor, high, .. } if b == max_bucket => {
                    format!(">= {}", factor.pow(high + 1))
                }
                AggFunc::Llquantize { factor, low, high, nsteps } => llquantize_bounds(factor, low, high, nsteps)
                    .get((b - 1) as usize)
                    .map_or(String::new(), |v| v.to_string()),
                _ => quantize_value(b).to_string(),
            };
            (label, count(b))
        })
        .collect()
}

/// Render one histogram (see [`rows`]) with dtrace(1)'s header and a bar
/// of up to 40 `@`s a row, scaled to the histogram's total.
pub fn render(func: AggFunc, buckets: &[(i64, i64)]) -> String {
    let rows = rows(func, buckets);
    if rows.is_empty() {
        return String::new();
    }
    let total: i64 = rows.iter().map(|(_, c)| c.abs()).sum();
    let mut out = format!("\n{:>16} {:>41} {:<9}\n", "value", "------------- Distribution -------------", "count");
    for (label, c) in rows {
        let depth = if total == 0 { 0 } else { ((c.abs() as f64 * BAR as f64) / total as f64 + 0.5) as usize };
        out.push_str(&format!("{label:>16} |{}{} {c:<9}\n", "@".repeat(depth), " ".repeat(BAR - depth)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(func: AggFunc, values: &[i64]) -> String {
        let mut buckets: Vec<(i64, i64)> = Vec::new();
        for &v in values {
            let b = match func {
                AggFunc::Lquantize { lo, hi, step } => {
                    let n = (hi - lo) / step;
                    if v < lo {
                        0
                    } else if v >= lo + n * step {
                        n + 1
                    } else {
                        (v - lo) / step + 1
                    }
                }
                _ => quantize_bucket(v),
            };
            match buckets.iter_mut().find(|(k, _)| *k == b) {
                Some(e) => e.1 += 1,
                None => buckets.push((b, 1)),
            }
        }
        render(func, &buckets)
    }

    #[test]
    fn quantize_buckets_are_powers_of_two() {
        assert_eq!([0, 1, 2, 3, 4, 7, 8, -1, -5].map(quantize_bucket), [0, 1, 2, 2, 3, 3, 4, -1, -3]);
        assert_eq!([0, 1, 2, 3, -3].map(quantize_value), [0, 1, 2, 4, -4]);
        assert_eq!(quantize_bucket(i64::MAX), 63);
        assert_eq!(quantize_bucket(i64::MIN), -64);
    }

    #[test]
    fn quantize_prints_like_dtrace() {
        let text = text(AggFunc::Quantize, &[1, 2, 3, 3]);
        let want = "
           value  ------------- Distribution ------------- count    
               0 |                                         0        
               1 |@@@@@@@@@@                               1        
               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           3        
               4 |                                         0        
";
        assert_eq!(text, want);
    }

    #[test]
    fn lquantize_has_underflow_and_overflow_rows() {
        let f = AggFunc::Lquantize { lo: 0, hi: 30, step: 10 };
        let text = text(f, &[-5, 5, 15, 15, 35]);
        let want = "
           value  ------------- Distribution ------------- count    
             < 0 |@@@@@@@@                                 1        
               0 |@@@@@@@@                                 1        
              10 |@@@@@@@@@@@@@@@@                         2        
              20 |                                         0        
           >= 30 |@@@@@@@@                                 1        
";
        assert_eq!(text, want);
    }
}
