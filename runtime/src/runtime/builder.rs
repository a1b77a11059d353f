//! `Builder`: how a runtime is configured and started.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use weft_reactor::IoBackend;

use super::services::Services;
use super::RuntimeFlavor;
use super::{Handle, Runtime};
use crate::blocking::Spawner;
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
}

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
        }
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
        let (services, cores) =
            Services::new(self.flavor, num_workers, io_backend, config, blocking)?;
        if self.start_paused {
            services
                .time()
                .pause()
                .map_err(|err| invalid(&err.to_string()))?;
        }
        let scheduler = services.scheduler.clone();
        let handle = Handle::new(services);
        let runtime = Runtime::from_handle(handle.clone());
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
            .finish_non_exhaustive()
    }
}
