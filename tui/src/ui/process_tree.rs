//! The UI's process tree: every process the event stream mentioned, linked by exec lineage, with
//! exits remembered for a while so that short-lived and killed processes stay visible.
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use crate::{
    event::{Event, EventBody, Process},
    policy::hit_event::{Verdict, policy_name, verdict},
};

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub signal: String,
    pub status: u32,
    pub at: Instant,
}

impl Exit {
    pub fn killed(&self) -> bool {
        self.signal == "SIGKILL"
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub process: Process,
    /// Child exec_ids in the order they appeared.
    pub children: Vec<String>,
    pub exit: Option<Exit>,
    pub seen_at: Instant,
    /// Events that name this process (as its subject).
    pub events: u64,
    /// What a policy did (or would have done) to it, and which policy.
    pub verdict: Option<(Verdict, String)>,
}

impl Node {
    fn new(process: Process, now: Instant) -> Self {
        Self {
            process,
            children: Vec::new(),
            exit: None,
            seen_at: now,
            events: 0,
            verdict: None,
        }
    }
}

/// Processes keyed by exec_id. A process whose parent is unknown is a root. A same-PID re-exec
/// is a child of the image it replaced, as Tetragon links it (the view marks it).
#[derive(Debug, Default)]
pub struct ProcessTree {
    nodes: HashMap<String, Node>,
    roots: Vec<String>,
    /// Bumped on every change, so views rebuild only when something changed.
    generation: u64,
    /// Exited processes dropped after their keep time.
    pub expired: u64,
}

impl ProcessTree {
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn get(&self, exec_id: &str) -> Option<&Node> {
        self.nodes.get(exec_id)
    }

    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// The exec_ids from the root down to `exec_id` (the tree widget's identifier path).
    pub fn path_to(&self, exec_id: &str) -> Vec<String> {
        let mut path = vec![exec_id.to_string()];
        let mut current = exec_id;
        while let Some(parent) = self.parent_of(current) {
            if path.iter().any(|p| p == parent) || path.len() > 4096 {
                break; // a cycle in bad input
            }
            path.push(parent.to_string());
            current = parent;
        }
        path.reverse();
        path
    }

    /// The parent's exec_id, when the parent is in the tree.
    pub fn parent_of(&self, exec_id: &str) -> Option<&str> {
        let parent = self.nodes.get(exec_id)?.process.parent_exec_id.as_str();
        self.nodes.contains_key(parent).then_some(parent)
    }

    pub fn apply(&mut self, event: &Event, now: Instant) {
        if let Some(parent) = event.parent() {
            self.learn(parent, now);
        }
        if let Some(process) = event.process() {
            self.learn(process, now);
            if let Some(node) = self.nodes.get_mut(&process.exec_id) {
                node.events += 1;
                if let EventBody::ProcessExec(_) = event.body {
                    // The exec carries the full, final view of the process.
                    node.process = process.clone();
                }
                if let Some(verdict) = verdict(event) {
                    // A real kill outranks what monitor mode reported before it.
                    let keep = node.verdict.as_ref().is_some_and(|(v, _)| v.enforced());
                    if !keep || verdict.enforced() {
                        let policy = policy_name(event).unwrap_or_default().to_owned();
                        node.verdict = Some((verdict, policy));
                    }
                }
            }
        }
        if let EventBody::ProcessExit(exit) = &event.body
            && let Some(node) = exit
                .process
                .as_ref()
                .and_then(|p| self.nodes.get_mut(&p.exec_id))
        {
            node.exit = Some(Exit {
                signal: exit.signal.clone(),
                status: exit.status,
                at: now,
            });
        }
        self.generation += 1;
    }

    /// Adds a process if new, linking it under its parent and adopting children that arrived
    /// before it (e.g. an exit seen before its parent's exec).
    fn learn(&mut self, process: &Process, now: Instant) {
        if process.exec_id.is_empty() || self.nodes.contains_key(&process.exec_id) {
            return;
        }
        let id = process.exec_id.clone();
        self.nodes
            .insert(id.clone(), Node::new(process.clone(), now));
        match self.nodes.get_mut(&process.parent_exec_id) {
            Some(parent) if process.parent_exec_id != id => parent.children.push(id.clone()),
            _ => self.roots.push(id.clone()),
        }
        let orphans: Vec<String> = self
            .roots
            .iter()
            .filter(|r| self.nodes[*r].process.parent_exec_id == id)
            .cloned()
            .collect();
        if !orphans.is_empty() {
            self.roots.retain(|r| !orphans.contains(r));
            self.nodes.get_mut(&id).unwrap().children.extend(orphans);
        }
    }

    /// Drops exited processes without children once `keep` has passed since their exit.
    pub fn expire(&mut self, now: Instant, keep: Duration) {
        let done: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| {
                n.children.is_empty() && n.exit.as_ref().is_some_and(|e| now - e.at >= keep)
            })
            .map(|(id, _)| id.clone())
            .collect();
        if done.is_empty() {
            return;
        }
        for id in &done {
            let node = self.nodes.remove(id).expect("listed above");
            match self.nodes.get_mut(&node.process.parent_exec_id) {
                Some(parent) => parent.children.retain(|c| c != id),
                None => self.roots.retain(|r| r != id),
            }
        }
        self.expired += done.len() as u64;
        self.generation += 1;
    }

    /// Every exec_id, parents before children (depth first, in display order).
    pub fn walk(&self) -> Vec<&str> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<&str> = self.roots.iter().rev().map(String::as_str).collect();
        while let Some(id) = stack.pop() {
            out.push(id);
            if let Some(node) = self.nodes.get(id) {
                stack.extend(node.children.iter().rev().map(String::as_str));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ProcessExec, ProcessExit};

    fn process(exec_id: &str, pid: u32, parent: &str) -> Process {
        Process {
            exec_id: exec_id.into(),
            pid: Some(pid),
            parent_exec_id: parent.into(),
            binary: format!("/bin/{exec_id}"),
            ..Process::default()
        }
    }

    fn exec(p: Process, parent: Option<Process>) -> Event {
        Event::new(EventBody::ProcessExec(ProcessExec {
            process: Some(p),
            parent,
            ancestors: Vec::new(),
        }))
    }

    fn exit(p: Process, signal: &str) -> Event {
        Event::new(EventBody::ProcessExit(ProcessExit {
            process: Some(p),
            signal: signal.into(),
            ..ProcessExit::default()
        }))
    }

    #[test]
    fn lineage_with_a_re_exec() {
        let now = Instant::now();
        let mut tree = ProcessTree::default();
        let shell = process("shell", 1, "");
        let bash = process("bash", 2, "shell");
        let pwd = process("pwd", 2, "bash");
        tree.apply(&exec(bash.clone(), Some(shell.clone())), now);
        tree.apply(&exec(pwd.clone(), Some(bash)), now);
        tree.apply(&exec(process("direct", 3, "shell"), Some(shell)), now);
        assert_eq!(tree.roots(), ["shell"]);
        assert_eq!(tree.walk(), ["shell", "bash", "pwd", "direct"]);
        assert_eq!(tree.path_to("pwd"), ["shell", "bash", "pwd"]);
    }

    #[test]
    fn an_exit_before_its_parents_exec_is_adopted_later() {
        let now = Instant::now();
        let mut tree = ProcessTree::default();
        tree.apply(&exit(process("child", 5, "parent"), "SIGKILL"), now);
        assert_eq!(tree.roots(), ["child"]);
        tree.apply(&exec(process("parent", 4, "init"), None), now);
        assert_eq!(tree.roots(), ["parent"]);
        assert_eq!(tree.walk(), ["parent", "child"]);
        assert!(tree.get("child").unwrap().exit.as_ref().unwrap().killed());
    }

    #[test]
    fn pid_reuse_gives_separate_nodes() {
        let now = Instant::now();
        let mut tree = ProcessTree::default();
        tree.apply(&exec(process("a-first", 7, ""), None), now);
        tree.apply(&exit(process("a-first", 7, ""), ""), now);
        tree.apply(&exec(process("a-second", 7, ""), None), now);
        assert_eq!(tree.len(), 2);
        assert!(tree.get("a-second").unwrap().exit.is_none());
    }

    #[test]
    fn exited_leaves_expire_after_their_keep_time() {
        let start = Instant::now();
        let mut tree = ProcessTree::default();
        tree.apply(&exec(process("p", 1, ""), None), start);
        tree.apply(&exec(process("c", 2, "p"), None), start);
        tree.apply(&exit(process("c", 2, "p"), ""), start);
        tree.apply(&exit(process("p", 1, ""), ""), start);
        tree.expire(start + Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(tree.len(), 2);
        tree.expire(start + Duration::from_secs(6), Duration::from_secs(5));
        assert_eq!(tree.len(), 1, "the leaf goes first");
        tree.expire(start + Duration::from_secs(6), Duration::from_secs(5));
        assert!(tree.is_empty());
        assert_eq!(tree.expired, 2);
    }

    #[test]
    fn a_hundred_thousand_processes() {
        let now = Instant::now();
        let mut tree = ProcessTree::default();
        tree.apply(&exec(process("root", 1, ""), None), now);
        for i in 0..100_000u32 {
            let parent = if i < 100 {
                "root".to_string()
            } else {
                format!("p{}", i / 100)
            };
            tree.apply(&exec(process(&format!("p{i}"), 10 + i, &parent), None), now);
        }
        assert_eq!(tree.len(), 100_001);
        assert_eq!(tree.walk().len(), 100_001);
        assert_eq!(tree.path_to("p99999").len(), 4);
    }
}
