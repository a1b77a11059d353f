//! How busy the machine was with other work while the bench ran.
//!
//! Other processes (a build, a test run) steal CPU from the runtimes under
//! test and make samples noisy, especially on a 2-core machine. The bench
//! snapshots the machine's CPU time (`/proc/stat`) and its own
//! (`/proc/self/stat`) at the start and end of the timed workloads and
//! reports the share of CPU time that went to everything else, so a noisy
//! table says why.

/// CPU time counters, in clock ticks.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    /// All CPUs' busy time, including time stolen by the hypervisor.
    busy: u64,
    /// All CPUs' busy and idle time.
    total: u64,
    /// This process's user and system time (all threads).
    own: u64,
}

impl Snapshot {
    /// Reads the counters; `None` where /proc is not there or not readable.
    pub fn take() -> Option<Snapshot> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is
        // already counted in user).
        let field = |i: usize| cpu.get(i).copied().unwrap_or(0);
        let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
        let total = busy + field(3) + field(4);

        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let after_comm = &own_stat[own_stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        let own = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Snapshot { busy, total, own })
    }

    /// The share (0 to 1) of all CPU time between `self` and `later` that
    /// went to other processes (or was stolen by the hypervisor).
    pub fn others_share(&self, later: &Snapshot) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        if total == 0 {
            return None;
        }
        let busy = later.busy.saturating_sub(self.busy);
        let own = later.own.saturating_sub(self.own);
        Some(busy.saturating_sub(own) as f64 / total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_and_computes_a_share() {
        let Some(a) = Snapshot::take() else {
            return; // no /proc here
        };
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(30) {
            std::hint::black_box(0);
        }
        let b = Snapshot::take().unwrap();
        if let Some(share) = a.others_share(&b) {
            assert!((0.0..=1.0).contains(&share), "{share}");
        }
    }
}
