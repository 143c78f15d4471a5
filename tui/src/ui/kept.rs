//! Events as the UI keeps them. An `Event` is ~2.4 KB inline plus its strings, mostly two
//! `Process` copies that every other event of the same process repeats; kept events share their
//! processes (by exec_id, when equal) and hold the rest in a small struct. A whole `Event` is
//! rebuilt only for the rows on screen and for details.
use std::{collections::HashMap, sync::Arc};

use crate::{
    event::{Event, EventBody, EventType, Process, ProcessExec, ProcessExit, Timestamp},
    policy::hit_event::{Verdict, verdict},
};

/// One process per exec_id, shared by the events that carry an identical copy of it.
#[derive(Default)]
pub struct Interner {
    processes: HashMap<String, Arc<Process>>,
}

impl Interner {
    fn intern(&mut self, process: Process) -> Arc<Process> {
        match self.processes.get(&process.exec_id) {
            Some(known) if **known == process => known.clone(),
            _ => {
                let shared = Arc::new(process);
                self.processes
                    .insert(shared.exec_id.clone(), shared.clone());
                shared
            }
        }
    }

    /// Forgets processes no kept event refers to any more.
    pub fn prune(&mut self) {
        self.processes.retain(|_, p| Arc::strong_count(p) > 1);
    }

    pub fn len(&self) -> usize {
        self.processes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }
}

#[derive(Clone, Debug)]
enum Body {
    Exec,
    Exit {
        signal: String,
        status: u32,
        time: Option<Timestamp>,
    },
    /// Anything else (and lifecycle events with fields the compact form does not keep).
    Whole(Box<Event>),
}

#[derive(Clone, Debug)]
pub struct KeptEvent {
    body: Body,
    process: Option<Arc<Process>>,
    parent: Option<Arc<Process>>,
    node_name: Arc<str>,
    time: Option<Timestamp>,
}

impl KeptEvent {
    pub fn new(event: Event, interner: &mut Interner, node_names: &mut NodeNames) -> Self {
        let plain_envelope = event.aggregation_info.is_none()
            && event.cluster_name.is_empty()
            && event.node_labels.is_empty();
        let node_name = node_names.get(&event.node_name);
        let time = event.time;
        let (body, process, parent) = match event.body {
            EventBody::ProcessExec(exec) if plain_envelope && exec.ancestors.is_empty() => {
                (Body::Exec, exec.process, exec.parent)
            }
            EventBody::ProcessExit(exit) if plain_envelope && exit.ancestors.is_empty() => (
                Body::Exit {
                    signal: exit.signal,
                    status: exit.status,
                    time: exit.time,
                },
                exit.process,
                exit.parent,
            ),
            body => {
                let whole = Event { body, ..event };
                return Self {
                    body: Body::Whole(Box::new(whole)),
                    process: None,
                    parent: None,
                    node_name,
                    time,
                };
            }
        };
        Self {
            body,
            process: process.map(|p| interner.intern(p)),
            parent: parent.map(|p| interner.intern(p)),
            node_name,
            time,
        }
    }

    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// The event as it arrived.
    pub fn event(&self) -> Event {
        let process = self.process.as_deref().cloned();
        let parent = self.parent.as_deref().cloned();
        let body = match &self.body {
            Body::Whole(event) => return (**event).clone(),
            Body::Exec => EventBody::ProcessExec(ProcessExec {
                process,
                parent,
                ancestors: Vec::new(),
            }),
            Body::Exit {
                signal,
                status,
                time,
            } => EventBody::ProcessExit(ProcessExit {
                process,
                parent,
                signal: signal.clone(),
                status: *status,
                time: *time,
                ancestors: Vec::new(),
            }),
        };
        Event {
            node_name: self.node_name.to_string(),
            time: self.time,
            ..Event::new(body)
        }
    }

    pub fn time(&self) -> Option<Timestamp> {
        self.time
    }

    pub fn event_type(&self) -> EventType {
        match &self.body {
            Body::Exec => EventType::ProcessExec,
            Body::Exit { .. } => EventType::ProcessExit,
            Body::Whole(event) => event.event_type(),
        }
    }

    /// The process the event is about.
    pub fn process(&self) -> Option<&Process> {
        match &self.body {
            Body::Whole(event) => event.process(),
            _ => self.process.as_deref(),
        }
    }

    /// A SIGKILLed exit, or a policy event whose action killed.
    pub fn killed(&self) -> bool {
        match &self.body {
            Body::Exit { signal, .. } => signal == "SIGKILL",
            Body::Whole(event) => verdict(event).is_some_and(Verdict::enforced),
            Body::Exec => false,
        }
    }

    /// A policy event in monitor mode that would have killed, signalled or failed the call.
    pub fn would_kill(&self) -> bool {
        matches!(&self.body, Body::Whole(event)
            if matches!(verdict(event), Some(Verdict::WouldKill | Verdict::WouldSignal | Verdict::WouldOverride)))
    }
}

/// Node names shared across events (a stream has one or a few).
#[derive(Default)]
pub struct NodeNames {
    names: HashMap<String, Arc<str>>,
}

impl NodeNames {
    /// How many nodes the events came from.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The longest node name, in characters.
    pub fn widest(&self) -> usize {
        self.names
            .keys()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
    }

    fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.names.get(name) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        self.names.insert(name.to_string(), shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode_json_line;

    const SEED: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/seed-events.jsonl"
    );
    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/lineage.jsonl"
    );

    fn events(path: &str) -> Vec<Event> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| decode_json_line(l.as_bytes()).unwrap())
            .collect()
    }

    #[test]
    fn every_event_comes_back_as_it_arrived() {
        let (mut interner, mut names) = (Interner::default(), NodeNames::default());
        for event in events(SEED).into_iter().chain(events(FIXTURE)) {
            let kept = KeptEvent::new(event.clone(), &mut interner, &mut names);
            assert_eq!(kept.event(), event);
            assert_eq!(kept.event_type(), event.event_type());
            assert_eq!(kept.process(), event.process());
        }
    }

    #[test]
    fn processes_are_shared_and_pruned() {
        let (mut interner, mut names) = (Interner::default(), NodeNames::default());
        let kept: Vec<KeptEvent> = events(FIXTURE)
            .into_iter()
            .map(|e| KeptEvent::new(e, &mut interner, &mut names))
            .collect();
        // 9 events name 7 processes (as subject or parent).
        assert_eq!(interner.len(), 7);
        let exec_of_pwd = &kept[2];
        let exit_of_pwd = &kept[3];
        assert!(Arc::ptr_eq(
            exec_of_pwd.process.as_ref().unwrap(),
            exit_of_pwd.process.as_ref().unwrap()
        ));
        drop(kept);
        interner.prune();
        assert!(interner.is_empty());
    }

    #[test]
    fn a_kept_exec_is_small() {
        assert!(std::mem::size_of::<KeptEvent>() <= 128);
    }
}
