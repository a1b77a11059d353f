//! The soak test: the chat server (`weft_examples::chat`) under up to 1,000
//! clients that connect, talk and hang up at random, with timer and
//! `spawn_blocking` churn on the server's runtime, sampled every second.
//!
//! ```text
//! cargo test --release -p weft-examples --test soak -- --ignored --nocapture
//! WEFT_SOAK_SECS=600 cargo test --release -p weft-examples --test soak -- --ignored --nocapture
//! ```
//!
//! `WEFT_SOAK_SECS` is how long the load runs (default 60), `WEFT_SOAK_SEED`
//! seeds every random choice (default fixed; printed, so a run can be
//! repeated), `WEFT_SOAK_CLIENTS` caps the clients connected at once
//! (default 1,000).
//!
//! The server runs on its own two-worker runtime and the clients on
//! another, in this process, so that the server runtime's counters count
//! only the server. A sampler thread (outside both runtimes) reads, every
//! second: resident memory (`VmRSS`), open file descriptors (entries of
//! `/proc/self/fd`), the server runtime's alive tasks, registered I/O
//! sources (registered less deregistered) and timer entries, the clients
//! in the room, and the blocking pool's threads. It prints each sample as a
//! row, so a CI log shows the curves, then one summary line per quantity
//! (start, peak, end).
//!
//! Passing means: once the load stops and every client has hung up, file
//! descriptors, alive tasks, registered sources and timer entries come back
//! to exactly what they were before the first client (within a bounded
//! settle wait), as do the clients in the room and the blocking pool's
//! threads; and resident memory, after warm-up, grows by less than 1% per
//! minute: the least-squares slope through the second half of the load
//! phase, fitted with the load (clients, tasks, queued lines) so that a
//! stall of the busy machine does not read as growth, and allowed three of
//! its standard errors of slack (see [`GROWTH_ERRORS_ALLOWED`]). On glibc
//! the process uses one allocator arena (see [`one_allocator_arena`]) and
//! resident memory is read after `malloc_trim`; the live heap (bytes
//! allocated and not freed, from a counting global allocator) is sampled
//! beside it, which tells a leak (both grow) from the allocator keeping
//! memory (only resident memory grows). Nothing is asserted about
//! throughput: the machine may be busy.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::pending;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{TcpListener, TcpStream};
use weft::runtime::{Builder, Runtime, RuntimeMetrics};
use weft::sync::{watch, Semaphore};
use weft::time::{sleep, timeout, Instant};
use weft_examples::chat::{self, Room};

/// The seed when `WEFT_SOAK_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5eed_c4a7_2026;

/// The longest a client stays, in milliseconds (each draws its stay
/// uniformly below this).
const MAX_STAY_MS: u64 = 20_000;

/// The mean gap between a client's lines, in milliseconds. Chat sends every
/// line to every other client, so the room's deliveries per second are
/// about clients² / gap: 1,000 clients at one line per 20 s is some 50,000
/// lines a second written by the server and read by the clients, which a
/// busy two-core machine keeps up with (one line a second each would be a
/// million, and the stalls it caused would be most of what the soak saw).
const MEAN_LINE_GAP_MS: u64 = 20_000;

/// How long the quantities get to come back to their baseline once the last
/// client has hung up. A reader task held up by a full outbox waits up to
/// `chat::GRACE`; the rest is slack for a busy machine.
const SETTLE: Duration = Duration::from_secs(15);

/// How long the runtimes' idle blocking threads wait for work before they
/// retire.
const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(1);

/// The most threads the runtimes' blocking pools may have.
const MAX_BLOCKING_THREADS: usize = 8;

/// Where the least-squares fit of resident memory starts: this fraction of
/// the load phase in. As the room fills and the allocator's arena
/// fragments towards its steady state, resident memory climbs for ten to
/// thirty seconds with the live heap flat (with one arena: see
/// [`one_allocator_arena`]).
const WARM_UP_FRACTION: f64 = 0.5;

/// The most resident memory may grow after warm-up, in percent per minute.
const MAX_RSS_GROWTH_PERCENT_PER_MIN: f64 = 1.0;

/// How many standard errors of the fitted growth the growth may exceed
/// [`MAX_RSS_GROWTH_PERCENT_PER_MIN`] by before the test fails: over a
/// short load on a busy machine the stalls (a backlog of lines, then the
/// allocator slowly handing pages back) move the slope by more than the
/// limit itself, and the failure must mean growth, not a stall. Over ten
/// minutes the error is about a tenth of the limit, on a quiet minute a
/// few tenths.
const GROWTH_ERRORS_ALLOWED: f64 = 3.0;

/// Bytes allocated and not yet freed, process-wide: the heap the program
/// holds, as against the resident memory the allocator keeps for it. When
/// resident memory climbs and this does not, the allocator is keeping
/// freed memory (fragmentation, arenas), not the program leaking it.
static LIVE_HEAP: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting into [`LIVE_HEAP`].
struct Counting;

// SAFETY: every call is handed to `System` unchanged; the counting touches
// only an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_HEAP.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller keeps `GlobalAlloc::alloc`'s contract, which is
        // `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_HEAP.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with `layout` (every allocation
        // here does).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_HEAP.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as for `dealloc`, and the caller keeps `realloc`'s
        // contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// xorshift64*: small, seeded, and enough to vary the load.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // xorshift's state must not be zero.
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|err| panic!("{name}={value:?}: not a whole number: {err}")),
        Err(_) => default,
    }
}

/// One second's readings.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// Seconds since the sampler started.
    secs: f64,
    rss_kib: u64,
    heap_kib: u64,
    fds: u64,
    tasks: u64,
    sources: u64,
    timers: u64,
    in_room: u64,
    /// Lines waiting in the room's outboxes.
    queued: u64,
    blocking_threads: u64,
}

impl Sample {
    /// The quantities that must come back to their baseline.
    fn leak_counts(&self) -> [u64; 6] {
        [
            self.fds,
            self.tasks,
            self.sources,
            self.timers,
            self.blocking_threads,
            self.in_room,
        ]
    }

    fn print_header() {
        println!(
            "{:>6} {:>9} {:>9} {:>6} {:>6} {:>8} {:>7} {:>9} {:>7} {:>7}",
            "secs",
            "rss_kib",
            "heap_kib",
            "fds",
            "tasks",
            "sources",
            "timers",
            "blocking",
            "in_room",
            "queued"
        );
    }

    fn print(&self) {
        println!(
            "{:>6.1} {:>9} {:>9} {:>6} {:>6} {:>8} {:>7} {:>9} {:>7} {:>7}",
            self.secs,
            self.rss_kib,
            self.heap_kib,
            self.fds,
            self.tasks,
            self.sources,
            self.timers,
            self.blocking_threads,
            self.in_room,
            self.queued
        );
    }
}

/// A sampled quantity: its name and how to read it from a sample.
type Quantity = (&'static str, fn(&Sample) -> u64);

/// Reads the process's resident memory and open descriptors and the server
/// runtime's counters. Only the sampler thread calls it: counting
/// `/proc/self/fd` opens a descriptor of its own, the same one in every
/// sample.
fn sample(secs: f64, metrics: &RuntimeMetrics, room: &Room) -> Sample {
    // glibc's malloc keeps what is freed in its arenas and hands it back
    // to the system only now and then, so untrimmed resident memory is a
    // ratchet of the allocator's high-water marks, climbing in steps for
    // minutes while the live heap stays flat. Trimmed first, it counts
    // the pages the process holds data in.
    #[cfg(target_env = "gnu")]
    // SAFETY: `malloc_trim` may be called at any time from any thread;
    // it takes each arena's lock.
    unsafe {
        libc::malloc_trim(0);
    }
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");

    let fds = std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .count() as u64;
    Sample {
        secs,
        rss_kib,
        heap_kib: LIVE_HEAP.load(Ordering::Relaxed).max(0) as u64 / 1024,
        fds,
        tasks: metrics.num_alive_tasks() as u64,
        sources: metrics.io_driver_fd_registered_count()
            - metrics.io_driver_fd_deregistered_count(),
        timers: metrics.num_timers() as u64,
        in_room: room.len() as u64,
        queued: room.queued() as u64,
        blocking_threads: metrics.num_blocking_threads() as u64,
    }
}

/// Samples every second until `stop` is dropped, printing each sample and
/// sending it to the test's thread; sample times count from `start`.
fn sampler(
    start: std::time::Instant,
    metrics: RuntimeMetrics,
    room: Arc<Room>,
    samples: std_mpsc::Sender<Sample>,
    stop: std_mpsc::Receiver<()>,
) {
    Sample::print_header();
    for tick in 0u32.. {
        let s = sample(start.elapsed().as_secs_f64(), &metrics, &room);
        s.print();
        if samples.send(s).is_err() {
            return;
        }
        let next = start + Duration::from_secs(u64::from(tick) + 1);
        let wait = next.saturating_duration_since(std::time::Instant::now());
        if let Err(std_mpsc::RecvTimeoutError::Disconnected) = stop.recv_timeout(wait) {
            return;
        }
    }
}

/// What the clients did, counted as it happens.
#[derive(Default)]
struct ClientStats {
    connects: AtomicU64,
    connect_errors: AtomicU64,
    hung_up_at_once: AtomicU64,
    lines_sent: AtomicU64,
    lines_heard: AtomicU64,
    /// Clients the server hung up on (disconnected for not reading fast
    /// enough, which a busy machine may cause): end of stream or a reset.
    cut_off: AtomicU64,
    /// Lines that broke chat's protocol: a first line that was not the
    /// welcome, or a later one not of the form `N: text`.
    malformed: AtomicU64,
    connected: AtomicUsize,
}

/// One client's script, drawn from the seeded generator.
struct Plan {
    /// Hang up right after connecting, maybe before the server has even
    /// accepted.
    at_once: bool,
    stay: Duration,
    /// Gaps before each line (the lines may outlast the stay; those past it
    /// are not sent).
    gaps: Vec<Duration>,
    /// Send half a line (no newline) just before hanging up.
    partial_last: bool,
    /// Padding after each line's number, to vary line lengths.
    pad: usize,
}

impl Plan {
    fn draw(rng: &mut Rng) -> Plan {
        let at_once = rng.chance(10);
        let stay = Duration::from_millis(rng.below(MAX_STAY_MS) + 1);
        let mut gaps = Vec::new();
        let mut total = Duration::ZERO;
        while total < stay {
            let gap = Duration::from_millis(rng.below(2 * MEAN_LINE_GAP_MS) + 1);
            total += gap;
            gaps.push(gap);
        }
        Plan {
            at_once,
            stay,
            gaps,
            partial_last: rng.chance(10),
            pad: rng.below(64) as usize,
        }
    }
}

fn well_formed(line: &str) -> bool {
    line.split_once(": ")
        .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// One client: connects, says its lines, reads everything the room says,
/// and hangs up when its stay is over, when `stop` changes, or when the
/// server hangs up first.
async fn client(
    addr: std::net::SocketAddr,
    number: u64,
    plan: Plan,
    mut stop: watch::Receiver<bool>,
    stats: Arc<ClientStats>,
) {
    let stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(_) => {
            stats.connect_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    stats.connects.fetch_add(1, Ordering::Relaxed);
    if plan.at_once {
        stats.hung_up_at_once.fetch_add(1, Ordering::Relaxed);
        return;
    }
    stats.connected.fetch_add(1, Ordering::Relaxed);
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let pad = "x".repeat(plan.pad);
    let mut gaps = plan.gaps.iter();
    let leave = sleep(plan.stay);
    weft::pin!(leave);
    let first_gap = gaps.next().copied().unwrap_or(plan.stay);
    let next_line = sleep(first_gap);
    weft::pin!(next_line);
    let mut said = 0u64;
    let mut heard = 0u64;
    loop {
        weft::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    let ok = if heard == 0 {
                        line.starts_with("welcome ")
                    } else {
                        well_formed(&line)
                    };
                    if !ok {
                        stats.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                    heard += 1;
                    stats.lines_heard.fetch_add(1, Ordering::Relaxed);
                }
                Ok(None) | Err(_) => {
                    stats.cut_off.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            },
            _ = &mut next_line => {
                let line = format!("client {number} line {said} {pad}\n");
                if writer.write_all(line.as_bytes()).await.is_err() {
                    stats.cut_off.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                said += 1;
                stats.lines_sent.fetch_add(1, Ordering::Relaxed);
                // Past the last gap, the stay ends first.
                let gap = gaps.next().copied().unwrap_or(plan.stay);
                next_line.as_mut().reset(Instant::now() + gap);
            }
            _ = &mut leave => {
                if plan.partial_last {
                    let _ = writer.write_all(b"half a line").await;
                }
                break;
            }
            _ = stop.changed() => break,
        }
    }
    stats.connected.fetch_sub(1, Ordering::Relaxed);
}

/// Starts clients, each with its own plan, keeping up to `max` connected,
/// until `stop` changes; then waits for every client to have hung up.
async fn drive_clients(
    addr: std::net::SocketAddr,
    max: u32,
    seed: u64,
    mut stop: watch::Receiver<bool>,
    stats: Arc<ClientStats>,
) {
    let mut rng = Rng::new(seed);
    let slots = Arc::new(Semaphore::new(max as usize));
    for number in 0u64.. {
        let slot = weft::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = stop.changed() => break,
        };
        let plan = Plan::draw(&mut rng);
        let (stop, stats) = (stop.clone(), stats.clone());
        weft::spawn(async move {
            client(addr, number, plan, stop, stats).await;
            drop(slot);
        });
        // Connect in a trickle rather than all at once (the first thousand
        // over about a second).
        sleep(Duration::from_micros(rng.below(2_000))).await;
    }
    // Every slot back: every client has hung up.
    let _all = slots.acquire_many(max).await.expect("never closed");
}

/// What the server-side churn did.
#[derive(Default)]
struct ChurnStats {
    sleeps: AtomicU64,
    intervals: AtomicU64,
    timeouts_fired: AtomicU64,
    timeouts_cancelled: AtomicU64,
    aborted: AtomicU64,
    blocking: AtomicU64,
}

/// Timer and blocking-pool churn on the server's runtime, a new short task
/// every few milliseconds until `stop` changes: sleeps, intervals,
/// timeouts that fire and timeouts whose future wins (the timer is
/// cancelled), long sleeps in aborted tasks, and `spawn_blocking` closures,
/// some awaited under a timeout that gives up on them.
async fn churn(seed: u64, mut stop: watch::Receiver<bool>, stats: Arc<ChurnStats>) {
    let mut rng = Rng::new(seed ^ 0xc4u64.rotate_left(56));
    // A burst that fills the blocking pool first, so that its threads'
    // memory is part of the warm-up rather than a step in the middle of
    // the load when a stall first needs them all.
    for _ in 0..MAX_BLOCKING_THREADS {
        weft::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(200)));
    }
    let mut tick = weft::time::interval(Duration::from_millis(5));
    loop {
        weft::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let ms = Duration::from_millis(rng.below(100) + 1);
        let stats = stats.clone();
        match rng.below(6) {
            0 => {
                weft::spawn(async move {
                    sleep(ms).await;
                    stats.sleeps.fetch_add(1, Ordering::Relaxed);
                });
            }
            1 => {
                let ticks = rng.below(10) + 1;
                weft::spawn(async move {
                    let mut every = weft::time::interval(ms / 10 + Duration::from_millis(1));
                    for _ in 0..ticks {
                        every.tick().await;
                    }
                    stats.intervals.fetch_add(1, Ordering::Relaxed);
                });
            }
            2 => {
                weft::spawn(async move {
                    if timeout(ms, pending::<()>()).await.is_err() {
                        stats.timeouts_fired.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            3 => {
                weft::spawn(async move {
                    if timeout(Duration::from_secs(60), sleep(ms)).await.is_ok() {
                        stats.timeouts_cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            4 => {
                let long = weft::spawn(sleep(Duration::from_secs(3600)));
                weft::spawn(async move {
                    sleep(ms).await;
                    long.abort();
                    if long.await.is_err_and(|err| err.is_cancelled()) {
                        stats.aborted.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            _ => {
                let work = Duration::from_micros(rng.below(5_000));
                let patience = Duration::from_micros(rng.below(10_000));
                weft::spawn(async move {
                    let job = weft::task::spawn_blocking(move || {
                        // Blocking work: a wait the pool absorbs.
                        std::thread::sleep(work);
                    });
                    let _ = timeout(patience, job).await;
                    stats.blocking.fetch_add(1, Ordering::Relaxed);
                });
            }
        }
    }
}

/// How fast quantity `f` grows over the samples from `from` to `to`
/// seconds, at constant load: the time coefficient of a least-squares fit
/// of `f` on time and the load (clients in the room, alive tasks, lines
/// queued in the outboxes), in percent of `f`'s mean per minute. A stall
/// of the busy machine changes the load for a few seconds (clients leave
/// faster than new ones get in, lines and tasks pile up), and memory with
/// it; fitting the load as well keeps that from reading as growth or
/// shrinkage, while a leak grows with time whatever the load.
fn growth(all: &[Sample], from: f64, to: f64, f: fn(&Sample) -> u64) -> Growth {
    let window: Vec<&Sample> = all
        .iter()
        .filter(|s| s.secs >= from && s.secs <= to)
        .collect();
    let y: Vec<f64> = window.iter().map(|s| f(s) as f64).collect();
    let columns: [Vec<f64>; 4] = [
        window.iter().map(|s| s.secs).collect(),
        window.iter().map(|s| s.in_room as f64).collect(),
        window.iter().map(|s| s.tasks as f64).collect(),
        window.iter().map(|s| s.queued as f64).collect(),
    ];
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let (per_second, error) = time_coefficient(&y, &columns);
    let percent_per_minute = 60.0 / mean * 100.0;
    Growth {
        samples: window.len(),
        mean,
        percent_per_minute: per_second * percent_per_minute,
        standard_error: error * percent_per_minute,
    }
}

/// A quantity's growth after warm-up, as [`growth`] fits it.
struct Growth {
    samples: usize,
    mean: f64,
    percent_per_minute: f64,
    /// The fit's standard error for `percent_per_minute`: how far the
    /// scatter of the samples about the fit leaves the slope uncertain
    /// (allowing for the scatter's autocorrelation).
    standard_error: f64,
}

/// The coefficient of `columns[0]` in the least-squares fit of `y` on all
/// of `columns` (and a constant), with its standard error. A column other
/// than the first that does not vary in the window is left out: it
/// explains nothing, and would make the normal equations singular.
fn time_coefficient(y: &[f64], columns: &[Vec<f64>]) -> (f64, f64) {
    let centred = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| x - mean).collect::<Vec<f64>>()
    };
    let y = centred(y);
    let xs: Vec<Vec<f64>> = columns
        .iter()
        .map(|c| centred(c))
        .enumerate()
        .filter(|(j, c)| *j == 0 || c.iter().any(|x| *x != 0.0))
        .map(|(_, c)| c)
        .collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
    let k = xs.len();
    // The normal equations with two right-hand sides, [X'X | X'y | e0],
    // solved by Gauss-Jordan elimination with partial pivoting: the first
    // gives the coefficients, the second the first column of (X'X)^-1,
    // whose first entry scales the residual variance into the time
    // coefficient's.
    let mut m: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            let mut row: Vec<f64> = (0..k).map(|j| dot(&xs[i], &xs[j])).collect();
            row.push(dot(&xs[i], &y));
            row.push(if i == 0 { 1.0 } else { 0.0 });
            row
        })
        .collect();
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
            .unwrap();
        m.swap(col, pivot);
        let pivot_row = m[col].clone();
        for (_, row) in m.iter_mut().enumerate().filter(|(i, _)| *i != col) {
            let factor = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= factor * p;
            }
        }
    }
    let coefficients: Vec<f64> = (0..k).map(|i| m[i][k] / m[i][i]).collect();
    let residuals: Vec<f64> = (0..y.len())
        .map(|n| y[n] - (0..k).map(|i| coefficients[i] * xs[i][n]).sum::<f64>())
        .collect();
    // Less one degree of freedom for each coefficient and the constant.
    let scatter = residuals.iter().map(|r| r * r).sum::<f64>();
    let variance = scatter / (y.len() - k - 1) as f64;
    let inverse_00 = m[0][k + 1] / m[0][0];
    // The scatter is not independent from one second to the next (a stall
    // and what follows it last seconds), which the formula above assumes:
    // with lag-one autocorrelation rho, the slope's variance is about
    // (1 + rho) / (1 - rho) times larger.
    let rho = if scatter > 0.0 {
        (residuals.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / scatter).clamp(0.0, 0.95)
    } else {
        0.0
    };
    let inflation = (1.0 + rho) / (1.0 - rho);
    (coefficients[0], (variance * inverse_00 * inflation).sqrt())
}

fn runtime(name: &str) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        // Idle blocking threads retire after a second, so the pool's
        // threads come and go under the churn and are all gone within the
        // settle wait.
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        // Each blocking thread holds a stack and, often, an allocator arena
        // of its own: some 150 KiB resident. Uncapped, the pool grows with
        // the busy machine's stalls (a closure that sleeps 5 ms takes 50
        // when the thread is not scheduled) to 20 threads and more, in
        // steps that read as memory growth. Capped, it reaches its size in
        // the first stall; closures past the cap wait in the queue.
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
        .expect("building a runtime")
}

/// Raises the soft limit on open files to the hard one: a thousand clients
/// hold two descriptors each in this process (theirs and the server's).
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0, "getrlimit: {}", std::io::Error::last_os_error());
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit; raising the soft limit up to
        // the hard one needs no privilege.
        let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        assert_eq!(set, 0, "setrlimit: {}", std::io::Error::last_os_error());
    }
}

/// Makes glibc's malloc serve every thread from one arena. With an arena
/// per thread (its default, up to eight per core), resident memory keeps
/// climbing for two or three minutes with the live heap flat, each arena
/// fragmenting towards its steady state as threads come and go between
/// them (measured: +2% per minute from 30 to 60 s, flat only after some
/// 150 s of the ten-minute form): longer than the short form's whole load.
/// With one arena it is flat after some ten seconds. This changes where
/// freed memory waits, not what is allocated: a leak grows the live heap,
/// and resident memory with it, whatever the arenas.
fn one_allocator_arena() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: `mallopt` only sets a parameter of the allocator, and
        // may be called at any time; this is before the runtimes start
        // their threads, so they all share the main arena.
        let set = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        assert_eq!(set, 1, "mallopt(M_ARENA_MAX, 1) failed");
    }
}

#[test]
#[ignore = "a soak: a minute or more of load (WEFT_SOAK_SECS), run by .ci/run in release mode"]
fn chat_under_churning_clients_leaks_nothing() {
    let secs = env_u64("WEFT_SOAK_SECS", 60);
    let seed = env_u64("WEFT_SOAK_SEED", DEFAULT_SEED);
    let max_clients = env_u64("WEFT_SOAK_CLIENTS", 1_000) as u32;
    println!(
        "soak: {secs} s of load, up to {max_clients} clients, seed {seed} \
         (WEFT_SOAK_SECS, WEFT_SOAK_CLIENTS, WEFT_SOAK_SEED)"
    );
    raise_fd_limit();
    one_allocator_arena();

    let server_rt = runtime("soak-server");
    let client_rt = runtime("soak-clients");
    let room = Arc::new(Room::quiet());
    let listener = server_rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("binding the chat server");
    let addr = listener.local_addr().unwrap();
    let server = server_rt.spawn(chat::serve(listener, room.clone()));
    let metrics = server_rt.metrics();

    let start = std::time::Instant::now();
    let (samples_tx, samples) = std_mpsc::channel();
    let (stop_sampler, sampler_stop) = std_mpsc::channel();
    let sampler = {
        let (metrics, room) = (metrics.clone(), room.clone());
        std::thread::spawn(move || sampler(start, metrics, room, samples_tx, sampler_stop))
    };
    let mut all: Vec<Sample> = Vec::new();
    let baseline = samples.recv().expect("the sampler's first sample");
    all.push(baseline);

    // The load.
    let load_start = baseline.secs;
    let (stop_tx, stop_rx) = watch::channel(false);
    let client_stats = Arc::new(ClientStats::default());
    let churn_stats = Arc::new(ChurnStats::default());
    let churner = server_rt.spawn(churn(seed, stop_rx.clone(), churn_stats.clone()));
    let clients = client_rt.spawn(drive_clients(
        addr,
        max_clients,
        seed,
        stop_rx,
        client_stats.clone(),
    ));
    client_rt.block_on(async { sleep(Duration::from_secs(secs)).await });
    let load_end = start.elapsed().as_secs_f64();
    stop_tx.send(true).expect("the load's tasks are listening");
    client_rt
        .block_on(clients)
        .expect("the client driver finished");
    server_rt.block_on(churner).expect("the churn finished");
    all.extend(samples.try_iter());
    println!("soak: load stopped; every client has hung up");

    // Settle: samples until the counts are back, within a bound.
    let settle_start = std::time::Instant::now();
    let end = loop {
        let left = SETTLE.saturating_sub(settle_start.elapsed());
        match samples.recv_timeout(left) {
            Ok(s) => {
                all.push(s);
                if s.leak_counts() == baseline.leak_counts() {
                    break s;
                }
            }
            Err(_) => break *all.last().unwrap(),
        }
    };
    drop(stop_sampler);
    sampler.join().expect("the sampler thread");

    // The summary.
    let peak = |f: fn(&Sample) -> u64| all.iter().map(f).max().unwrap();
    let quantities: [Quantity; 9] = [
        ("rss_kib", |s| s.rss_kib),
        ("heap_kib", |s| s.heap_kib),
        ("fds", |s| s.fds),
        ("tasks", |s| s.tasks),
        ("sources", |s| s.sources),
        ("timers", |s| s.timers),
        ("blocking", |s| s.blocking_threads),
        ("in_room", |s| s.in_room),
        ("queued", |s| s.queued),
    ];
    println!("soak curves (start = before the first client, end = after the load and settling):");
    for (name, f) in quantities {
        println!(
            "  {name:<9} start {:>9}  peak {:>9}  end {:>9}",
            f(&baseline),
            peak(f),
            f(&end)
        );
    }
    let warm = load_start + (load_end - load_start) * WARM_UP_FRACTION;
    // The sample on the second the load stops may see the clients leave.
    let fit_end = load_end - 1.0;
    let rss = growth(&all, warm, fit_end, |s| s.rss_kib);
    let heap = growth(&all, warm, fit_end, |s| s.heap_kib);
    println!(
        "  after warm-up (from {warm:.0} s to {fit_end:.0} s, {} samples): \
         rss mean {:.0} KiB, growth {:+.3} ± {:.3}% per minute; \
         heap mean {:.0} KiB, growth {:+.3} ± {:.3}% per minute",
        rss.samples,
        rss.mean,
        rss.percent_per_minute,
        rss.standard_error,
        heap.mean,
        heap.percent_per_minute,
        heap.standard_error
    );
    let c = &*client_stats;
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "  clients: {} connects ({} hung up at once, {} connect errors), {} joined the room, \
         {} cut off by the server ({} kicked for not reading), {} lines sent, {} lines heard, \
         {} malformed",
        n(&c.connects),
        n(&c.hung_up_at_once),
        n(&c.connect_errors),
        room.joined(),
        n(&c.cut_off),
        room.kicked(),
        n(&c.lines_sent),
        n(&c.lines_heard),
        n(&c.malformed)
    );
    let t = &*churn_stats;
    println!(
        "  server churn: {} sleeps, {} intervals, {} timeouts fired, {} timeouts cancelled, \
         {} aborted sleepers, {} spawn_blocking calls",
        n(&t.sleeps),
        n(&t.intervals),
        n(&t.timeouts_fired),
        n(&t.timeouts_cancelled),
        n(&t.aborted),
        n(&t.blocking)
    );

    server.abort();
    drop(client_rt);
    drop(server_rt);

    assert_eq!(n(&c.malformed), 0, "lines that broke chat's protocol");
    assert!(n(&c.connects) > 0, "no client connected");
    for (name, f) in &quantities[2..8] {
        assert_eq!(
            f(&end),
            f(&baseline),
            "{name} did not come back to its baseline within {SETTLE:?} of the load's end"
        );
    }
    assert!(
        rss.samples >= 10,
        "too few samples after warm-up to fit resident memory's growth: {}",
        rss.samples
    );
    assert!(
        rss.percent_per_minute - GROWTH_ERRORS_ALLOWED * rss.standard_error
            < MAX_RSS_GROWTH_PERCENT_PER_MIN,
        "resident memory grows {:.3} ± {:.3}% per minute after warm-up",
        rss.percent_per_minute,
        rss.standard_error
    );
}

/// The fit the memory criterion rests on: it recovers the time coefficient
/// exactly from data that are a line in time plus a load term, leaves out
/// a load that does not vary, and has no error on exact data.
#[test]
fn the_growth_fit_separates_time_from_load() {
    let t: Vec<f64> = (0..40).map(f64::from).collect();
    // A load that swings up and down, and one that stays put.
    let load: Vec<f64> = t.iter().map(|t| ((t * 0.7).sin() * 50.0).round()).collect();
    let flat = vec![7.0; t.len()];
    let y: Vec<f64> = t
        .iter()
        .zip(&load)
        .map(|(t, l)| 1_000.0 + 2.5 * t + 3.0 * l)
        .collect();
    let (slope, error) = time_coefficient(&y, &[t.clone(), load.clone(), flat]);
    assert!((slope - 2.5).abs() < 1e-9, "slope {slope}");
    assert!(error < 1e-6, "error {error}");
    // Fitted on time alone, the load's swings move the slope.
    let (alone, _) = time_coefficient(&y, &[t]);
    assert!((alone - 2.5).abs() > 0.01, "slope on time alone {alone}");
}
