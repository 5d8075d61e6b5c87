//! UTC calendar arithmetic for labels and metadata (no time-zone database:
//! backups label times in UTC so that the same instant always reads the same).

/// (year, month 1-12, day 1-31, hour, minute, second) of a Unix time, UTC.
pub fn civil(unix: u64) -> (u32, u32, u32, u32, u32, u32) {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Days since 1970-01-01 to a proleptic Gregorian date (era-based method).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
    (year, month, day, (secs / 3600) as u32, (secs / 60 % 60) as u32, (secs % 60) as u32)
}

/// "2026-11-25 01:15:47", as xtrabackup_info writes times.
pub fn iso(unix: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// "261125 01:15:47", as xtrabackup prefixes its log lines.
pub fn log_label(unix: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{:02}{mo:02}{d:02} {h:02}:{mi:02}:{s:02}", y % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        // 2017-07-04 07:52:09 UTC: the reference run's start (15:52:09 in UTC+8).
        assert_eq!(iso(1_499_154_729), "2017-07-04 07:52:09");
        assert_eq!(log_label(1_499_154_729), "170704 07:52:09");
        // A leap day and the turn of a century-leap year.
        assert_eq!(iso(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(iso(1_709_251_199), "2024-02-29 23:59:59");
        assert_eq!(iso(4_102_444_800), "2100-01-01 00:00:00");
    }
}
