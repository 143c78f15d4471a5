//! `Event` (Tetragon's `GetEventsResponse`, tetragon.md §1.4) and its `event` oneof. The
//! messages live in `lifecycle.rs` and `probes.rs`; the JSON envelope in `json.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event_type::EventType;
use super::file_access::TetrascopeFileAccess;
use super::lifecycle::{ProcessExec, ProcessExit, ProcessLoader, ProcessThrottle};
use super::probes::{ProcessKprobe, ProcessLsm, ProcessTracepoint, ProcessUprobe, ProcessUsdt};
use super::process::Process;
use super::protojson;
use super::syscall_stats::TetrascopeSyscallStats;
use super::timestamp::Timestamp;

/// Emitted by the JSON exporter when `--export-rate-limit` dropped events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitInfo {
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default",
        alias = "numberOfDroppedProcessEvents"
    )]
    pub number_of_dropped_process_events: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Test {
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub arg0: u64,
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub arg1: u64,
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub arg2: u64,
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub arg3: u64,
}

/// The `GetEventsResponse.event` oneof.
#[derive(Clone, Debug, PartialEq)]
pub enum EventBody {
    ProcessExec(ProcessExec),
    ProcessExit(ProcessExit),
    ProcessKprobe(ProcessKprobe),
    ProcessTracepoint(ProcessTracepoint),
    ProcessLoader(ProcessLoader),
    ProcessUprobe(ProcessUprobe),
    ProcessThrottle(ProcessThrottle),
    ProcessLsm(ProcessLsm),
    ProcessUsdt(ProcessUsdt),
    Test(Test),
    RateLimitInfo(RateLimitInfo),
    TetrascopeSyscallStats(TetrascopeSyscallStats),
    TetrascopeFileAccess(TetrascopeFileAccess),
}

/// One Tetragon event (`GetEventsResponse`); JSON in `json.rs`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub body: EventBody,
    pub node_name: String,
    pub time: Option<Timestamp>,
    /// `AggregationInfo`, kept as JSON (`{"count":"3"}`).
    pub aggregation_info: Option<Value>,
    pub cluster_name: String,
    pub node_labels: BTreeMap<String, String>,
}

impl EventBody {
    /// A body of type `event_type` with every field at its default.
    pub fn empty(event_type: EventType) -> Self {
        match event_type {
            EventType::ProcessExec => EventBody::ProcessExec(ProcessExec::default()),
            EventType::ProcessExit => EventBody::ProcessExit(ProcessExit::default()),
            EventType::ProcessKprobe => EventBody::ProcessKprobe(ProcessKprobe::default()),
            EventType::ProcessTracepoint => {
                EventBody::ProcessTracepoint(ProcessTracepoint::default())
            }
            EventType::ProcessLoader => EventBody::ProcessLoader(ProcessLoader::default()),
            EventType::ProcessUprobe => EventBody::ProcessUprobe(ProcessUprobe::default()),
            EventType::ProcessThrottle => EventBody::ProcessThrottle(ProcessThrottle::default()),
            EventType::ProcessLsm => EventBody::ProcessLsm(ProcessLsm::default()),
            EventType::ProcessUsdt => EventBody::ProcessUsdt(ProcessUsdt::default()),
            EventType::Test => EventBody::Test(Test::default()),
            EventType::RateLimitInfo => EventBody::RateLimitInfo(RateLimitInfo::default()),
            EventType::TetrascopeSyscallStats => {
                EventBody::TetrascopeSyscallStats(TetrascopeSyscallStats::default())
            }
            EventType::TetrascopeFileAccess => {
                EventBody::TetrascopeFileAccess(TetrascopeFileAccess::default())
            }
        }
    }

    pub fn event_type(&self) -> EventType {
        match self {
            EventBody::ProcessExec(_) => EventType::ProcessExec,
            EventBody::ProcessExit(_) => EventType::ProcessExit,
            EventBody::ProcessKprobe(_) => EventType::ProcessKprobe,
            EventBody::ProcessTracepoint(_) => EventType::ProcessTracepoint,
            EventBody::ProcessLoader(_) => EventType::ProcessLoader,
            EventBody::ProcessUprobe(_) => EventType::ProcessUprobe,
            EventBody::ProcessThrottle(_) => EventType::ProcessThrottle,
            EventBody::ProcessLsm(_) => EventType::ProcessLsm,
            EventBody::ProcessUsdt(_) => EventType::ProcessUsdt,
            EventBody::Test(_) => EventType::Test,
            EventBody::RateLimitInfo(_) => EventType::RateLimitInfo,
            EventBody::TetrascopeSyscallStats(_) => EventType::TetrascopeSyscallStats,
            EventBody::TetrascopeFileAccess(_) => EventType::TetrascopeFileAccess,
        }
    }

    /// (process, parent, ancestors) of the event types that carry them.
    fn lineage(&self) -> Option<(Option<&Process>, Option<&Process>, &[Process])> {
        Some(match self {
            EventBody::ProcessExec(e) => (e.process.as_ref(), e.parent.as_ref(), &e.ancestors),
            EventBody::ProcessExit(e) => (e.process.as_ref(), e.parent.as_ref(), &e.ancestors),
            EventBody::ProcessKprobe(e) => (e.process.as_ref(), e.parent.as_ref(), &e.ancestors),
            EventBody::ProcessTracepoint(e) => {
                (e.process.as_ref(), e.parent.as_ref(), &e.ancestors)
            }
            EventBody::ProcessLoader(e) => (e.process.as_ref(), e.parent.as_ref(), &e.ancestors),
            EventBody::ProcessUprobe(e) => (e.process.as_ref(), e.parent.as_ref(), &e.ancestors),
            EventBody::ProcessLsm(e) => (e.process.as_ref(), e.parent.as_ref(), &e.ancestors),
            EventBody::ProcessUsdt(e) => (e.process.as_ref(), e.parent.as_ref(), &e.ancestors),
            EventBody::TetrascopeSyscallStats(e) => (e.process.as_ref(), None, &[]),
            EventBody::TetrascopeFileAccess(e) => (e.process.as_ref(), None, &[]),
            EventBody::ProcessThrottle(_) | EventBody::Test(_) | EventBody::RateLimitInfo(_) => {
                return None;
            }
        })
    }
}

impl Event {
    /// The process and parent, to fill in (e.g. their pods).
    pub fn process_and_parent_mut(&mut self) -> (Option<&mut Process>, Option<&mut Process>) {
        match &mut self.body {
            EventBody::ProcessExec(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::ProcessExit(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::ProcessKprobe(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::ProcessTracepoint(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::ProcessLoader(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::ProcessUprobe(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::ProcessLsm(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::ProcessUsdt(e) => (e.process.as_mut(), e.parent.as_mut()),
            EventBody::TetrascopeSyscallStats(e) => (e.process.as_mut(), None),
            EventBody::TetrascopeFileAccess(e) => (e.process.as_mut(), None),
            EventBody::ProcessThrottle(_) | EventBody::Test(_) | EventBody::RateLimitInfo(_) => {
                (None, None)
            }
        }
    }

    /// An event with no node, time or labels.
    pub fn new(body: EventBody) -> Self {
        Event {
            body,
            node_name: String::new(),
            time: None,
            aggregation_info: None,
            cluster_name: String::new(),
            node_labels: BTreeMap::new(),
        }
    }

    pub fn event_type(&self) -> EventType {
        self.body.event_type()
    }

    /// Whether the event is in the event set shown when no types are asked for: not
    /// tetrascope's own types, nor the `fd_install` of every open that file tracking reports
    /// (a kprobe event without a policy); those are for whoever names their type.
    pub fn in_default_set(&self) -> bool {
        match &self.body {
            EventBody::ProcessKprobe(kprobe) => {
                !(kprobe.function_name == "fd_install" && kprobe.policy_name.is_empty())
            }
            body => !body.event_type().is_tetrascope(),
        }
    }

    /// The process the event is about (none for throttle, test and rate-limit events).
    pub fn process(&self) -> Option<&Process> {
        self.body.lineage().and_then(|(process, _, _)| process)
    }

    pub fn parent(&self) -> Option<&Process> {
        self.body.lineage().and_then(|(_, parent, _)| parent)
    }

    /// Ancestors beyond the parent, nearest first (agent flag `--enable-ancestors`).
    pub fn ancestors(&self) -> &[Process] {
        self.body
            .lineage()
            .map_or(&[], |(_, _, ancestors)| ancestors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ProcessLsm;

    fn named(binary: &str) -> Option<Process> {
        Some(Process {
            binary: binary.into(),
            ..Process::default()
        })
    }

    #[test]
    fn accessors_follow_the_body() {
        let event = Event::new(EventBody::ProcessLsm(ProcessLsm {
            process: named("/bin/cat"),
            parent: named("/bin/sh"),
            ancestors: vec![named("/sbin/init").unwrap()],
            ..ProcessLsm::default()
        }));
        assert_eq!(event.event_type(), EventType::ProcessLsm);
        assert_eq!(event.process().unwrap().binary, "/bin/cat");
        assert_eq!(event.parent().unwrap().binary, "/bin/sh");
        assert_eq!(event.ancestors()[0].binary, "/sbin/init");

        let throttle = Event::new(EventBody::ProcessThrottle(ProcessThrottle::default()));
        assert!(throttle.process().is_none() && throttle.parent().is_none());
        assert!(throttle.ancestors().is_empty());
    }

    #[test]
    fn file_tracking_and_own_events_are_not_in_the_default_set() {
        let open = |policy: &str| {
            Event::new(EventBody::ProcessKprobe(ProcessKprobe {
                function_name: "fd_install".into(),
                policy_name: policy.into(),
                ..ProcessKprobe::default()
            }))
        };
        assert!(!open("").in_default_set());
        assert!(open("file-monitoring").in_default_set());
        let stats = EventBody::TetrascopeSyscallStats(TetrascopeSyscallStats::default());
        assert!(!Event::new(stats).in_default_set());
        assert!(Event::new(EventBody::ProcessExec(ProcessExec::default())).in_default_set());
    }

    #[test]
    fn empty_bodies_have_their_type() {
        for t in EventType::ALL {
            assert_eq!(EventBody::empty(t).event_type(), t);
        }
    }
}
