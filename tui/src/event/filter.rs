//! `EventFilter`: the part of one Tetragon `Filter` that tetra's CLI flags set (tetragon.md §1.4,
//! §2.2). Its fields are ANDed; inside a field, any entry may match; an empty field matches all.

use regex::RegexSet;

use super::event_type::EventType;
use super::events::Event;

#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// RE2-style patterns on `process.binary`; `None` when unconstrained.
    binary: Option<RegexSet>,
    /// Patterns on `process.pod.name`.
    pod: Option<RegexSet>,
    /// Exact `process.pod.namespace` values; `""` stands for host (non-pod) processes.
    namespaces: Vec<String>,
    event_types: Vec<EventType>,
}

fn regex_set(patterns: &[String]) -> Result<Option<RegexSet>, regex::Error> {
    if patterns.is_empty() {
        Ok(None)
    } else {
        RegexSet::new(patterns).map(Some)
    }
}

impl EventFilter {
    pub fn new(
        binary_regex: &[String],
        pod_regex: &[String],
        namespaces: &[String],
        event_types: &[EventType],
    ) -> Result<Self, regex::Error> {
        Ok(EventFilter {
            binary: regex_set(binary_regex)?,
            pod: regex_set(pod_regex)?,
            namespaces: namespaces.to_vec(),
            event_types: event_types.to_vec(),
        })
    }

    /// True when the filter sets nothing: the default event set, unconstrained.
    pub fn is_empty(&self) -> bool {
        self.binary.is_none()
            && self.pod.is_none()
            && self.namespaces.is_empty()
            && self.event_types.is_empty()
    }

    /// Like Tetragon, process constraints never match events without a process (throttle,
    /// rate-limit), and a pod pattern never matches a host process. Without event types, the
    /// default set ([`Event::in_default_set`]): no statistics, file-access rows or file
    /// tracking's opens unless their types are named.
    pub fn matches(&self, event: &Event) -> bool {
        let type_wanted = if self.event_types.is_empty() {
            event.in_default_set()
        } else {
            self.event_types.contains(&event.event_type())
        };
        if !type_wanted {
            return false;
        }
        if self.binary.is_none() && self.pod.is_none() && self.namespaces.is_empty() {
            return true;
        }
        let Some(process) = event.process() else {
            return false;
        };
        if let Some(binary) = &self.binary
            && !binary.is_match(&process.binary)
        {
            return false;
        }
        if let Some(pod) = &self.pod
            && !process.pod.as_ref().is_some_and(|p| pod.is_match(&p.name))
        {
            return false;
        }
        if !self.namespaces.is_empty() {
            let wanted = |n: &String| match &process.pod {
                Some(pod) => *n == pod.namespace,
                None => n.is_empty(),
            };
            if !self.namespaces.iter().any(wanted) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventBody, Pod, Process, ProcessExec, ProcessExit, ProcessThrottle};

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn exec(binary: &str, pod: Option<(&str, &str)>) -> Event {
        Event::new(EventBody::ProcessExec(ProcessExec {
            process: Some(Process {
                binary: binary.into(),
                pod: pod.map(|(namespace, name)| Pod {
                    namespace: namespace.into(),
                    name: name.into(),
                    ..Pod::default()
                }),
                ..Process::default()
            }),
            ..ProcessExec::default()
        }))
    }

    fn filter(
        binary: &[&str],
        pod: &[&str],
        namespaces: &[&str],
        types: &[EventType],
    ) -> EventFilter {
        EventFilter::new(&strings(binary), &strings(pod), &strings(namespaces), types).unwrap()
    }

    #[test]
    fn empty_filter_matches_everything() {
        let f = EventFilter::new(&[], &[], &[], &[]).unwrap();
        assert!(f.is_empty());
        assert!(f.matches(&exec("/bin/sh", None)));
        assert!(f.matches(&Event::new(EventBody::ProcessThrottle(
            ProcessThrottle::default()
        ))));
    }

    #[test]
    fn binary_regex_is_unanchored_and_any_of() {
        let f = filter(&["bash$", "^/usr/bin/cu"], &[], &[], &[]);
        assert!(!f.is_empty());
        assert!(f.matches(&exec("/bin/bash", None)));
        assert!(f.matches(&exec("/usr/bin/curl", None)));
        assert!(!f.matches(&exec("/bin/sh", None)));
        assert!(!f.matches(&Event::new(EventBody::ProcessThrottle(
            ProcessThrottle::default()
        ))));
    }

    #[test]
    fn pod_regex_needs_a_pod() {
        let f = filter(&[], &["^iris"], &[], &[]);
        assert!(f.matches(&exec("/bin/sh", Some(("default", "iris-priv")))));
        assert!(!f.matches(&exec("/bin/sh", Some(("default", "xwing")))));
        assert!(!f.matches(&exec("/bin/sh", None)));
    }

    #[test]
    fn namespaces_with_empty_for_host() {
        let f = filter(&[], &[], &["default"], &[]);
        assert!(f.matches(&exec("/bin/sh", Some(("default", "p")))));
        assert!(!f.matches(&exec("/bin/sh", Some(("kube-system", "p")))));
        assert!(!f.matches(&exec("/bin/sh", None)));
        let host = filter(&[], &[], &["", "kube-system"], &[]);
        assert!(host.matches(&exec("/bin/sh", None)));
        assert!(host.matches(&exec("/bin/sh", Some(("kube-system", "p")))));
        assert!(!host.matches(&exec("/bin/sh", Some(("default", "p")))));
        assert!(host.matches(&exec("/bin/sh", Some(("", "p")))));
    }

    #[test]
    fn event_types_and_fields_are_anded() {
        let f = filter(&["sh$"], &[], &["default"], &[EventType::ProcessExit]);
        let exit = Event::new(EventBody::ProcessExit(ProcessExit {
            process: exec("/bin/sh", Some(("default", "p"))).process().cloned(),
            ..ProcessExit::default()
        }));
        assert!(f.matches(&exit));
        assert!(!f.matches(&exec("/bin/sh", Some(("default", "p")))));
        let types_only = filter(&[], &[], &[], &[EventType::ProcessThrottle]);
        assert!(types_only.matches(&Event::new(EventBody::ProcessThrottle(
            ProcessThrottle::default()
        ))));
        assert!(!types_only.matches(&exec("/bin/sh", None)));
    }

    #[test]
    fn own_event_types_only_when_named() {
        let stats = Event::new(EventBody::TetrascopeSyscallStats(Default::default()));
        assert!(!filter(&[], &[], &[], &[]).matches(&stats));
        let named = filter(&[], &[], &[], &[EventType::TetrascopeSyscallStats]);
        assert!(named.matches(&stats));
        assert!(!named.matches(&exec("/bin/sh", None)));
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(EventFilter::new(&strings(&["("]), &[], &[], &[]).is_err());
    }
}
