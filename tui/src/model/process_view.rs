//! The living processes as a stream of events describes them: what a replay, a remote agent's
//! client or a recording checkpoint knows, without the sensor's records.
use std::collections::HashMap;

use crate::event::{Event, EventBody, Process};

/// Living processes keyed by exec_id. An exec makes its process (and its parent, if new) live;
/// an exec in the same PID as its parent retires the parent image; an exit retires the process.
/// The view is a function of its live set alone, so a view restored from a checkpoint and fed the
/// events after it equals one fed every event from the start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessView {
    live: HashMap<String, Process>,
}

impl ProcessView {
    pub fn new() -> Self {
        Self::default()
    }

    /// A view holding exactly `processes` (a recording checkpoint).
    pub fn restore(processes: Vec<Process>) -> Self {
        Self {
            live: processes
                .into_iter()
                .map(|p| (p.exec_id.clone(), p))
                .collect(),
        }
    }

    pub fn apply(&mut self, event: &Event) {
        match &event.body {
            EventBody::ProcessExec(exec) => {
                let Some(process) = &exec.process else {
                    return;
                };
                // Only an exec vouches for its parent: an exit's parent may be long gone.
                if let Some(parent) = &exec.parent {
                    self.learn(parent);
                }
                let replaced = exec
                    .parent
                    .as_ref()
                    .filter(|parent| parent.pid.is_some() && parent.pid == process.pid);
                if let Some(parent) = replaced {
                    self.live.remove(&parent.exec_id);
                }
                self.live.insert(process.exec_id.clone(), process.clone());
            }
            EventBody::ProcessExit(exit) => {
                if let Some(process) = &exit.process {
                    self.live.remove(&process.exec_id);
                }
            }
            // Statistics name images that may be long gone, by a few fields only.
            _ if event.event_type().is_tetrascope() => {}
            _ => {
                if let Some(process) = event.process() {
                    self.learn(process);
                }
            }
        }
    }

    /// Adds a process seen as an exec's parent or as the subject of a non-lifecycle event.
    fn learn(&mut self, process: &Process) {
        if !process.exec_id.is_empty() && !self.live.contains_key(&process.exec_id) {
            self.live.insert(process.exec_id.clone(), process.clone());
        }
    }

    pub fn get(&self, exec_id: &str) -> Option<&Process> {
        self.live.get(exec_id)
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// The living processes, oldest first (ties by exec_id): a stable order for checkpoints.
    pub fn snapshot(&self) -> Vec<Process> {
        let mut processes: Vec<Process> = self.live.values().cloned().collect();
        processes.sort_by(|a, b| (a.start_time, &a.exec_id).cmp(&(b.start_time, &b.exec_id)));
        processes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ProcessExec, ProcessExit};

    fn process(exec_id: &str, pid: u32, parent_exec_id: &str) -> Process {
        Process {
            exec_id: exec_id.into(),
            pid: Some(pid),
            parent_exec_id: parent_exec_id.into(),
            ..Process::default()
        }
    }

    fn exec(process: Process, parent: Process) -> Event {
        Event::new(EventBody::ProcessExec(ProcessExec {
            process: Some(process),
            parent: Some(parent),
            ancestors: Vec::new(),
        }))
    }

    fn exit(process: Process, parent: Process) -> Event {
        Event::new(EventBody::ProcessExit(ProcessExit {
            process: Some(process),
            parent: Some(parent),
            ..ProcessExit::default()
        }))
    }

    #[test]
    fn execs_exits_and_same_pid_re_execs() {
        let shell = process("shell", 10, "init");
        let bash = process("bash", 20, "shell");
        let pwd = process("pwd", 20, "bash");
        let mut view = ProcessView::new();
        view.apply(&exec(bash.clone(), shell.clone()));
        assert_eq!(view.len(), 2, "the parent is learnt");
        view.apply(&exec(pwd.clone(), bash.clone()));
        assert!(view.get("bash").is_none(), "bash became pwd");
        assert!(view.get("pwd").is_some());
        view.apply(&exit(pwd, bash));
        assert_eq!(view.snapshot(), vec![shell]);
    }

    #[test]
    fn restore_round_trips_a_snapshot() {
        let mut view = ProcessView::new();
        view.apply(&exec(process("b", 2, "a"), process("a", 1, "")));
        assert_eq!(ProcessView::restore(view.snapshot()), view);
    }
}
