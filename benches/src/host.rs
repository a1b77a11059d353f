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

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_line_names_cores_and_the_backend_line_a_backend() {
        assert!(super::describe().ends_with(" cores"));
        let backend = super::weft_io_backend();
        assert!(backend.starts_with("native") || backend.starts_with("portable"));
    }
}
