//! Pods for the events of container processes. A process's `docker` field comes from its
//! cgroup at exec (or from /proc at start-up); its pod is looked up when an event goes out. An
//! event whose pod is not known yet (the pod watch lags the container start) waits, a bounded
//! time and in a bounded queue, then goes out without it. Host processes pay one check of an
//! empty string per event.
use std::{
    collections::VecDeque,
    mem,
    time::{Duration, Instant},
};

use crate::{
    event::{Event, Pod, Process},
    kube::pods::PodMetadata,
};

/// How long an event waits for its pod.
pub const POD_WAIT: Duration = Duration::from_secs(2);
/// Events waiting at most; beyond, the oldest goes out without its pod.
const MAX_WAITING: usize = 8192;

/// What became of the events of container processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodCounters {
    /// Went out with their pod at once.
    pub enriched: u64,
    /// Went out with their pod after waiting for it.
    pub enriched_late: u64,
    /// Went out without their pod (it never appeared in time, or the queue was full).
    pub missed: u64,
}

pub struct PodEnricher {
    pods: PodMetadata,
    /// Bumped when the cached pods change.
    changes: tokio::sync::watch::Receiver<u64>,
    /// Events waiting for their pods, oldest first, with the time they began waiting.
    waiting: VecDeque<(Instant, Event)>,
    wait: Duration,
    counters: PodCounters,
}

enum Lookup {
    /// Not a container process, or its pod is filled in.
    Done,
    /// A container process whose pod is not known (yet).
    Unknown,
}

impl PodEnricher {
    pub fn new(pods: PodMetadata, wait: Duration) -> Self {
        Self {
            changes: pods.changes(),
            pods,
            waiting: VecDeque::new(),
            wait,
            counters: PodCounters::default(),
        }
    }

    pub fn pods(&self) -> &PodMetadata {
        &self.pods
    }

    /// Whether the pods changed since the last call.
    pub fn pods_changed(&mut self) -> bool {
        let changed = self.changes.has_changed().unwrap_or(false);
        if changed {
            self.changes.borrow_and_update();
        }
        changed
    }

    pub fn counters(&self) -> PodCounters {
        self.counters
    }

    /// Fills in the pods of `out[from..]`, takes out the events that must wait for theirs, and
    /// puts before the rest the waiting events whose pods arrived or whose time is up.
    pub fn enrich(&mut self, out: &mut Vec<Event>, mut from: usize, now: Instant) {
        // Nothing waiting: the events are filled where they are, up to the first whose pod is
        // not known (the rest, from there, take the way that can hold them back).
        if self.waiting.is_empty() {
            while from < out.len() {
                let event = &mut out[from];
                if let Lookup::Unknown = self.fill(event) {
                    break;
                }
                if event.process().is_some_and(|p| p.pod.is_some()) {
                    self.counters.enriched += 1;
                }
                from += 1;
            }
            if from == out.len() {
                return;
            }
        }
        let fresh = out.split_off(from);
        let wait = self.wait;
        self.release(out, |since| now.duration_since(since) >= wait);
        for mut event in fresh {
            match self.fill(&mut event) {
                Lookup::Done if event.process().is_some_and(|p| p.pod.is_some()) => {
                    self.counters.enriched += 1;
                    out.push(event);
                }
                Lookup::Done => out.push(event),
                Lookup::Unknown => self.hold(event, now, out),
            }
        }
    }

    /// Lets every waiting event go, with its pod if it has come (the last drain).
    pub fn flush(&mut self, out: &mut Vec<Event>) {
        self.release(out, |_| true);
    }

    fn hold(&mut self, event: Event, now: Instant, out: &mut Vec<Event>) {
        if self.wait.is_zero() {
            self.counters.missed += 1;
            out.push(event);
            return;
        }
        if self.waiting.len() >= MAX_WAITING
            && let Some((_, oldest)) = self.waiting.pop_front()
        {
            self.counters.missed += 1;
            out.push(oldest);
        }
        self.waiting.push_back((now, event));
    }

    /// Moves to `out`, in order, the waiting events whose pods are known now and those for
    /// which `expired` holds. Events of one container leave together or in order: they wait
    /// for the same pod, and the older ones expire first.
    fn release(&mut self, out: &mut Vec<Event>, expired: impl Fn(Instant) -> bool) {
        if self.waiting.is_empty() {
            return;
        }
        for (since, mut event) in mem::take(&mut self.waiting) {
            match self.fill(&mut event) {
                Lookup::Done => {
                    self.counters.enriched_late += 1;
                    out.push(event);
                }
                Lookup::Unknown if expired(since) => {
                    self.counters.missed += 1;
                    out.push(event);
                }
                Lookup::Unknown => self.waiting.push_back((since, event)),
            }
        }
    }

    /// Fills in the pods of the event's process and parent where they are known.
    fn fill(&self, event: &mut Event) -> Lookup {
        let (process, parent) = event.process_and_parent_mut();
        if let Some(parent) = parent
            && !parent.docker.is_empty()
            && parent.pod.is_none()
        {
            parent.pod = self.pod_of(parent);
        }
        match process {
            Some(p) if !p.docker.is_empty() && p.pod.is_none() => {
                p.pod = self.pod_of(p);
                if p.pod.is_some() {
                    Lookup::Done
                } else {
                    Lookup::Unknown
                }
            }
            _ => Lookup::Done,
        }
    }

    /// The pod of a container process, with the process's pid in the container as
    /// `container.pid`.
    fn pod_of(&self, process: &Process) -> Option<Pod> {
        let mut pod = self.pods.event_pod(&process.docker)?;
        if let Some(container) = &mut pod.container {
            container.pid = process.ns_pid;
        }
        Some(pod)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        event::{EventBody, Process, ProcessExec},
        kube::{
            cgroup_index::CgroupIndex,
            pods::{CachedContainer, CachedPod},
        },
    };

    const DOCKER: &str = "0123456789abcdef0123456789abcde";

    fn enricher() -> PodEnricher {
        let empty = std::env::temp_dir().join(format!("pod-enricher-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let (pods, _changes) = PodMetadata::new(CgroupIndex::new(empty));
        PodEnricher::new(pods, POD_WAIT)
    }

    fn add_pod(enricher: &PodEnricher) {
        let pod = CachedPod {
            namespace: "default".into(),
            name: "web".into(),
            uid: "u1".into(),
            labels: Default::default(),
            workload: "web".into(),
            workload_kind: "Pod".into(),
            containers: vec![CachedContainer {
                status_id: format!("containerd://{DOCKER}f0123456789abcdef0123456789abcdef0"),
                name: "app".into(),
                image: Default::default(),
                start_time: None,
            }],
        };
        enricher
            .pods()
            .cache()
            .write()
            .unwrap()
            .apply(Arc::new(pod));
    }

    fn exec(binary: &str, docker: &str) -> Event {
        Event::new(EventBody::ProcessExec(ProcessExec {
            process: Some(Process {
                binary: binary.into(),
                docker: docker.into(),
                ..Process::default()
            }),
            ..ProcessExec::default()
        }))
    }

    fn binaries(events: &[Event]) -> Vec<(&str, Option<&str>)> {
        events
            .iter()
            .map(|e| {
                let p = e.process().unwrap();
                (
                    p.binary.as_str(),
                    p.pod.as_ref().map(|pod| pod.name.as_str()),
                )
            })
            .collect()
    }

    #[test]
    fn known_pods_at_once_unknown_ones_after_waiting() {
        let mut enricher = enricher();
        let start = Instant::now();
        let mut out = vec![exec("/early", DOCKER), exec("/host", "")];
        enricher.enrich(&mut out, 0, start);
        assert_eq!(
            binaries(&out),
            [("/host", None)],
            "the container event waits"
        );

        add_pod(&enricher);
        out.clear();
        out.push(exec("/later", DOCKER));
        enricher.enrich(&mut out, 0, start + Duration::from_millis(100));
        assert_eq!(
            binaries(&out),
            [("/early", Some("web")), ("/later", Some("web"))],
            "the waiting event goes first"
        );
        let counters = enricher.counters();
        assert_eq!(
            (counters.enriched, counters.enriched_late, counters.missed),
            (1, 1, 0)
        );
    }

    #[test]
    fn pods_that_never_come_are_counted_as_missed() {
        let mut enricher = enricher();
        let start = Instant::now();
        let mut out = vec![exec("/a", DOCKER)];
        enricher.enrich(&mut out, 0, start);
        assert!(out.is_empty());
        enricher.enrich(&mut out, 0, start + POD_WAIT);
        assert_eq!(binaries(&out), [("/a", None)]);
        out.clear();
        out.push(exec("/b", DOCKER));
        enricher.enrich(&mut out, 0, start + POD_WAIT);
        enricher.flush(&mut out);
        assert_eq!(binaries(&out), [("/b", None)], "flushed at the end");
        assert_eq!(enricher.counters().missed, 2);
    }
}
