//! Fuzzy search over the processes (skim's algorithm): binary, arguments, pod, namespace and
//! exec_id. The tree then shows the matches with their ancestors.
use std::collections::HashSet;

use fuzzy_matcher::{FuzzyMatcher, skim::SkimMatcherV2};

use super::process_tree::ProcessTree;
use crate::event::Process;

#[derive(Default)]
pub struct Search {
    pub query: String,
    /// The query line has the keyboard.
    pub editing: bool,
    matcher: SkimMatcherV2,
    /// Matching exec_ids in tree order.
    matches: Vec<String>,
    /// Matches and their ancestors: what the tree shows.
    shown: HashSet<String>,
    /// (tree generation, query) the matches were computed for.
    computed_for: Option<(u64, String)>,
}

impl Search {
    pub fn active(&self) -> bool {
        !self.query.is_empty()
    }

    /// The text a process is matched against; `binary` comes first and `arguments` right after
    /// one space, so match positions map back onto the row.
    pub fn haystack(process: &Process) -> String {
        let pod = process
            .pod
            .as_ref()
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .unwrap_or_default();
        format!(
            "{} {} {pod} {}",
            process.binary, process.arguments, process.exec_id
        )
    }

    /// Character positions of the query in `process`'s haystack, if it matches.
    pub fn positions(&self, process: &Process) -> Option<Vec<usize>> {
        if !self.active() {
            return None;
        }
        self.matcher
            .fuzzy_indices(&Self::haystack(process), &self.query)
            .map(|(_, positions)| positions)
    }

    /// Recomputes the matches if the tree or the query changed.
    pub fn refresh(&mut self, tree: &ProcessTree) {
        let key = (tree.generation(), self.query.clone());
        if self.computed_for.as_ref() == Some(&key) {
            return;
        }
        self.matches.clear();
        self.shown.clear();
        if self.active() {
            for id in tree.walk() {
                let Some(node) = tree.get(id) else { continue };
                if self
                    .matcher
                    .fuzzy_match(&Self::haystack(&node.process), &self.query)
                    .is_some()
                {
                    self.matches.push(id.to_string());
                    self.shown.extend(tree.path_to(id));
                }
            }
        }
        self.computed_for = Some(key);
    }

    pub fn matches(&self) -> &[String] {
        &self.matches
    }

    /// Whether the tree shows `exec_id` (everything when no search is active).
    pub fn shows(&self, exec_id: &str) -> bool {
        !self.active() || self.shown.contains(exec_id)
    }

    /// The match after (or before) `current` in tree order, wrapping around.
    pub fn next_after(&self, current: Option<&str>, forward: bool) -> Option<&str> {
        if self.matches.is_empty() {
            return None;
        }
        let at = current.and_then(|c| self.matches.iter().position(|m| m == c));
        let n = self.matches.len();
        let index = match (at, forward) {
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
            (None, true) => 0,
            (None, false) => n - 1,
        };
        Some(&self.matches[index])
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::event::{Event, EventBody, ProcessExec};

    fn tree() -> ProcessTree {
        let mut tree = ProcessTree::default();
        for (id, parent, binary, args) in [
            ("a", "", "/usr/bin/bash", ""),
            ("b", "a", "/usr/irissys/bin/irisdb", "-s /usr/irissys/mgr"),
            ("c", "b", "/usr/bin/cat", "/usr/irissys/mgr/iris.key"),
            ("d", "a", "/usr/bin/ls", "-l"),
        ] {
            let process = Process {
                exec_id: id.into(),
                parent_exec_id: parent.into(),
                binary: binary.into(),
                arguments: args.into(),
                ..Process::default()
            };
            let event = Event::new(EventBody::ProcessExec(ProcessExec {
                process: Some(process),
                parent: None,
                ancestors: Vec::new(),
            }));
            tree.apply(&event, Instant::now());
        }
        tree
    }

    #[test]
    fn matches_show_with_their_ancestors() {
        let tree = tree();
        let mut search = Search {
            query: "iriskey".into(),
            ..Search::default()
        };
        search.refresh(&tree);
        assert_eq!(search.matches(), ["c"]);
        assert!(search.shows("a") && search.shows("b") && search.shows("c"));
        assert!(!search.shows("d"));
    }

    #[test]
    fn positions_point_into_the_binary_and_arguments() {
        let tree = tree();
        let search = Search {
            query: "cat".into(),
            ..Search::default()
        };
        let process = &tree.get("c").unwrap().process;
        let positions = search.positions(process).unwrap();
        let haystack: Vec<char> = Search::haystack(process).chars().collect();
        let found: String = positions.iter().map(|&i| haystack[i]).collect();
        assert_eq!(found, "cat");
    }

    #[test]
    fn next_and_previous_wrap_around() {
        let tree = tree();
        let mut search = Search {
            query: "usr".into(),
            ..Search::default()
        };
        search.refresh(&tree);
        assert_eq!(search.matches(), ["a", "b", "c", "d"]);
        assert_eq!(search.next_after(Some("d"), true), Some("a"));
        assert_eq!(search.next_after(Some("a"), false), Some("d"));
        assert_eq!(search.next_after(None, true), Some("a"));
    }
}
