//! Boot-clock nanoseconds (what the probes stamp) to wall-clock time.
use crate::event::Timestamp;

/// Wall time = boot-clock time + the offset measured once at start-up.
#[derive(Clone, Copy, Debug)]
pub struct BootClock {
    offset_ns: i128,
}

impl BootClock {
    pub fn now() -> Self {
        let boot = clock_ns(libc::CLOCK_BOOTTIME);
        let wall = clock_ns(libc::CLOCK_REALTIME);
        Self {
            offset_ns: wall - boot,
        }
    }

    /// A clock whose boot instant is `boot_unix_ns` nanoseconds after the Unix epoch (tests).
    pub fn with_boot_time(boot_unix_ns: i128) -> Self {
        Self {
            offset_ns: boot_unix_ns,
        }
    }

    pub fn wall(&self, ktime: u64) -> Timestamp {
        Timestamp::from_unix_nanos(self.offset_ns + ktime as i128)
    }

    /// Boot-clock nanoseconds now, in the probes' time base.
    pub fn ktime_now() -> u64 {
        clock_ns(libc::CLOCK_BOOTTIME) as u64
    }
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}
