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

/// The I/O backend weft's runtimes get here: the `WEFT_IO_BACKEND`
/// environment variable's choice, as the runtime's builder reads it.
pub fn weft_io_backend() -> String {
    let asked = std::env::var(weft::runtime::IO_BACKEND_ENV)
        .ok()
        .and_then(|value| value.parse::<weft::runtime::IoBackend>().ok())
        .unwrap_or_default();
    match (asked.resolve(), cfg!(target_os = "linux")) {
        (weft::runtime::IoBackend::Native, true) => "native (weft's epoll)".to_string(),
        _ => "portable (the polling crate)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_line_names_cores_and_the_backend_line_a_backend() {
        assert!(super::describe().ends_with(" cores"));
        let backend = super::weft_io_backend();
        assert!(backend.starts_with("native") || backend.starts_with("portable"));
    }
}
