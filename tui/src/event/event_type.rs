//! `EventType`: which member of the `GetEventsResponse.event` oneof an event is (tetragon.md §1.4).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    ProcessExec,
    ProcessExit,
    ProcessKprobe,
    ProcessTracepoint,
    ProcessLoader,
    ProcessUprobe,
    ProcessThrottle,
    ProcessLsm,
    ProcessUsdt,
    Test,
    RateLimitInfo,
    /// tetrascope's own: syscall counts of a process image (`TETRASCOPE_SYSCALL_STATS`).
    TetrascopeSyscallStats,
    /// tetrascope's own: a row of the file-access table (`TETRASCOPE_FILE_ACCESS`).
    TetrascopeFileAccess,
}

impl EventType {
    pub const ALL: [EventType; 13] = [
        EventType::ProcessExec,
        EventType::ProcessExit,
        EventType::ProcessKprobe,
        EventType::ProcessTracepoint,
        EventType::ProcessLoader,
        EventType::ProcessUprobe,
        EventType::ProcessThrottle,
        EventType::ProcessLsm,
        EventType::ProcessUsdt,
        EventType::Test,
        EventType::RateLimitInfo,
        EventType::TetrascopeSyscallStats,
        EventType::TetrascopeFileAccess,
    ];

    /// tetrascope's own event types: Tetragon's readers do not know them, so recordings keep
    /// them in the sidecar, and they are left out of output unless asked for by name.
    pub fn is_tetrascope(&self) -> bool {
        matches!(
            self,
            EventType::TetrascopeSyscallStats | EventType::TetrascopeFileAccess
        )
    }

    /// The `EventType` enum name, e.g. `PROCESS_EXEC`.
    pub fn name(&self) -> &'static str {
        match self {
            EventType::ProcessExec => "PROCESS_EXEC",
            EventType::ProcessExit => "PROCESS_EXIT",
            EventType::ProcessKprobe => "PROCESS_KPROBE",
            EventType::ProcessTracepoint => "PROCESS_TRACEPOINT",
            EventType::ProcessLoader => "PROCESS_LOADER",
            EventType::ProcessUprobe => "PROCESS_UPROBE",
            EventType::ProcessThrottle => "PROCESS_THROTTLE",
            EventType::ProcessLsm => "PROCESS_LSM",
            EventType::ProcessUsdt => "PROCESS_USDT",
            EventType::Test => "TEST",
            EventType::RateLimitInfo => "RATE_LIMIT_INFO",
            EventType::TetrascopeSyscallStats => "TETRASCOPE_SYSCALL_STATS",
            EventType::TetrascopeFileAccess => "TETRASCOPE_FILE_ACCESS",
        }
    }

    /// The top-level JSON key of this event type, e.g. `process_exec`.
    pub fn json_key(&self) -> &'static str {
        match self {
            EventType::ProcessExec => "process_exec",
            EventType::ProcessExit => "process_exit",
            EventType::ProcessKprobe => "process_kprobe",
            EventType::ProcessTracepoint => "process_tracepoint",
            EventType::ProcessLoader => "process_loader",
            EventType::ProcessUprobe => "process_uprobe",
            EventType::ProcessThrottle => "process_throttle",
            EventType::ProcessLsm => "process_lsm",
            EventType::ProcessUsdt => "process_usdt",
            EventType::Test => "test",
            EventType::RateLimitInfo => "rate_limit_info",
            EventType::TetrascopeSyscallStats => "tetrascope_syscall_stats",
            EventType::TetrascopeFileAccess => "tetrascope_file_access",
        }
    }

    /// The proto enum value, equal to the oneof field number (ours are outside Tetragon's
    /// ranges).
    pub fn number(&self) -> u32 {
        match self {
            EventType::ProcessExec => 1,
            EventType::ProcessExit => 5,
            EventType::ProcessKprobe => 9,
            EventType::ProcessTracepoint => 10,
            EventType::ProcessLoader => 11,
            EventType::ProcessUprobe => 12,
            EventType::ProcessThrottle => 27,
            EventType::ProcessLsm => 28,
            EventType::ProcessUsdt => 29,
            EventType::Test => 40000,
            EventType::RateLimitInfo => 40001,
            EventType::TetrascopeSyscallStats => 50001,
            EventType::TetrascopeFileAccess => 50002,
        }
    }

    /// The event type of a top-level JSON key: the proto name (`process_exec`) or the
    /// lowerCamelCase JSON name (`processExec`).
    pub fn from_json_key(key: &str) -> Option<EventType> {
        Some(match key {
            "process_exec" | "processExec" => EventType::ProcessExec,
            "process_exit" | "processExit" => EventType::ProcessExit,
            "process_kprobe" | "processKprobe" => EventType::ProcessKprobe,
            "process_tracepoint" | "processTracepoint" => EventType::ProcessTracepoint,
            "process_loader" | "processLoader" => EventType::ProcessLoader,
            "process_uprobe" | "processUprobe" => EventType::ProcessUprobe,
            "process_throttle" | "processThrottle" => EventType::ProcessThrottle,
            "process_lsm" | "processLsm" => EventType::ProcessLsm,
            "process_usdt" | "processUsdt" => EventType::ProcessUsdt,
            "test" => EventType::Test,
            "rate_limit_info" | "rateLimitInfo" => EventType::RateLimitInfo,
            "tetrascope_syscall_stats" | "tetrascopeSyscallStats" => {
                EventType::TetrascopeSyscallStats
            }
            "tetrascope_file_access" | "tetrascopeFileAccess" => EventType::TetrascopeFileAccess,
            _ => return None,
        })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not an `EventType`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEventTypeName(pub String);

impl fmt::Display for UnknownEventTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown event type {:?}; valid types are ", self.0)?;
        for (i, t) in EventType::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(t.name())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownEventTypeName {}

impl FromStr for EventType {
    type Err = UnknownEventTypeName;

    /// Accepts the enum name in any case: `PROCESS_EXEC`, `process_exec`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownEventTypeName(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_case() {
        assert_eq!("PROCESS_EXEC".parse(), Ok(EventType::ProcessExec));
        assert_eq!("process_kprobe".parse(), Ok(EventType::ProcessKprobe));
        assert_eq!("Rate_Limit_Info".parse(), Ok(EventType::RateLimitInfo));
        let err = "exec".parse::<EventType>().unwrap_err().to_string();
        assert!(err.contains("\"exec\""), "{err}");
        assert!(err.contains("PROCESS_EXEC, PROCESS_EXIT"), "{err}");
    }

    #[test]
    fn names_keys_and_numbers_agree() {
        for t in EventType::ALL {
            assert_eq!(t.name().to_ascii_lowercase(), t.json_key());
            assert_eq!(EventType::from_json_key(t.json_key()), Some(t));
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!(EventType::ProcessThrottle.number(), 27);
        assert_eq!(
            EventType::from_json_key("processLsm"),
            Some(EventType::ProcessLsm)
        );
        assert_eq!(EventType::from_json_key("node_name"), None);
        let ours: Vec<EventType> = EventType::ALL
            .into_iter()
            .filter(EventType::is_tetrascope)
            .collect();
        assert_eq!(
            ours,
            [
                EventType::TetrascopeSyscallStats,
                EventType::TetrascopeFileAccess
            ]
        );
    }
}
