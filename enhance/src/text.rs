//! Text the widgets show, made the same way on the server (the first
//! render) and in the browser (after each answer).
//!
//! Integers are written by hand on purpose: `core::fmt` would add kilobytes
//! to the browser bundle for a few labels.

/// Appends `n` in decimal.
pub fn push_integer(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// `n` in decimal.
pub fn integer(n: u64) -> String {
    let mut out = String::new();
    push_integer(&mut out, n);
    out
}

/// Microseconds as milliseconds with two decimals, e.g. `1.25 ms`.
pub fn millis(us: u64) -> String {
    let mut out = String::new();
    push_integer(&mut out, us / 1000);
    out.push('.');
    let hundredths = us % 1000 / 10;
    if hundredths < 10 {
        out.push('0');
    }
    push_integer(&mut out, hundredths);
    out.push_str(" ms");
    out
}

/// `value` with `places` decimals (at most 6), rounded half away from
/// zero, e.g. `decimal(2.25, 1)` is `2.3`: what `format!("{:.1}")` shows,
/// without `core::fmt`'s float code, which is the biggest single function
/// a browser bundle would otherwise carry for it.
pub fn decimal(value: f64, places: u8) -> String {
    let scale = 10u64.pow(u32::from(places.min(6)));
    let scaled = (value.abs() * scale as f64).round();
    // Beyond 2^63 the digits mean nothing anyway; NaN shows as 0.
    let scaled = if scaled < 9.2e18 { scaled as u64 } else { 0 };
    let mut out = String::new();
    if value < 0.0 && scaled != 0 {
        out.push('-');
    }
    push_integer(&mut out, scaled / scale);
    if scale > 1 {
        out.push('.');
        let fraction = integer(scaled % scale);
        for _ in fraction.len()..usize::from(places.min(6)) {
            out.push('0');
        }
        out.push_str(&fraction);
    }
    out
}

/// `part` as thousandths of `total`.
pub fn per_mille(part: u64, total: u64) -> u64 {
    part.saturating_mul(1000) / total.max(1)
}

/// Thousandths as a percentage with one decimal, e.g. `12.5%`.
pub fn percent_from_per_mille(per_mille: u64) -> String {
    let mut out = String::new();
    push_integer(&mut out, per_mille / 10);
    out.push('.');
    push_integer(&mut out, per_mille % 10);
    out.push('%');
    out
}

/// Headers a browser refuses to let a page set. The request widget says so
/// instead of letting them vanish.
pub fn is_forbidden_header(name: &str) -> bool {
    const FORBIDDEN: [&str; 10] = [
        "host",
        "content-length",
        "cookie",
        "connection",
        "origin",
        "referer",
        "user-agent",
        "accept-encoding",
        "keep-alive",
        "transfer-encoding",
    ];
    let name = name.trim().to_ascii_lowercase();
    FORBIDDEN.contains(&name.as_str()) || name.starts_with("sec-") || name.starts_with("proxy-")
}

/// The names among `names` that a browser will not send, lower-cased and
/// joined with commas; empty when there are none.
pub fn forbidden_header_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut list = String::new();
    for name in names.into_iter().filter(|name| is_forbidden_header(name)) {
        if !list.is_empty() {
            list.push_str(", ");
        }
        list.push_str(&name.trim().to_ascii_lowercase());
    }
    list
}

/// The status line of an exercise card, from the reader's standing.
pub fn exercise_status(
    attempts: u32,
    best_score: Option<u32>,
    passed: bool,
    points: u32,
) -> String {
    let Some(best) = best_score.filter(|_| attempts > 0) else {
        return "Not attempted yet.".into();
    };
    let mut out = String::from(if passed { "Done: " } else { "Best so far: " });
    push_integer(&mut out, best.into());
    out.push_str(" of ");
    push_integer(&mut out, points.into());
    out.push_str(if passed {
        " points, in "
    } else {
        " points after "
    });
    push_integer(&mut out, attempts.into());
    out.push_str(if attempts == 1 {
        " attempt."
    } else {
        " attempts."
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_milliseconds() {
        assert_eq!(millis(1_250), "1.25 ms");
        assert_eq!(millis(7), "0.00 ms");
        assert_eq!(millis(1_050), "1.05 ms");
        assert_eq!(millis(42_000), "42.00 ms");
        assert_eq!(integer(0), "0");
        assert_eq!(integer(u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn decimals_round_half_away_from_zero() {
        assert_eq!(decimal(2.25, 1), "2.3");
        assert_eq!(decimal(1.0, 2), "1.00");
        assert_eq!(decimal(0.004, 2), "0.00");
        assert_eq!(decimal(12.3456, 2), "12.35");
        assert_eq!(decimal(-0.04, 1), "0.0");
        assert_eq!(decimal(-1.25, 1), "-1.3");
        assert_eq!(decimal(1234.5, 0), "1235");
        assert_eq!(decimal(0.05, 3), "0.050");
        assert_eq!(decimal(f64::NAN, 1), "0.0");
    }

    #[test]
    fn bar_positions_are_percentages_of_the_whole() {
        assert_eq!(percent_from_per_mille(per_mille(1, 8)), "12.5%");
        assert_eq!(percent_from_per_mille(per_mille(5, 0)), "500.0%");
    }

    #[test]
    fn forbidden_headers_are_named_once_each_in_lower_case() {
        assert!(is_forbidden_header(" Cookie "));
        assert!(is_forbidden_header("Sec-Fetch-Mode"));
        assert!(!is_forbidden_header("Accept"));
        assert_eq!(
            forbidden_header_list(["Accept", "Host", "proxy-x"]),
            "host, proxy-x"
        );
        assert_eq!(forbidden_header_list(["Accept"]), "");
    }

    #[test]
    fn the_status_line_counts_attempts_and_points() {
        assert_eq!(exercise_status(0, None, false, 3), "Not attempted yet.");
        assert_eq!(
            exercise_status(1, Some(3), true, 3),
            "Done: 3 of 3 points, in 1 attempt."
        );
        assert_eq!(
            exercise_status(2, Some(1), false, 3),
            "Best so far: 1 of 3 points after 2 attempts."
        );
    }
}
