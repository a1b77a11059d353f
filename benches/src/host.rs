//! What the numbers were measured on, for the table's header: the host
//! (CPU model, kernel, cores) and the I/O backend weft's runtimes use.
//! Ratios move with the host (a wake-up costs more on one CPU than on
//! another), so a table without its host cannot be compared with another.

use std::fs;

/// `"<CPU model>, Linux <release>, <N> cores"`, with `unknown` for what
/// this platform does not say.
pub fn describe() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| format!("{} {}", std::env::consts::OS, release.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {kernel}, {cores} cores")
}

/// The I/O backend weft's runtimes get here, as a runtime built the way
/// the bench builds them reports it (so `WEFT_IO_BACKEND` is read by the
/// builder itself, not a second parser).
pub fn weft_io_backend() -> String {
    use weft::runtime::{Builder, IoBackend};
    match Builder::new_current_thread()
        .build()
        .map(|rt| rt.handle().io_backend())
    {
        Ok(IoBackend::Native) if cfg!(target_os = "linux") => "native (weft's epoll)".to_string(),
        Ok(_) => "portable (the polling crate)".to_string(),
        Err(err) => format!("none ({err})"),
    }
}

/// Today's date in UTC, `YYYY-MM-DD`, for the chart's title (from the
/// system clock; 1970-01-01 if it is set before then).
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_date(secs / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date `days` days after 1970-01-01: counted in
/// 400-year eras of 146,097 days, with years starting on 1 March so the
/// leap day is the last day of a year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of the era, 0..146_096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March year
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), (1970, 1, 1));
        assert_eq!(super::civil_date(59), (1970, 3, 1));
        // 2000-02-29 (a leap day of a 400-year), and the day after.
        assert_eq!(super::civil_date(11_016), (2000, 2, 29));
        assert_eq!(super::civil_date(11_017), (2000, 3, 1));
        // 2026-12-06.
        assert_eq!(super::civil_date(20_793), (2026, 12, 6));
        assert_eq!(super::today_utc().len(), 10);
    }

    #[test]
    fn the_host_line_names_cores_and_the_backend_line_a_backend() {
        assert!(super::describe().ends_with(" cores"));
        let backend = super::weft_io_backend();
        assert!(backend.starts_with("native") || backend.starts_with("portable"));
    }
}
