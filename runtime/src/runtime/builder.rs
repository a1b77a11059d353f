//! `Builder`: how a runtime is configured and started.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use weft_reactor::IoBackend;

use super::services::Services;
use super::slow_poll::SlowPoll;
use super::watchdog::{DetectorConfig, OnSlowPoll, Watchdog};
use super::RuntimeFlavor;
use super::{Handle, Runtime};
use crate::blocking::Spawner;
use crate::scheduler::config::Config as SchedulerConfig;
use crate::scheduler::histogram::{HistogramConfiguration, HistogramScale, LegacyLayout};
use crate::scheduler::worker;
use crate::threads::ThreadConfig;

/// Default cap on blocking-pool threads (tokio's number).
const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;
/// Default idle time before a blocking thread retires (tokio's number).
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);
/// Environment variable that overrides the default worker count.
pub const WORKER_THREADS_ENV: &str = "WEFT_WORKER_THREADS";
/// Environment variable that overrides the default I/O backend (`native`
/// or `portable`).
pub const IO_BACKEND_ENV: &str = "WEFT_IO_BACKEND";

/// Configures and builds a [`Runtime`].
///
/// ```
/// use weft_runtime::runtime::Builder;
///
/// let rt = Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-server")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    flavor: RuntimeFlavor,
    worker_threads: Option<usize>,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    thread_stack_size: Option<usize>,
    max_blocking_threads: usize,
    keep_alive: Duration,
    on_thread_start: Option<Arc<dyn Fn() + Send + Sync>>,
    on_thread_stop: Option<Arc<dyn Fn() + Send + Sync>>,
    start_paused: bool,
    io_backend: Option<IoBackend>,
    name: Option<String>,
    scheduler: SchedulerConfig,
    max_io_events_per_tick: usize,
    max_io_events_per_busy_tick: Option<usize>,
    slow_poll_threshold: Option<Duration>,
    on_slow_poll: Option<OnSlowPoll>,
    poll_time_histogram_enabled: bool,
    poll_time_histogram: Option<HistogramConfiguration>,
    legacy_histogram: Option<LegacyLayout>,
}

/// What `slow_poll_threshold` defaults to: asyncio's debug-mode figure.
/// Off under loom and miri, whose models and interpreter would otherwise
/// run the watchdog thread in every test.
const DEFAULT_SLOW_POLL_THRESHOLD: Option<Duration> = if cfg!(any(loom, miri)) {
    None
} else {
    Some(Duration::from_millis(100))
};

/// What `max_io_events_per_tick` defaults to (tokio's number).
const DEFAULT_MAX_IO_EVENTS_PER_TICK: usize = 1024;

impl Builder {
    /// A runtime whose tasks run on a pool of worker threads that steal work
    /// from each other.
    pub fn new_multi_thread() -> Builder {
        Builder::new(RuntimeFlavor::MultiThread)
    }

    /// A runtime whose tasks all run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(RuntimeFlavor::CurrentThread)
    }

    fn new(flavor: RuntimeFlavor) -> Builder {
        Builder {
            flavor,
            worker_threads: None,
            thread_name: Arc::new(|| "weft-worker".to_string()),
            thread_stack_size: None,
            max_blocking_threads: DEFAULT_MAX_BLOCKING_THREADS,
            keep_alive: DEFAULT_KEEP_ALIVE,
            on_thread_start: None,
            on_thread_stop: None,
            start_paused: false,
            io_backend: None,
            name: None,
            scheduler: SchedulerConfig::default(),
            max_io_events_per_tick: DEFAULT_MAX_IO_EVENTS_PER_TICK,
            max_io_events_per_busy_tick: None,
            slow_poll_threshold: DEFAULT_SLOW_POLL_THRESHOLD,
            on_slow_poll: None,
            poll_time_histogram_enabled: false,
            poll_time_histogram: None,
            legacy_histogram: None,
        }
    }

    /// Reports polls that run longer than `threshold` (default 100 ms;
    /// `None` turns the detector off): a task that blocks its worker (a
    /// synchronous lock, file or network call, a long computation) stalls
    /// every other task queued there, and this says which one, where it was
    /// spawned, and for how long, while it is still blocking.
    ///
    /// A watchdog thread (one per runtime, named like its other threads,
    /// started only while a threshold is set) wakes every quarter threshold
    /// and compares what each worker is polling with its last look; the
    /// workers pay nothing for it beyond the two stores per poll their
    /// metrics make anyway (no clock read, no system call). A poll that has
    /// run past the threshold is reported while it runs (again at doubling
    /// ages, at least a second apart) and once more when it ends, with its
    /// total; so is a current-thread runtime's `block_on` future, and a
    /// runtime whose I/O driver nobody has turned for longer than the
    /// threshold while events wait in it. A task is reported at most once a
    /// second. Polls are seen by sampling, so one that runs less than about
    /// a quarter threshold past the threshold may go unreported. Blocking
    /// pool threads (`spawn_blocking`) and `block_in_place` closures are
    /// never reported: that is where blocking belongs.
    ///
    /// The watchdog also keeps I/O and timers served while a task blocks
    /// a worker: the worker that woke a task from the driver runs it, so
    /// when that poll blocks, nobody may be left turning the driver while
    /// other workers sleep. On a sample that finds one worker still in the
    /// same poll and the driver unturned since, the watchdog wakes a
    /// sleeping worker, which steals what it can and waits in the driver;
    /// that takes up to about half a threshold. The same goes for a task
    /// queued behind a poll that blocks: a task spawned alone on a worker's
    /// queue runs next there, so the spawn wakes no sleeper for it; if the
    /// spawner's poll keeps the thread instead, the watchdog's sample wakes
    /// one to steal it. With the detector off, a blocked worker can hold up
    /// sockets, timers and the one task queued behind it until its poll
    /// ends, as on tokio.
    ///
    /// Reports go to [`on_slow_poll`](Self::on_slow_poll)'s handler if one
    /// is set, else to standard error, one line each ([`SlowPoll`]'s
    /// `Display`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_runtime::runtime::Builder;
    ///
    /// let rt = Builder::new_multi_thread()
    ///     .slow_poll_threshold(Some(Duration::from_millis(50)))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn slow_poll_threshold(&mut self, threshold: Option<Duration>) -> &mut Self {
        self.slow_poll_threshold = threshold;
        self
    }

    /// Where slow-poll reports go (see
    /// [`slow_poll_threshold`](Self::slow_poll_threshold)) instead of
    /// standard error. Runs on the watchdog thread, never on a worker; a
    /// panic in it is reported by the panic hook and otherwise ignored.
    /// Shutting the runtime down waits for a handler that is running (not
    /// `shutdown_background`), so it should not block for long.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_runtime::runtime::Builder;
    ///
    /// let rt = Builder::new_multi_thread()
    ///     .on_slow_poll(|report| eprintln!("{report}"))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn on_slow_poll(
        &mut self,
        handler: impl Fn(&SlowPoll) + Send + Sync + 'static,
    ) -> &mut Self {
        self.on_slow_poll = Some(Arc::new(handler));
        self
    }

    /// Records how long each task poll takes in a per-worker histogram
    /// ([`RuntimeMetrics::poll_time_histogram_bucket_count`](super::RuntimeMetrics::poll_time_histogram_bucket_count)),
    /// laid out by
    /// [`metrics_poll_time_histogram_configuration`](Self::metrics_poll_time_histogram_configuration)
    /// (by default log-scale buckets from 100 ns to 60 s, each at most a
    /// quarter wide, [`LogHistogram::default`](super::LogHistogram::default);
    /// tokio's default is ten linear buckets of 100 µs).
    ///
    /// Off by default, as tokio's: it reads the clock before and after
    /// every poll (two `clock_gettime` calls, tens of nanoseconds each on
    /// a VM), which nothing else on the poll path does. With it off the
    /// poll path reads no clock.
    pub fn enable_metrics_poll_time_histogram(&mut self) -> &mut Self {
        self.poll_time_histogram_enabled = true;
        self
    }

    /// The poll-time histogram's buckets. As tokio's, this does not turn
    /// the histogram on:
    /// [`enable_metrics_poll_time_histogram`](Self::enable_metrics_poll_time_histogram)
    /// does.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_runtime::runtime::{Builder, HistogramConfiguration};
    ///
    /// let rt = Builder::new_current_thread()
    ///     .enable_metrics_poll_time_histogram()
    ///     .metrics_poll_time_histogram_configuration(HistogramConfiguration::linear(
    ///         Duration::from_micros(50),
    ///         20,
    ///     ))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.metrics().poll_time_histogram_num_buckets(), 20);
    /// ```
    pub fn metrics_poll_time_histogram_configuration(
        &mut self,
        configuration: HistogramConfiguration,
    ) -> &mut Self {
        self.poll_time_histogram = Some(configuration);
        self.legacy_histogram = None;
        self
    }

    /// The scale of the poll-time histogram's buckets, in the older API
    /// (default linear). Once any of the three older settings is made, they
    /// lay out the histogram, until
    /// [`metrics_poll_time_histogram_configuration`](Self::metrics_poll_time_histogram_configuration)
    /// is called.
    #[deprecated(note = "use `metrics_poll_time_histogram_configuration`, as tokio says")]
    pub fn metrics_poll_count_histogram_scale(&mut self, scale: HistogramScale) -> &mut Self {
        self.legacy_histogram
            .get_or_insert_with(Default::default)
            .scale = scale;
        self
    }

    /// The width of the first bucket (linear: of every bucket; log: rounded
    /// up to a power of two of nanoseconds, each next bucket doubling) in
    /// the older API (default 100 µs).
    ///
    /// A zero resolution makes [`build`](Self::build) fail (tokio panics).
    #[deprecated(note = "use `metrics_poll_time_histogram_configuration`, as tokio says")]
    pub fn metrics_poll_count_histogram_resolution(&mut self, resolution: Duration) -> &mut Self {
        self.legacy_histogram
            .get_or_insert_with(Default::default)
            .resolution = resolution;
        self
    }

    /// How many buckets, in the older API (default 10).
    ///
    /// Zero makes [`build`](Self::build) fail (tokio panics).
    #[deprecated(note = "use `metrics_poll_time_histogram_configuration`, as tokio says")]
    pub fn metrics_poll_count_histogram_buckets(&mut self, buckets: usize) -> &mut Self {
        self.legacy_histogram
            .get_or_insert_with(Default::default)
            .num_buckets = buckets;
        self
    }

    /// Accepted for tokio compatibility, and changes nothing: a weft
    /// runtime always has its reactor and its timers.
    pub fn enable_all(&mut self) -> &mut Self {
        self
    }

    /// Accepted for tokio compatibility, and changes nothing: a weft
    /// runtime always has its reactor.
    pub fn enable_io(&mut self) -> &mut Self {
        self
    }

    /// Accepted for tokio compatibility, and changes nothing: a weft
    /// runtime always has its timers.
    pub fn enable_time(&mut self) -> &mut Self {
        self
    }

    /// Names the runtime, for [`Handle::name`](super::Handle::name) (logs,
    /// metrics); thread names are set with [`thread_name`](Self::thread_name).
    ///
    /// # Panics
    /// If `name` is empty or only white space (tokio's rule).
    #[track_caller]
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        assert!(!name.trim().is_empty(), "runtime name shouldn't be empty");
        self.name = Some(name);
        self
    }

    /// How many ticks (task polls) a worker runs between two looks at the
    /// global (injection) queue, where tasks spawned or woken from outside
    /// the runtime's workers wait. Smaller is fairer to that queue, larger
    /// favours the worker's own tasks. Default 61. The current-thread
    /// flavour has no global queue of its own and ignores it.
    ///
    /// # Panics
    /// If `interval` is 0 (tokio's rule).
    #[track_caller]
    pub fn global_queue_interval(&mut self, interval: u32) -> &mut Self {
        assert!(interval > 0, "global_queue_interval must be greater than 0");
        self.scheduler.global_queue_interval = interval;
        self
    }

    /// How many ticks (task polls) a worker runs between two looks at the
    /// reactor and the timers without blocking; on the current-thread
    /// flavour also the most tasks run between two polls of the `block_on`
    /// future. Smaller picks up I/O and timers sooner, at the cost of more
    /// system calls. Default 61.
    ///
    /// # Panics
    /// If `interval` is 0 (tokio's rule).
    #[track_caller]
    pub fn event_interval(&mut self, interval: u32) -> &mut Self {
        assert!(interval > 0, "event_interval must be greater than 0");
        self.scheduler.event_interval = interval;
        self
    }

    /// Loom builds only: this runtime's run queues are lock-free rings with
    /// crossbeam-deque's orderings rather than locked queues, so a model
    /// checks the scheduler's own fences around its queues, as the real
    /// build needs them. Slower to explore: for the models about those
    /// fences (docs/loom.md).
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn loom_lock_free_queues(&mut self) -> &mut Self {
        self.scheduler.queues = crate::scheduler::queue::QueueModel::LockFree;
        self
    }

    /// Turns off the LIFO slot: a task woken by another task on the same
    /// worker then goes to the back of the worker's queue, where idle
    /// workers can steal it, instead of running next. Every task queued on
    /// a worker (woken or spawned) then also wakes an idle worker, even
    /// one that would run next anyway: tasks reachable by others at once.
    pub fn disable_lifo_slot(&mut self) -> &mut Self {
        self.scheduler.lifo_slot = false;
        self
    }

    /// Called on a worker thread just before it parks (has no task to run
    /// and goes to sleep). On the current-thread flavour the hook may spawn
    /// a task or wake the `block_on` future, and the thread then does not
    /// park. A panic in the hook is reported and otherwise ignored.
    pub fn on_thread_park(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.scheduler.before_park = Some(Arc::new(f));
        self
    }

    /// Called on a worker thread just after it leaves park. A panic in the
    /// hook is reported and otherwise ignored.
    pub fn on_thread_unpark(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.scheduler.after_unpark = Some(Arc::new(f));
        self
    }

    /// The most I/O events the reactor takes in one turn. Accepted and
    /// checked for tokio compatibility; weft's reactor sizes its event
    /// buffer itself (and keeps the events it has not taken for the next
    /// turn), so the value does not change its behaviour.
    ///
    /// # Panics
    /// If `capacity` is 0 (tokio's rule).
    #[track_caller]
    pub fn max_io_events_per_tick(&mut self, capacity: usize) -> &mut Self {
        assert!(capacity > 0, "max_io_events_per_tick must be non-zero");
        self.max_io_events_per_tick = capacity;
        self
    }

    /// The most I/O events a busy worker (one that still has tasks to run)
    /// takes in one turn; defaults to
    /// [`max_io_events_per_tick`](Self::max_io_events_per_tick). Accepted and
    /// checked for tokio compatibility, like that one.
    ///
    /// # Panics
    /// If `capacity` is 0 (tokio's rule).
    #[track_caller]
    pub fn max_io_events_per_busy_tick(&mut self, capacity: usize) -> &mut Self {
        assert!(capacity > 0, "max_io_events_per_busy_tick must be non-zero");
        self.max_io_events_per_busy_tick = Some(capacity);
        self
    }

    /// The number of worker threads (multi-thread flavour; ignored by the
    /// current-thread flavour). Defaults to the available parallelism, or to
    /// the `WEFT_WORKER_THREADS` environment variable when set. Zero makes
    /// [`build`](Self::build) fail.
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        self.worker_threads = Some(n);
        self
    }

    /// The name of the runtime's threads (workers and blocking pool).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name: String = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// A function that names each new runtime thread.
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// The stack size of the runtime's threads, in bytes.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// The most threads the blocking pool may run at once (default 512).
    /// Zero makes [`build`](Self::build) fail.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking thread waits for work before it exits
    /// (default 10 s).
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Called on each runtime thread when it starts.
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Called on each runtime thread just before it exits.
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Starts the runtime with its clock paused (current-thread flavour
    /// only): time then moves through `weft::time::advance`, or jumps to
    /// the next timer whenever the runtime has nothing to run. For tests
    /// of timeouts and intervals that finish at once and the same way every
    /// time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_runtime::runtime::Builder;
    ///
    /// let rt = Builder::new_current_thread().start_paused(true).build().unwrap();
    /// let waited = rt.block_on(async {
    ///     let start = weft_timer::Instant::now();
    ///     weft_timer::sleep(Duration::from_secs(3600)).await;
    ///     start.elapsed()
    /// });
    /// assert_eq!(waited, Duration::from_secs(3600));
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Which poller the reactor waits in. Defaults to
    /// [`IoBackend::Native`] (weft's own epoll backend on Linux), or to the
    /// `WEFT_IO_BACKEND` environment variable (`native` or `portable`)
    /// when set, so a test suite can be run on either without a rebuild.
    ///
    /// ```
    /// use weft_runtime::runtime::{Builder, IoBackend};
    ///
    /// let rt = Builder::new_current_thread()
    ///     .io_backend(IoBackend::Portable)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.handle().io_backend(), IoBackend::Portable);
    /// ```
    pub fn io_backend(&mut self, backend: IoBackend) -> &mut Self {
        self.io_backend = Some(backend);
        self
    }

    /// Starts the runtime.
    ///
    /// # Errors
    /// `InvalidInput` for zero worker or blocking threads, a malformed
    /// `WEFT_WORKER_THREADS` or `WEFT_IO_BACKEND`, or `start_paused` on the
    /// multi-thread flavour; the OS error if a thread cannot be started or
    /// the poller cannot be made.
    pub fn build(&mut self) -> io::Result<Runtime> {
        if self.max_blocking_threads == 0 {
            return Err(invalid("max_blocking_threads must be at least 1"));
        }
        if self.start_paused && self.flavor == RuntimeFlavor::MultiThread {
            return Err(invalid(
                "start_paused needs the current-thread runtime (Builder::new_current_thread): \
                 on the multi-thread runtime, workers run in parallel in real time",
            ));
        }
        let num_workers = match self.flavor {
            RuntimeFlavor::CurrentThread => 1,
            RuntimeFlavor::MultiThread => self.num_workers()?,
        };
        let config = ThreadConfig {
            thread_name: self.thread_name.clone(),
            stack_size: self.thread_stack_size,
            on_thread_start: self.on_thread_start.clone(),
            on_thread_stop: self.on_thread_stop.clone(),
        };
        let blocking = Spawner::new(self.max_blocking_threads, self.keep_alive, config.clone());
        let io_backend = self.chosen_io_backend()?;
        let mut scheduler_config = self.scheduler.clone();
        if self.poll_time_histogram_enabled {
            scheduler_config.poll_time_histogram = Some(match self.legacy_histogram {
                Some(legacy) => legacy.layout().map_err(invalid)?,
                None => self.poll_time_histogram.unwrap_or_default().layout,
            });
        }
        // Named now, like the other threads, only if it will run.
        let watchdog_name = self.slow_poll_threshold.map(|_| (config.thread_name)());
        let (services, cores) = Services::new(
            self.flavor,
            num_workers,
            io_backend,
            config,
            scheduler_config,
            blocking,
            self.name.clone(),
        )?;
        if self.start_paused {
            services
                .time()
                .pause()
                .map_err(|err| invalid(&err.to_string()))?;
        }
        let scheduler = services.scheduler.clone();
        let handle = Handle::new(services);
        let mut runtime = Runtime::from_handle(handle.clone());
        if let (Some(threshold), Some(watchdog_name)) = (self.slow_poll_threshold, watchdog_name) {
            let config = DetectorConfig {
                threshold,
                on_slow_poll: self.on_slow_poll.clone(),
            };
            runtime.watchdog = Some(Watchdog::start(scheduler.clone(), config, watchdog_name)?);
        }
        match self.flavor {
            RuntimeFlavor::CurrentThread => {
                let core = cores.into_iter().next().expect("one core");
                scheduler.current_thread.put_core(core);
            }
            RuntimeFlavor::MultiThread => {
                for core in cores {
                    let worker_scheduler = scheduler.clone();
                    let services = handle.service_set();
                    // On failure `runtime` drops here, which shuts down the
                    // workers already started.
                    scheduler.spawn_thread(move || {
                        worker::run_worker(worker_scheduler, Box::new(core), services)
                    })?;
                }
            }
        }
        Ok(runtime)
    }

    /// Builds a [`LocalRuntime`](super::LocalRuntime): a current-thread
    /// runtime whose `block_on` also runs `!Send` tasks (`spawn_local`).
    ///
    /// # Errors
    /// As [`build`](Self::build); `InvalidInput` on a multi-thread builder
    /// (tokio panics there).
    pub fn build_local(
        &mut self,
        _options: super::LocalOptions,
    ) -> io::Result<super::LocalRuntime> {
        if self.flavor == RuntimeFlavor::MultiThread {
            return Err(invalid(
                "a LocalRuntime is a current-thread runtime: use Builder::new_current_thread",
            ));
        }
        Ok(super::LocalRuntime::from_runtime(self.build()?))
    }

    fn num_workers(&self) -> io::Result<usize> {
        if let Some(n) = self.worker_threads {
            return match n {
                0 => Err(invalid("worker_threads must be at least 1")),
                n => Ok(n),
            };
        }
        match std::env::var(WORKER_THREADS_ENV) {
            Ok(value) => match value.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(invalid(&format!(
                    "{WORKER_THREADS_ENV} must be a positive integer, got {value:?}"
                ))),
            },
            Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        }
    }

    fn chosen_io_backend(&self) -> io::Result<IoBackend> {
        if let Some(backend) = self.io_backend {
            return Ok(backend);
        }
        match std::env::var(IO_BACKEND_ENV) {
            Ok(value) => value
                .parse()
                .map_err(|err| invalid(&format!("{IO_BACKEND_ENV}: {err}"))),
            Err(_) => Ok(IoBackend::Native),
        }
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_string())
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("io_backend", &self.io_backend)
            .field("worker_threads", &self.worker_threads)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.keep_alive)
            .field("start_paused", &self.start_paused)
            .field("name", &self.name)
            .field("event_interval", &self.scheduler.event_interval)
            .field(
                "global_queue_interval",
                &self.scheduler.global_queue_interval,
            )
            .field("lifo_slot", &self.scheduler.lifo_slot)
            .field("max_io_events_per_tick", &self.max_io_events_per_tick)
            .field(
                "max_io_events_per_busy_tick",
                &self.max_io_events_per_busy_tick,
            )
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("on_slow_poll", &self.on_slow_poll.is_some())
            .field(
                "poll_time_histogram_enabled",
                &self.poll_time_histogram_enabled,
            )
            .field("poll_time_histogram", &self.poll_time_histogram)
            .finish_non_exhaustive()
    }
}
