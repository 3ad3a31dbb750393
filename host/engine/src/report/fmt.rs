//! How figures read in every report and message: units always shown, rounded to what
//! a reader can compare.

/// `812 B`, `1.2 kB`, `12.0 MB` (decimal units, as network figures are given).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `0.42 s`, `12.3 s`, `1m 05s`.
pub fn secs(s: f64) -> String {
    if s >= 60.0 {
        let whole = s.round() as u64;
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_carry_units() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(12_345_678), "12.3 MB");
        assert_eq!(secs(0.4234), "0.42 s");
        assert_eq!(secs(24.56), "24.6 s");
        assert_eq!(secs(65.2), "1m 05s");
    }
}
