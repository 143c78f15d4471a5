//! `tetrascope_syscall_stats`: tetrascope's own event (not Tetragon's) with a process image's
//! syscall counts, one per image and per tick in which it made syscalls. Counted in the kernel;
//! nothing crosses the ring buffer per syscall.

use serde::{Deserialize, Serialize};

use super::process::Process;
use super::protojson;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TetrascopeSyscallStats {
    /// The image that made the calls (exec_id, pid, uid, binary and pod only); none for calls
    /// of processes that had no counter slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    /// The time the `count`s cover: since the previous tick.
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub interval_ns: u64,
    /// Calls in the interval, over every syscall.
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub count: u64,
    /// Calls since the image started being counted, over every syscall.
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub total: u64,
    /// Each syscall called in the interval.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub syscalls: Vec<SyscallCount>,
    /// The image ended (exec or exit): these are its last counts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ended: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyscallCount {
    /// `x64`, `i386` (compat calls on x86_64) or `arm64`: the table `nr` is read in.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub abi: String,
    #[serde(
        deserialize_with = "protojson::int",
        skip_serializing_if = "protojson::is_default"
    )]
    pub nr: u32,
    /// The syscall's name in that ABI (empty when the tables do not know the number).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub count: u64,
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub total: u64,
}

impl TetrascopeSyscallStats {
    /// Calls per second over the interval.
    pub fn rate(&self) -> f64 {
        per_second(self.count, self.interval_ns)
    }
}

/// `count` calls in `interval_ns` as calls per second (0 for an empty interval).
pub fn per_second(count: u64, interval_ns: u64) -> f64 {
    if interval_ns == 0 {
        return 0.0;
    }
    count as f64 * 1e9 / interval_ns as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::test_support::{process, round_trip};

    #[test]
    fn every_field_round_trips() {
        round_trip(TetrascopeSyscallStats {
            process: process("/usr/bin/dd"),
            interval_ns: 1_000_000_000,
            count: 5,
            total: 9,
            syscalls: vec![SyscallCount {
                abi: "x64".into(),
                nr: 0,
                name: "read".into(),
                count: 5,
                total: 9,
            }],
            ended: true,
        });
    }

    #[test]
    fn rates_are_per_second() {
        let stats = TetrascopeSyscallStats {
            count: 50,
            interval_ns: 500_000_000,
            ..TetrascopeSyscallStats::default()
        };
        assert_eq!(stats.rate(), 100.0);
        assert_eq!(per_second(3, 0), 0.0);
    }
}
