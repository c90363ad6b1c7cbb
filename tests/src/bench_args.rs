//! What the multi-card benchmarks (`smdp-bench`, `remote-flow-bench`) share: their
//! `--cards` / `--rounds` values and the median of their samples.

use anyhow::{Context as _, Result};

/// `--cards 1,4,16`: positive card counts.
pub fn card_counts(value: Option<String>) -> Result<Vec<usize>> {
    value
        .context("--cards wants a list such as 1,4,16")?
        .split(',')
        .map(|c| c.trim().parse().ok().filter(|&n: &usize| n > 0))
        .collect::<Option<_>>()
        .context("--cards wants positive numbers")
}

/// `--rounds N`: a positive number.
pub fn rounds(value: Option<String>) -> Result<usize> {
    value
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .context("--rounds wants a positive number")
}

/// The median (the upper one of an even count; NaN when there is none). Sorts `v`.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert_eq!(card_counts(Some("1, 4,16".into())).unwrap(), vec![1, 4, 16]);
        assert!(card_counts(Some("1,0".into())).is_err());
        assert!(card_counts(None).is_err());
        assert_eq!(rounds(Some("3".into())).unwrap(), 3);
        assert!(rounds(Some("0".into())).is_err());
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 9.0]), 3.0);
        assert!(median(&mut []).is_nan());
    }
}
