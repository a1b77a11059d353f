//! The poll-duration histogram: how its buckets are laid out
//! ([`HistogramConfiguration`], [`LogHistogram`]) and the per-worker
//! counters that record into them.
//!
//! Off by default: recording needs a clock read before and after every
//! poll, which the rest of the metrics avoid. With it off the poll path
//! reads no clock.
//!
//! Invariants: bucket 0 starts at zero and the last bucket ends at
//! `u64::MAX` nanoseconds, so every duration has a bucket; buckets are
//! contiguous and ordered. Only the worker that owns a histogram records
//! into it (a plain load and store, as the other worker counters).

use std::error::Error;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use weft_base::loom::{AtomicU64, Ordering::Relaxed};

/// The smallest value a default [`LogHistogram`] tells apart (tokio's
/// default).
const DEFAULT_MIN_VALUE: Duration = Duration::from_nanos(100);
/// Where a default [`LogHistogram`]'s last, open-ended bucket begins at the
/// latest (tokio's default).
const DEFAULT_MAX_VALUE: Duration = Duration::from_secs(60);
/// Sub-buckets per power of two, as a power of two: 2^2 = 4 by default,
/// so a bucket is at most 25% wide relative to its start.
const DEFAULT_PRECISION: u32 = 2;
/// The finest precision accepted: 2^10 sub-buckets per power of two.
const MAX_PRECISION: u32 = 10;

/// How a poll-time histogram lays out its buckets: see
/// [`Builder::metrics_poll_time_histogram_configuration`](crate::runtime::Builder::metrics_poll_time_histogram_configuration).
///
/// ```
/// use std::time::Duration;
/// use weft_runtime::runtime::{HistogramConfiguration, LogHistogram};
///
/// // Ten buckets of 100 µs each, the last one open-ended.
/// let linear = HistogramConfiguration::linear(Duration::from_micros(100), 10);
/// // Log-scale buckets from 1 µs to 1 s, each at most 1/8 wide.
/// let log = HistogramConfiguration::log(
///     LogHistogram::builder()
///         .min_value(Duration::from_micros(1))
///         .max_value(Duration::from_secs(1))
///         .precision_exact(3),
/// );
/// # let _ = (linear, log);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistogramConfiguration {
    pub(crate) layout: Layout,
}

impl HistogramConfiguration {
    /// `num_buckets` buckets of `bucket_width` each, the first starting at
    /// zero; the last one also takes every longer value.
    ///
    /// # Panics
    /// If `bucket_width` is zero or `num_buckets` is zero (tokio divides by
    /// the one and indexes with the other).
    #[track_caller]
    pub fn linear(bucket_width: Duration, num_buckets: usize) -> HistogramConfiguration {
        let width = nanos(bucket_width);
        assert!(
            width > 0,
            "a linear histogram's bucket_width must not be zero"
        );
        assert!(num_buckets > 0, "a histogram needs at least one bucket");
        HistogramConfiguration {
            layout: Layout::Linear { width, num_buckets },
        }
    }

    /// Log-scale buckets as `configuration` lays them out (a
    /// [`LogHistogram`] or its builder).
    pub fn log(configuration: impl Into<LogHistogram>) -> HistogramConfiguration {
        HistogramConfiguration {
            layout: Layout::Log(configuration.into()),
        }
    }
}

impl Default for HistogramConfiguration {
    /// [`LogHistogram::default`]'s buckets.
    fn default() -> HistogramConfiguration {
        HistogramConfiguration::log(LogHistogram::default())
    }
}

/// Log-scale buckets: each power of two of nanoseconds is split into
/// `2^precision` equal buckets, so a bucket is never wider than
/// `2^-precision` of its start, from a first bucket that takes everything
/// below the minimum value to a last one that takes everything from about
/// the maximum value on. Made with [`LogHistogram::builder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHistogram {
    /// log2 of the sub-buckets per power of two.
    precision: u32,
    /// The index (in the unshifted scheme) of our bucket 1, less one.
    offset: u64,
    num_buckets: usize,
}

impl Default for LogHistogram {
    /// 100 ns to 60 s at precision 2 (tokio's default).
    fn default() -> LogHistogram {
        LogHistogramBuilder::default().build()
    }
}

impl LogHistogram {
    /// A builder with the defaults: values from 100 ns to 60 s, precision 2.
    pub fn builder() -> LogHistogramBuilder {
        LogHistogramBuilder::default()
    }

    /// Where the last (open-ended) bucket begins, in nanoseconds: the
    /// maximum value asked for, rounded up to a bucket boundary.
    pub fn max_value(&self) -> u64 {
        self.bucket_range(self.num_buckets - 1).start
    }

    /// How many buckets this layout has.
    pub fn num_buckets(&self) -> usize {
        self.num_buckets
    }

    fn bucket_of(&self, value: u64) -> usize {
        let index = log_index(value, self.precision).saturating_sub(self.offset);
        usize::try_from(index)
            .unwrap_or(usize::MAX)
            .min(self.num_buckets - 1)
    }

    fn bucket_range(&self, bucket: usize) -> Range<u64> {
        let range = log_range(bucket as u64 + self.offset, self.precision);
        let start = if bucket == 0 { 0 } else { range.start };
        let end = if bucket + 1 == self.num_buckets {
            u64::MAX
        } else {
            range.end
        };
        start..end
    }
}

/// The unshifted log-scale index of `value`: values below `2^p` have one
/// bucket each; from there each power of two `[2^h, 2^(h+1))` is split into
/// `2^p` buckets of width `2^(h-p)`.
fn log_index(value: u64, p: u32) -> u64 {
    let exact = 1u64 << p;
    if value < exact {
        return value;
    }
    let h = 63 - value.leading_zeros();
    let shift = h - p;
    // Groups of 2^p buckets: group 1 is [2^p, 2^(p+1)) at width 1.
    u64::from(shift + 1) * exact + ((value - (1u64 << h)) >> shift)
}

/// The values [`log_index`] maps to `index`.
fn log_range(index: u64, p: u32) -> Range<u64> {
    let exact = 1u64 << p;
    if index < exact {
        return index..index + 1;
    }
    let shift = (index >> p) - 1;
    let within = index & (exact - 1);
    let Some(group_start) = 1u64.checked_shl((shift + u64::from(p)) as u32) else {
        return u64::MAX..u64::MAX;
    };
    let start = group_start.saturating_add(within << shift);
    start..start.saturating_add(1u64 << shift)
}

/// Lays out a [`LogHistogram`]; every setting has a default.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogHistogramBuilder {
    min_value: Option<Duration>,
    max_value: Option<Duration>,
    precision: Option<u32>,
}

impl LogHistogramBuilder {
    /// The precision that keeps each bucket's width within `max_error` of
    /// its start (0.25 gives precision 2, 0.1 gives 4).
    ///
    /// # Panics
    /// If `max_error` is not strictly between 0 and 1.
    #[track_caller]
    pub fn max_error(mut self, max_error: f64) -> Self {
        assert!(
            max_error > 0.0 && max_error < 1.0,
            "max_error must be between 0 and 1 (exclusive), got {max_error}"
        );
        // 2^-p > max_error, multiplied out: scaling by a power of two is
        // exact, where `exp2` may round (and does, on purpose, under miri).
        let mut p = 0;
        while p < MAX_PRECISION && max_error * ((1u64 << p) as f64) < 1.0 {
            p += 1;
        }
        self.precision = Some(p);
        self
    }

    /// `2^p` buckets per power of two.
    ///
    /// # Panics
    /// If `p` is over 10.
    #[track_caller]
    pub fn precision_exact(mut self, p: u32) -> Self {
        assert!(
            p <= MAX_PRECISION,
            "precision must be at most {MAX_PRECISION}, got {p}"
        );
        self.precision = Some(p);
        self
    }

    /// Values below this share the first bucket (default 100 ns).
    pub fn min_value(mut self, duration: Duration) -> Self {
        self.min_value = Some(duration);
        self
    }

    /// Values from this on (rounded up to a bucket boundary) share the last
    /// bucket (default 60 s).
    ///
    /// # Panics
    /// If `duration` is zero.
    #[track_caller]
    pub fn max_value(mut self, duration: Duration) -> Self {
        assert!(!duration.is_zero(), "max_value must not be zero");
        self.max_value = Some(duration);
        self
    }

    /// The layout, unless it needs more than `max_buckets` buckets.
    ///
    /// # Errors
    /// [`InvalidHistogramConfiguration::TooManyBuckets`] with the number it
    /// needs.
    pub fn max_buckets(
        &mut self,
        max_buckets: usize,
    ) -> Result<LogHistogram, InvalidHistogramConfiguration> {
        let histogram = self.build();
        if histogram.num_buckets > max_buckets {
            return Err(InvalidHistogramConfiguration::TooManyBuckets {
                required_bucket_count: histogram.num_buckets,
            });
        }
        Ok(histogram)
    }

    /// The layout.
    pub fn build(&self) -> LogHistogram {
        let p = self.precision.unwrap_or(DEFAULT_PRECISION);
        let min = nanos(self.min_value.unwrap_or(DEFAULT_MIN_VALUE));
        let max = nanos(self.max_value.unwrap_or(DEFAULT_MAX_VALUE)).max(min + 1);
        // Bucket 0 takes everything below `min`'s own bucket.
        let offset = log_index(min, p).saturating_sub(1);
        // Then every bucket up to the one holding values just below `max`,
        // and one more, open-ended, for the rest (tokio's layout, so the
        // same builder gives the same buckets).
        let last_bounded = log_index(max - 1, p) - offset;
        LogHistogram {
            precision: p,
            offset,
            num_buckets: usize::try_from(last_bounded + 2).unwrap_or(usize::MAX),
        }
    }
}

impl From<LogHistogramBuilder> for LogHistogram {
    fn from(builder: LogHistogramBuilder) -> LogHistogram {
        builder.build()
    }
}

/// A histogram layout that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidHistogramConfiguration {
    /// The layout needs more buckets than the caller allowed.
    TooManyBuckets {
        /// How many it needs.
        required_bucket_count: usize,
    },
}

impl fmt::Display for InvalidHistogramConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidHistogramConfiguration::TooManyBuckets {
                required_bucket_count,
            } => write!(
                f,
                "this histogram layout needs {required_bucket_count} buckets, more than allowed"
            ),
        }
    }
}

impl Error for InvalidHistogramConfiguration {}

/// The scale of the layout the deprecated
/// [`Builder::metrics_poll_count_histogram_scale`](crate::runtime::Builder::metrics_poll_count_histogram_scale)
/// family sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistogramScale {
    /// Buckets of the resolution's width each.
    Linear,
    /// A first bucket of the resolution (rounded up to a power of two of
    /// nanoseconds), then each bucket twice as wide as the one before.
    Log,
}

/// The deprecated layout settings: scale, resolution, bucket count
/// (tokio's defaults: linear, 100 µs, 10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LegacyLayout {
    pub(crate) scale: HistogramScale,
    pub(crate) resolution: Duration,
    pub(crate) num_buckets: usize,
}

impl Default for LegacyLayout {
    fn default() -> LegacyLayout {
        LegacyLayout {
            scale: HistogramScale::Linear,
            resolution: Duration::from_micros(100),
            num_buckets: 10,
        }
    }
}

impl LegacyLayout {
    /// The layout these settings make; an error for a zero resolution or
    /// no buckets.
    pub(crate) fn layout(&self) -> Result<Layout, &'static str> {
        let resolution = nanos(self.resolution);
        if resolution == 0 {
            return Err("metrics_poll_count_histogram_resolution must not be zero");
        }
        if self.num_buckets == 0 {
            return Err("metrics_poll_count_histogram_buckets must be at least 1");
        }
        Ok(match self.scale {
            HistogramScale::Linear => Layout::Linear {
                width: resolution,
                num_buckets: self.num_buckets,
            },
            HistogramScale::Log => Layout::Doubling {
                first: resolution.checked_next_power_of_two().unwrap_or(1 << 63),
                num_buckets: self.num_buckets,
            },
        })
    }
}

/// The bucket layout itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    Linear {
        width: u64,
        num_buckets: usize,
    },
    Log(LogHistogram),
    /// The legacy log scale: `[0, first)`, then `[first << (i-1), first << i)`.
    Doubling {
        first: u64,
        num_buckets: usize,
    },
}

impl Layout {
    pub(crate) fn num_buckets(&self) -> usize {
        match self {
            Layout::Linear { num_buckets, .. } | Layout::Doubling { num_buckets, .. } => {
                *num_buckets
            }
            Layout::Log(log) => log.num_buckets,
        }
    }

    fn bucket_of(&self, value: u64) -> usize {
        match self {
            Layout::Linear { width, num_buckets } => {
                usize::try_from(value / width).map_or(num_buckets - 1, |b| b.min(num_buckets - 1))
            }
            Layout::Log(log) => log.bucket_of(value),
            Layout::Doubling { first, num_buckets } => {
                if value < *first {
                    return 0;
                }
                // `first` is a power of two: the bucket is how many times
                // larger the value's top bit is, plus one.
                let doublings = value.ilog2() - first.ilog2();
                (doublings as usize + 1).min(num_buckets - 1)
            }
        }
    }

    /// The range of bucket `bucket`, which must be below `num_buckets`.
    pub(crate) fn bucket_range(&self, bucket: usize) -> Range<Duration> {
        let range = match self {
            Layout::Linear { width, num_buckets } => {
                let start = (bucket as u64).saturating_mul(*width);
                let end = if bucket + 1 == *num_buckets {
                    u64::MAX
                } else {
                    start.saturating_add(*width)
                };
                start..end
            }
            Layout::Log(log) => log.bucket_range(bucket),
            Layout::Doubling { first, num_buckets } => {
                let start = match bucket {
                    0 => 0,
                    _ => first.checked_shl(bucket as u32 - 1).unwrap_or(u64::MAX),
                };
                let end = if bucket + 1 == *num_buckets {
                    u64::MAX
                } else {
                    first.checked_shl(bucket as u32).unwrap_or(u64::MAX)
                };
                start..end
            }
        };
        Duration::from_nanos(range.start)..Duration::from_nanos(range.end)
    }
}

/// One worker's poll-time counts.
pub(crate) struct PollHistogram {
    layout: Layout,
    buckets: Box<[AtomicU64]>,
}

impl PollHistogram {
    pub(crate) fn new(layout: Layout) -> PollHistogram {
        PollHistogram {
            layout,
            buckets: (0..layout.num_buckets())
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// Counts one poll of `duration` (the owner only: a load and a store).
    pub(crate) fn record(&self, duration: Duration) {
        let bucket = &self.buckets[self.layout.bucket_of(nanos(duration))];
        bucket.store(bucket.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// Polls counted in `bucket`.
    pub(crate) fn count(&self, bucket: usize) -> Option<u64> {
        self.buckets.get(bucket).map(|b| b.load(Relaxed))
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Every value lands in the bucket whose range holds it, and the
    /// buckets tile 0..MAX.
    fn check_tiling(layout: Layout) {
        let n = layout.num_buckets();
        assert_eq!(layout.bucket_range(0).start, Duration::ZERO);
        assert_eq!(
            layout.bucket_range(n - 1).end,
            Duration::from_nanos(u64::MAX)
        );
        for b in 1..n {
            assert_eq!(layout.bucket_range(b - 1).end, layout.bucket_range(b).start);
        }
        for b in 0..n {
            let range = layout.bucket_range(b);
            for value in [
                range.start,
                range.end.saturating_sub(Duration::from_nanos(1)),
            ] {
                assert_eq!(layout.bucket_of(nanos(value)), b, "{value:?} in bucket {b}");
            }
        }
    }

    #[test]
    fn log_buckets_tile_and_hold_their_values() {
        check_tiling(HistogramConfiguration::default().layout);
        for p in [0, 1, 2, 5] {
            let log = LogHistogram::builder()
                .min_value(Duration::from_micros(3))
                .max_value(Duration::from_millis(700))
                .precision_exact(p)
                .build();
            check_tiling(Layout::Log(log));
        }
    }

    #[test]
    fn log_buckets_are_within_the_precision() {
        let log = LogHistogram::builder().precision_exact(3).build();
        for b in 1..log.num_buckets() - 1 {
            let r = log.bucket_range(b);
            assert!((r.end - r.start) * 8 <= r.start.max(8), "bucket {b}: {r:?}");
        }
        // The bounds asked for are kept: the last bucket starts at or just
        // past the maximum, the one before it below.
        let max = DEFAULT_MAX_VALUE.as_nanos() as u64;
        assert!(log.max_value() >= max);
        assert!(log.bucket_range(log.num_buckets() - 2).start < max);
        assert!(log.bucket_range(1).start <= DEFAULT_MIN_VALUE.as_nanos() as u64);
        // tokio's bucket count for its default layout.
        assert_eq!(LogHistogram::default().num_buckets(), 119);
    }

    #[test]
    fn max_error_picks_the_precision_and_max_buckets_refuses() {
        assert_eq!(LogHistogram::builder().max_error(0.25).build().precision, 2);
        assert_eq!(LogHistogram::builder().max_error(0.1).build().precision, 4);
        let err = LogHistogram::builder().max_buckets(3).unwrap_err();
        let InvalidHistogramConfiguration::TooManyBuckets {
            required_bucket_count,
        } = err;
        assert_eq!(required_bucket_count, LogHistogram::default().num_buckets());
    }

    #[test]
    fn legacy_doubling_buckets_tile() {
        let legacy = LegacyLayout {
            scale: HistogramScale::Log,
            resolution: Duration::from_micros(50),
            num_buckets: 6,
        };
        let layout = legacy.layout().unwrap();
        check_tiling(layout);
        let first = Duration::from_nanos(65_536);
        assert_eq!(layout.bucket_range(1), first..first * 2);
    }

    #[test]
    fn linear_buckets_tile_and_the_last_is_open() {
        let config = HistogramConfiguration::linear(Duration::from_micros(100), 10);
        check_tiling(config.layout);
        assert_eq!(config.layout.bucket_of(5_000_000_000), 9);
        let hist = PollHistogram::new(config.layout);
        hist.record(Duration::from_micros(150));
        hist.record(Duration::from_secs(3));
        assert_eq!(hist.count(1), Some(1));
        assert_eq!(hist.count(9), Some(1));
        assert_eq!(hist.count(10), None);
    }
}
