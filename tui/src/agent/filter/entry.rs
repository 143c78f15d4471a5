//! `EntryFilter`: one `Filter` of an allow or deny list, compiled (tetragon.md §1.4). Its set
//! fields are ANDed; inside a field, any value may match. Events without a process (throttle,
//! rate-limit) match no process constraint.

use regex::{Regex, RegexSet};

use super::capabilities::CapabilityFilter;
use super::labels::LabelSelector;
use super::{FilterError, event_types};
use crate::agent::proto;
use crate::event::{Event, EventBody, EventType, Process};

#[derive(Clone, Debug)]
pub(super) struct EntryFilter {
    constraints: Vec<Constraint>,
}

#[derive(Clone, Debug)]
enum Constraint {
    EventTypes(Vec<EventType>),
    /// An allow entry that names no event types: tetrascope's own types and file tracking's
    /// opens must not reach a client that did not ask for them (Tetragon's tools reject them).
    DefaultSet,
    Pattern(Text, RegexSet),
    PolicyNames(Vec<String>),
    Process(ProcessConstraint),
}

/// A constraint on the event's process (and its lineage): never met without one.
#[derive(Clone, Debug)]
enum ProcessConstraint {
    /// Exact pod namespaces; `""` is a host process (one without a pod).
    Namespace(Vec<String>),
    Pid(Vec<u32>),
    /// The pid of the process, its parent or any ancestor.
    PidSet(Vec<u32>),
    Labels(Vec<LabelSelector>),
    Capabilities(CapabilityFilter),
    InInitTree(bool),
    HealthCheck(bool),
}

/// The text a regex field matches.
#[derive(Clone, Copy, Debug)]
enum Text {
    Binary,
    ParentBinary,
    /// Any of `ancestors` (which, as in Tetragon, start beyond the parent).
    AncestorBinary,
    Arguments,
    ParentArguments,
    /// `process.docker`.
    ContainerId,
    PodName,
    Namespace,
    ContainerName,
}

impl EntryFilter {
    /// Compiles `filter`, found at `place` (`allow_list[0]`); `allow` says whether it is an
    /// allow entry, where naming no event type means the default set.
    pub(super) fn new(
        filter: &proto::Filter,
        place: &str,
        allow: bool,
    ) -> Result<Self, FilterError> {
        let at = |field: &str| format!("{place}.{field}");
        if !filter.cel_expression.is_empty() {
            return Err(FilterError::new(
                at("cel_expression"),
                "CEL expressions are not supported by this agent",
            ));
        }
        let mut constraints = Vec::new();
        if !filter.event_set.is_empty() {
            let types = event_types(&filter.event_set, &at("event_set"))?;
            constraints.push(Constraint::EventTypes(types));
        } else if allow {
            constraints.push(Constraint::DefaultSet);
        }
        let patterns = [
            (Text::Binary, "binary_regex", &filter.binary_regex),
            (
                Text::ParentBinary,
                "parent_binary_regex",
                &filter.parent_binary_regex,
            ),
            (
                Text::AncestorBinary,
                "ancestor_binary_regex",
                &filter.ancestor_binary_regex,
            ),
            (Text::Arguments, "arguments_regex", &filter.arguments_regex),
            (
                Text::ParentArguments,
                "parent_arguments_regex",
                &filter.parent_arguments_regex,
            ),
            (Text::ContainerId, "container_id", &filter.container_id),
            (Text::PodName, "pod_regex", &filter.pod_regex),
            (Text::Namespace, "namespace_regex", &filter.namespace_regex),
            (
                Text::ContainerName,
                "container_name_regex",
                &filter.container_name_regex,
            ),
        ];
        for (text, field, patterns) in patterns {
            if !patterns.is_empty() {
                constraints.push(Constraint::Pattern(text, regex_set(patterns, &at(field))?));
            }
        }
        if !filter.policy_names.is_empty() {
            constraints.push(Constraint::PolicyNames(filter.policy_names.clone()));
        }
        let process = process_constraints(filter, place)?;
        constraints.extend(process.into_iter().map(Constraint::Process));
        Ok(EntryFilter { constraints })
    }

    pub(super) fn matches(&self, event: &Event) -> bool {
        self.constraints.iter().all(|c| c.holds(event))
    }
}

/// The constraints of `filter` on the event's process.
fn process_constraints(
    filter: &proto::Filter,
    place: &str,
) -> Result<Vec<ProcessConstraint>, FilterError> {
    let at = |field: &str| format!("{place}.{field}");
    let mut constraints = Vec::new();
    if !filter.namespace.is_empty() {
        constraints.push(ProcessConstraint::Namespace(filter.namespace.clone()));
    }
    if !filter.pid.is_empty() {
        constraints.push(ProcessConstraint::Pid(filter.pid.clone()));
    }
    if !filter.pid_set.is_empty() {
        constraints.push(ProcessConstraint::PidSet(filter.pid_set.clone()));
    }
    if !filter.labels.is_empty() {
        let selectors = filter.labels.iter().enumerate().map(|(i, selector)| {
            LabelSelector::parse(selector)
                .map_err(|message| FilterError::new(format!("{}[{i}]", at("labels")), message))
        });
        constraints.push(ProcessConstraint::Labels(
            selectors.collect::<Result<_, _>>()?,
        ));
    }
    if let Some(caps) = &filter.capabilities {
        let caps = CapabilityFilter::new(caps, &at("capabilities"))?;
        constraints.push(ProcessConstraint::Capabilities(caps));
    }
    if let Some(in_init_tree) = &filter.in_init_tree {
        constraints.push(ProcessConstraint::InInitTree(in_init_tree.value));
    }
    if let Some(health_check) = &filter.health_check {
        constraints.push(ProcessConstraint::HealthCheck(health_check.value));
    }
    Ok(constraints)
}

/// One set of patterns; a bad one is an error at its own index.
fn regex_set(patterns: &[String], place: &str) -> Result<RegexSet, FilterError> {
    for (i, pattern) in patterns.iter().enumerate() {
        Regex::new(pattern)
            .map_err(|e| FilterError::new(format!("{place}[{i}]"), e.to_string()))?;
    }
    RegexSet::new(patterns).map_err(|e| FilterError::new(place, e.to_string()))
}

impl Constraint {
    fn holds(&self, event: &Event) -> bool {
        match self {
            Constraint::EventTypes(types) => types.contains(&event.event_type()),
            Constraint::DefaultSet => event.in_default_set(),
            Constraint::Pattern(text, patterns) => text.any(event, |s| patterns.is_match(s)),
            Constraint::PolicyNames(names) => {
                policy_name(event).is_some_and(|name| names.iter().any(|n| n == name))
            }
            Constraint::Process(constraint) => event
                .process()
                .is_some_and(|process| constraint.holds(process, event)),
        }
    }
}

impl ProcessConstraint {
    fn holds(&self, process: &Process, event: &Event) -> bool {
        let pod = process.pod.as_ref();
        match self {
            ProcessConstraint::Namespace(namespaces) => {
                let namespace = pod.map_or("", |pod| pod.namespace.as_str());
                namespaces.iter().any(|n| n == namespace)
            }
            ProcessConstraint::Pid(pids) => process.pid.is_some_and(|pid| pids.contains(&pid)),
            ProcessConstraint::PidSet(pids) => std::iter::once(process)
                .chain(event.parent())
                .chain(event.ancestors())
                .any(|p| p.pid.is_some_and(|pid| pids.contains(&pid))),
            ProcessConstraint::Labels(selectors) => {
                pod.is_some_and(|pod| selectors.iter().any(|s| s.matches(&pod.pod_labels)))
            }
            // Tetragon reads `process.cap`, not `process_credentials.caps`.
            ProcessConstraint::Capabilities(filter) => process
                .cap
                .as_ref()
                .is_some_and(|caps| filter.matches(caps)),
            ProcessConstraint::InInitTree(wanted) => {
                process.in_init_tree.unwrap_or(false) == *wanted
            }
            // As in Tetragon: the process or its parent may be the kubelet's exec probe.
            ProcessConstraint::HealthCheck(wanted) => {
                let is_probe = |p: &Process| {
                    let container = p.pod.as_ref().and_then(|pod| pod.container.as_ref());
                    container.is_some_and(|c| c.maybe_exec_probe)
                };
                (is_probe(process) || event.parent().is_some_and(is_probe)) == *wanted
            }
        }
    }
}

impl Text {
    /// Whether `matches` holds for the text, or for any of the texts (ancestors).
    fn any(self, event: &Event, matches: impl Fn(&str) -> bool) -> bool {
        let process = event.process();
        let pod = process.and_then(|p| p.pod.as_ref());
        match self {
            Text::Binary => process.is_some_and(|p| matches(&p.binary)),
            Text::ParentBinary => event.parent().is_some_and(|p| matches(&p.binary)),
            Text::AncestorBinary => event.ancestors().iter().any(|p| matches(&p.binary)),
            Text::Arguments => process.is_some_and(|p| matches(&p.arguments)),
            Text::ParentArguments => event.parent().is_some_and(|p| matches(&p.arguments)),
            Text::ContainerId => process.is_some_and(|p| matches(&p.docker)),
            Text::PodName => pod.is_some_and(|pod| matches(&pod.name)),
            Text::Namespace => pod.is_some_and(|pod| matches(&pod.namespace)),
            Text::ContainerName => pod
                .and_then(|pod| pod.container.as_ref())
                .is_some_and(|c| matches(&c.name)),
        }
    }
}

/// The policy of a policy-driven event; other types, and file tracking's policy-less opens,
/// have none.
fn policy_name(event: &Event) -> Option<&str> {
    let name = match &event.body {
        EventBody::ProcessKprobe(e) => &e.policy_name,
        EventBody::ProcessTracepoint(e) => &e.policy_name,
        EventBody::ProcessUprobe(e) => &e.policy_name,
        EventBody::ProcessLsm(e) => &e.policy_name,
        EventBody::ProcessUsdt(e) => &e.policy_name,
        _ => return None,
    };
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{allow, event};
    use crate::event::Event;

    /// An exec event: `body` is the inside of its `process_exec` object.
    fn exec(body: &str) -> Event {
        event(&format!(r#"{{"process_exec":{{{body}}}}}"#))
    }

    fn throttle() -> Event {
        event(r#"{"process_throttle":{"type":"THROTTLE_START","cgroup":"x"}}"#)
    }

    #[test]
    fn binary_regex_is_unanchored_and_any_of() {
        let filter = allow(r#"{"binary_regex":["^/usr/bin/cu","bash$"]}"#);
        assert!(filter.matches(&exec(r#""process":{"binary":"/usr/bin/curl"}"#)));
        assert!(filter.matches(&exec(r#""process":{"binary":"/bin/bash"}"#)));
        assert!(!filter.matches(&exec(r#""process":{"binary":"/bin/bash5"}"#)));
        assert!(!filter.matches(&throttle()));
    }

    #[test]
    fn parent_binary_and_arguments_regexes_read_the_parent() {
        let binary = allow(r#"{"parent_binary_regex":["sh$"]}"#);
        assert!(binary.matches(&exec(
            r#""process":{"binary":"/bin/ls"},"parent":{"binary":"/bin/sh"}"#
        )));
        assert!(!binary.matches(&exec(
            r#""process":{"binary":"/bin/sh"},"parent":{"binary":"/bin/ls"}"#
        )));
        assert!(!binary.matches(&exec(r#""process":{"binary":"/bin/sh"}"#)));
        let arguments = allow(r#"{"parent_arguments_regex":["-c"]}"#);
        assert!(arguments.matches(&exec(
            r#""process":{"arguments":"x"},"parent":{"arguments":"-c id"}"#
        )));
        assert!(!arguments.matches(&exec(
            r#""process":{"arguments":"-c id"},"parent":{"arguments":"x"}"#
        )));
    }

    #[test]
    fn ancestor_binary_regex_reads_ancestors_beyond_the_parent() {
        let filter = allow(r#"{"ancestor_binary_regex":["zsh"]}"#);
        let process = r#""process":{"binary":"/sbin/iptables"}"#;
        assert!(filter.matches(&exec(&format!(
            r#"{process},"parent":{{"binary":"/bin/sh"}},"ancestors":[{{"binary":"/bin/foo"}},{{"binary":"/bin/zsh"}}]"#
        ))));
        assert!(!filter.matches(&exec(&format!(
            r#"{process},"parent":{{"binary":"/bin/zsh"}}"#
        ))));
        assert!(!filter.matches(&exec(&format!(
            r#"{process},"ancestors":[{{"binary":"/bin/foo"}}]"#
        ))));
    }

    #[test]
    fn arguments_regex_reads_the_process() {
        let filter = allow(r#"{"arguments_regex":["^-c ", "--force"]}"#);
        assert!(filter.matches(&exec(r#""process":{"arguments":"-c id"}"#)));
        assert!(filter.matches(&exec(r#""process":{"arguments":"rm --force x"}"#)));
        assert!(!filter.matches(&exec(r#""process":{"arguments":"x -c id"}"#)));
    }

    #[test]
    fn namespace_is_exact_and_empty_means_host() {
        let pod = |namespace: &str| {
            exec(&format!(
                r#""process":{{"pod":{{"namespace":"{namespace}","name":"p"}}}}"#
            ))
        };
        let host = exec(r#""process":{"binary":"/bin/sh"}"#);
        let filter = allow(r#"{"namespace":["default"]}"#);
        assert!(filter.matches(&pod("default")));
        assert!(!filter.matches(&pod("default2")));
        assert!(!filter.matches(&host));
        let with_host = allow(r#"{"namespace":["","kube-system"]}"#);
        assert!(with_host.matches(&host) && with_host.matches(&pod("kube-system")));
        assert!(!with_host.matches(&pod("default")));
        assert!(
            !with_host.matches(&throttle()),
            "no process, not a host process"
        );
    }

    #[test]
    fn pod_regexes_never_match_host_processes() {
        let pod = exec(
            r#""process":{"pod":{"namespace":"kube-system","name":"coredns-1","container":{"name":"dns"}}}"#,
        );
        let host = exec(r#""process":{"binary":"/bin/sh"}"#);
        for (field, hit, miss) in [
            ("namespace_regex", "^kube-", "^default$"),
            ("pod_regex", "^coredns", "^web"),
            ("container_name_regex", "^dns$", "^web$"),
            ("pod_regex", "", "^web"),
        ] {
            let hit_filter = allow(&format!(r#"{{"{field}":["{hit}"]}}"#));
            assert!(hit_filter.matches(&pod), "{field} {hit}");
            assert!(
                !hit_filter.matches(&host),
                "{field} {hit} on a host process"
            );
            assert!(
                !allow(&format!(r#"{{"{field}":["{miss}"]}}"#)).matches(&pod),
                "{field} {miss}"
            );
        }
    }

    #[test]
    fn container_id_is_a_regex_on_docker() {
        let filter = allow(r#"{"container_id":["^551e"]}"#);
        assert!(filter.matches(&exec(r#""process":{"docker":"551e1b2c"}"#)));
        assert!(!filter.matches(&exec(r#""process":{"docker":"0551e1b2c"}"#)));
        assert!(!filter.matches(&exec(r#""process":{"binary":"/bin/sh"}"#)));
    }

    #[test]
    fn pid_and_pid_set() {
        let pid = allow(r#"{"pid":[7, 9]}"#);
        assert!(pid.matches(&exec(r#""process":{"pid":9}"#)));
        assert!(!pid.matches(&exec(r#""process":{"pid":8},"parent":{"pid":7}"#)));
        let pid_set = allow(r#"{"pid_set":[7]}"#);
        assert!(pid_set.matches(&exec(r#""process":{"pid":7}"#)));
        assert!(pid_set.matches(&exec(r#""process":{"pid":8},"parent":{"pid":7}"#)));
        assert!(pid_set.matches(&exec(
            r#""process":{"pid":9},"parent":{"pid":8},"ancestors":[{"pid":7}]"#
        )));
        assert!(!pid_set.matches(&exec(r#""process":{"pid":9},"parent":{"pid":8}"#)));
    }

    #[test]
    fn event_set_names_the_types() {
        let filter = allow(r#"{"event_set":["PROCESS_EXIT","PROCESS_THROTTLE"]}"#);
        assert!(filter.matches(&event(r#"{"process_exit":{"process":{"pid":1}}}"#)));
        assert!(filter.matches(&throttle()));
        assert!(!filter.matches(&exec(r#""process":{"pid":1}"#)));
    }

    #[test]
    fn policy_names_only_on_policy_events() {
        let filter = allow(r#"{"policy_names":["file-monitoring","lsm-open"]}"#);
        let probe = |key: &str, policy: &str| {
            event(&format!(
                r#"{{"{key}":{{"process":{{"pid":1}},"policy_name":"{policy}"}}}}"#
            ))
        };
        assert!(filter.matches(&probe("process_kprobe", "file-monitoring")));
        assert!(filter.matches(&probe("process_lsm", "lsm-open")));
        assert!(filter.matches(&probe("process_usdt", "lsm-open")));
        assert!(!filter.matches(&probe("process_tracepoint", "other")));
        assert!(!filter.matches(&exec(r#""process":{"pid":1}"#)));
    }

    #[test]
    fn labels_select_pods_only() {
        let filter = allow(r#"{"labels":["app=web,env!=dev", "tier in (db)"]}"#);
        let labelled = |labels: &str| {
            exec(&format!(
                r#""process":{{"pod":{{"name":"p","pod_labels":{labels}}}}}"#
            ))
        };
        assert!(filter.matches(&labelled(r#"{"app":"web"}"#)));
        assert!(filter.matches(&labelled(r#"{"tier":"db"}"#)));
        assert!(!filter.matches(&labelled(r#"{"app":"web","env":"dev"}"#)));
        assert!(!allow(r#"{"labels":["!app"]}"#).matches(&exec(r#""process":{"pid":1}"#)));
        assert!(allow(r#"{"labels":["!app"]}"#).matches(&labelled(r#"{"x":"y"}"#)));
    }

    #[test]
    fn capabilities_read_process_cap() {
        let caps = |cap: &str| exec(&format!(r#""process":{{"pid":1,"cap":{cap}}}"#));
        let admin =
            caps(r#"{"permitted":["CAP_SYS_ADMIN","CAP_CHOWN"],"effective":["CAP_CHOWN"]}"#);
        let any = allow(r#"{"capabilities":{"permitted":{"any":["CAP_SYS_ADMIN","CAP_BPF"]}}}"#);
        assert!(any.matches(&admin));
        assert!(!any.matches(&caps(r#"{"permitted":["CAP_CHOWN"]}"#)));
        let creds_only =
            exec(r#""process":{"process_credentials":{"caps":{"permitted":["CAP_SYS_ADMIN"]}}}"#);
        assert!(!any.matches(&creds_only), "Tetragon reads process.cap");
        assert!(!any.matches(&throttle()));

        let all = allow(r#"{"capabilities":{"permitted":{"all":["CAP_SYS_ADMIN","CAP_CHOWN"]}}}"#);
        assert!(all.matches(&admin));
        assert!(!all.matches(&caps(r#"{"permitted":["CAP_SYS_ADMIN"]}"#)));
        let exactly = allow(r#"{"capabilities":{"effective":{"exactly":["CAP_CHOWN"]}}}"#);
        assert!(exactly.matches(&admin));
        assert!(!exactly.matches(&caps(r#"{"effective":["CAP_CHOWN","DAC_OVERRIDE"]}"#)));
        let none = allow(r#"{"capabilities":{"effective":{"none":["DAC_OVERRIDE"]}}}"#);
        assert!(none.matches(&admin));
        assert!(!none.matches(&caps(r#"{"effective":["DAC_OVERRIDE"]}"#)));
        let both = allow(
            r#"{"capabilities":{"permitted":{"any":["CAP_SYS_ADMIN"]},"effective":{"any":["CAP_SYS_ADMIN"]}}}"#,
        );
        assert!(!both.matches(&admin), "the sets are ANDed");
    }

    #[test]
    fn in_init_tree_treats_missing_as_false() {
        let tree = allow(r#"{"in_init_tree":true}"#);
        let not_tree = allow(r#"{"in_init_tree":false}"#);
        let inside = exec(r#""process":{"pid":1,"in_init_tree":true}"#);
        let missing = exec(r#""process":{"pid":1}"#);
        assert!(tree.matches(&inside) && !tree.matches(&missing));
        assert!(not_tree.matches(&missing) && !not_tree.matches(&inside));
        assert!(!not_tree.matches(&throttle()));
    }

    #[test]
    fn health_check_follows_maybe_exec_probe_of_process_or_parent() {
        let probe = r#"{"pod":{"name":"p","container":{"name":"c","maybe_exec_probe":true}}}"#;
        let plain = r#"{"pod":{"name":"p","container":{"name":"c"}}}"#;
        let probe_exec = exec(&format!(r#""process":{probe}"#));
        let probe_child = exec(&format!(r#""process":{plain},"parent":{probe}"#));
        let other = exec(&format!(r#""process":{plain},"parent":{plain}"#));
        let health = allow(r#"{"health_check":true}"#);
        let not_health = allow(r#"{"health_check":false}"#);
        assert!(health.matches(&probe_exec) && health.matches(&probe_child));
        assert!(!health.matches(&other));
        assert!(not_health.matches(&other));
        assert!(!not_health.matches(&probe_exec) && !not_health.matches(&probe_child));
        assert!(!not_health.matches(&throttle()));
    }

    #[test]
    fn fields_of_one_filter_are_anded() {
        let filter = allow(r#"{"binary_regex":["sh$"],"namespace":["default"],"pid":[5]}"#);
        let process = |binary: &str, namespace: &str, pid: u32| {
            exec(&format!(
                r#""process":{{"binary":"{binary}","pid":{pid},"pod":{{"namespace":"{namespace}"}}}}"#
            ))
        };
        assert!(filter.matches(&process("/bin/sh", "default", 5)));
        assert!(!filter.matches(&process("/bin/ls", "default", 5)));
        assert!(!filter.matches(&process("/bin/sh", "other", 5)));
        assert!(!filter.matches(&process("/bin/sh", "default", 6)));
    }
}
