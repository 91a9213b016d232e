//! The calendar sums deadlines need: days and times written the way HTML
//! date inputs write them, in a class's local time (a fixed offset from
//! UTC), to and from Unix seconds. Civil-date arithmetic after Howard
//! Hinnant's `days_from_civil`, for the proleptic Gregorian calendar.

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, if it is one.
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    if ![year, month, day].iter().all(|part| all_digits(part)) {
        return None;
    }
    let (year, month, day): (i64, u32, u32) =
        (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Unix seconds of a local `YYYY-MM-DDTHH:MM` (or with a space, or a bare
/// date meaning the end of that day, 23:59) at `offset_minutes` east of UTC.
pub fn parse_local(text: &str, offset_minutes: i32) -> Option<i64> {
    let text = text.trim();
    let (day, time) = match text.split_once(['T', ' ']) {
        Some((day, time)) => (day, time),
        None => (text, "23:59"),
    };
    let days = parse_day(day)?;
    let (hours, minutes) = time.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 || !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(days * 86_400 + hours * 3_600 + minutes * 60 - i64::from(offset_minutes) * 60)
}

/// `YYYY-MM-DDTHH:MM` of Unix seconds `at`, in local time `offset_minutes` east of UTC.
pub fn format_local(at: i64, offset_minutes: i32) -> String {
    let local = at + i64::from(offset_minutes) * 60;
    let (days, seconds) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}",
        seconds / 3_600,
        seconds % 3_600 / 60
    )
}

/// How people read a deadline: `2027-01-31 23:59 (UTC+01:00)`.
pub fn describe(at: i64, offset_minutes: i32) -> String {
    format!(
        "{} ({})",
        format_local(at, offset_minutes).replace('T', " "),
        describe_offset(offset_minutes)
    )
}

/// `UTC`, `UTC+01:00`, `UTC-05:30`.
pub fn describe_offset(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".into();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let minutes = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Minutes east of UTC of `+HH:MM`, `-HH:MM` or `Z`/`UTC`, within ±14 hours.
pub fn parse_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let text = text.strip_prefix("UTC").unwrap_or(text);
    if text.is_empty() || text == "Z" {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "00"));
    if hours.is_empty()
        || hours.len() > 2
        || minutes.len() != 2
        || !all_digits(hours)
        || !all_digits(minutes)
    {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= 14 * 60).then_some(sign * total)
}

/// Only ASCII digits: `parse` alone would take a sign.
fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_through_the_calendar() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2000-03-01"), Some(11_017));
        assert_eq!(
            parse_day("2024-02-29").map(civil_from_days),
            Some((2024, 2, 29))
        );
        for bad in [
            "2023-02-29",
            "2027-13-01",
            "2027-1-01",
            "27-01-01",
            "2027-01-00",
            "x",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        for days in [-1_000, 0, 19_000, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn local_times_follow_the_class_offset() {
        // 2027-01-31 23:59 at UTC+01:00 is 22:59 UTC.
        let at = parse_local("2027-01-31T23:59", 60).unwrap();
        assert_eq!(format_local(at, 0), "2027-01-31T22:59");
        assert_eq!(format_local(at, 60), "2027-01-31T23:59");
        assert_eq!(
            parse_local("2027-01-31", 60),
            Some(at),
            "a bare day means its end"
        );
        assert_eq!(parse_local("2027-01-31 23:59", 60), Some(at));
        assert_eq!(describe(at, 60), "2027-01-31 23:59 (UTC+01:00)");
        assert_eq!(describe(at, -330), "2027-01-31 17:29 (UTC-05:30)");
        assert_eq!(parse_local("2027-01-31T24:00", 0), None);
        assert_eq!(parse_local("2027-01-31T-1:-5", 0), None);
        assert_eq!(parse_offset("+-1:00"), None);
    }

    #[test]
    fn offsets_are_read_as_people_write_them() {
        assert_eq!(parse_offset("+01:00"), Some(60));
        assert_eq!(parse_offset("-05:30"), Some(-330));
        assert_eq!(parse_offset("UTC+2"), Some(120));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("+15:00"), None);
        assert_eq!(parse_offset("CET"), None);
        assert_eq!(describe_offset(0), "UTC");
    }
}
