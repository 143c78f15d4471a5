//! The event filters of `tetra getevents`, shared by `getevents`, the live UI and `replay`.
use anyhow::{Context, Result};
use clap::Args;

use crate::event::{EventFilter, EventType};

#[derive(Args, Debug, Default, Clone)]
pub struct FilterArgs {
    /// Only events whose process binary matches one of these regexes
    #[arg(long = "process", value_name = "REGEX", value_delimiter = ',')]
    pub processes: Vec<String>,
    /// Only events whose pod name matches one of these regexes
    #[arg(long = "pod", value_name = "REGEX", value_delimiter = ',')]
    pub pods: Vec<String>,
    /// Only events from these Kubernetes namespaces ("" selects host processes)
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,
    /// Only these event types (e.g. PROCESS_EXEC,PROCESS_EXIT)
    #[arg(
        short = 'e',
        long = "event-types",
        value_name = "LIST",
        value_delimiter = ','
    )]
    pub event_types: Vec<EventType>,
}

impl FilterArgs {
    pub fn filter(&self) -> Result<EventFilter> {
        EventFilter::new(
            &self.processes,
            &self.pods,
            &self.namespaces,
            &self.event_types,
        )
        .context("invalid filter")
    }

    /// The same filters in the UI's filter-line syntax (`process=… pod=… namespace=… type=…`).
    pub fn to_line(&self) -> String {
        let mut parts = Vec::new();
        for (key, values) in [
            ("process", &self.processes),
            ("pod", &self.pods),
            ("namespace", &self.namespaces),
        ] {
            if !values.is_empty() {
                parts.push(format!("{key}={}", values.join(",")));
            }
        }
        if !self.event_types.is_empty() {
            let names: Vec<&str> = self.event_types.iter().map(|t| t.name()).collect();
            parts.push(format!("type={}", names.join(",")));
        }
        parts.join(" ")
    }
}
