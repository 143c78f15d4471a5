//! Events of tracing-policy hooks (tetragon.md §1.6): kprobes, tracepoints, uprobes, LSM hooks
//! and USDTs.
//!
//! `KprobeArgument`s and stack-trace entries stay `serde_json::Value`: they are a wide oneof
//! that only a few places read (see `args.rs`). Actions are `KprobeAction` names.

use serde::Serialize;
use serde::de::MapAccess;
use serde_json::Value;

use super::merge::{Merge, deserialize_by_merge, message, skip, string, value};
use super::process::Process;
use super::protojson::{self, Action, Int};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessKprobe {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    /// Arch-prefixed symbol, e.g. `__x64_sys_write`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub function_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    #[serde(rename = "return", skip_serializing_if = "Option::is_none")]
    pub r#return: Option<Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kernel_stack_trace: Vec<Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub return_action: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_stack_trace: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Value>,
}

impl Merge for ProcessKprobe {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "parent" => message(&mut self.parent, map)?,
            "function_name" | "functionName" => self.function_name = string(map)?,
            "args" => self.args = value(map)?,
            "return" => self.r#return = map.next_value()?,
            "action" => self.action = map.next_value::<Action>()?.0,
            "kernel_stack_trace" | "kernelStackTrace" => self.kernel_stack_trace = value(map)?,
            "policy_name" | "policyName" => self.policy_name = string(map)?,
            "return_action" | "returnAction" => self.return_action = map.next_value::<Action>()?.0,
            "message" => self.message = string(map)?,
            "tags" => self.tags = value(map)?,
            "user_stack_trace" | "userStackTrace" => self.user_stack_trace = value(map)?,
            "ancestors" => self.ancestors = value(map)?,
            "data" => self.data = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessTracepoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subsys: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub event: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
}

impl Merge for ProcessTracepoint {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "parent" => message(&mut self.parent, map)?,
            "subsys" => self.subsys = string(map)?,
            "event" => self.event = string(map)?,
            "args" => self.args = value(map)?,
            "policy_name" | "policyName" => self.policy_name = string(map)?,
            "action" => self.action = map.next_value::<Action>()?.0,
            "message" => self.message = string(map)?,
            "tags" => self.tags = value(map)?,
            "ancestors" => self.ancestors = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessUprobe {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub symbol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
    #[serde(
        serialize_with = "protojson::int64::serialize",
        skip_serializing_if = "protojson::is_default"
    )]
    pub offset: u64,
    #[serde(
        serialize_with = "protojson::int64::serialize",
        skip_serializing_if = "protojson::is_default"
    )]
    pub ref_ctr_offset: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Value>,
}

impl Merge for ProcessUprobe {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "parent" => message(&mut self.parent, map)?,
            "path" => self.path = string(map)?,
            "symbol" => self.symbol = string(map)?,
            "policy_name" | "policyName" => self.policy_name = string(map)?,
            "message" => self.message = string(map)?,
            "args" => self.args = value(map)?,
            "tags" => self.tags = value(map)?,
            "ancestors" => self.ancestors = value(map)?,
            "offset" => self.offset = map.next_value::<Int<_>>()?.0,
            "ref_ctr_offset" | "refCtrOffset" => {
                self.ref_ctr_offset = map.next_value::<Int<_>>()?.0
            }
            "action" => self.action = map.next_value::<Action>()?.0,
            "data" => self.data = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessLsm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    /// LSM hook name, e.g. `file_open`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub function_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
    /// `algorithm:value`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ima_hash: String,
}

impl Merge for ProcessLsm {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "parent" => message(&mut self.parent, map)?,
            "function_name" | "functionName" => self.function_name = string(map)?,
            "policy_name" | "policyName" => self.policy_name = string(map)?,
            "message" => self.message = string(map)?,
            "args" => self.args = value(map)?,
            "action" => self.action = map.next_value::<Action>()?.0,
            "tags" => self.tags = value(map)?,
            "ancestors" => self.ancestors = value(map)?,
            "ima_hash" | "imaHash" => self.ima_hash = string(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessUsdt {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub flags: String,
}

impl Merge for ProcessUsdt {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "parent" => message(&mut self.parent, map)?,
            "path" => self.path = string(map)?,
            "provider" => self.provider = string(map)?,
            "name" => self.name = string(map)?,
            "policy_name" | "policyName" => self.policy_name = string(map)?,
            "message" => self.message = string(map)?,
            "args" => self.args = value(map)?,
            "tags" => self.tags = value(map)?,
            "ancestors" => self.ancestors = value(map)?,
            "action" => self.action = map.next_value::<Action>()?.0,
            "flags" => self.flags = string(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

deserialize_by_merge!(
    ProcessKprobe,
    ProcessTracepoint,
    ProcessUprobe,
    ProcessLsm,
    ProcessUsdt
);

#[cfg(test)]
mod tests {
    use crate::event::test_support::{process, round_trip};
    use serde_json::json;

    use super::*;

    #[test]
    fn every_field_round_trips() {
        let args = vec![
            json!({"file_arg": {"path": "/etc/passwd"}}),
            json!({"size_arg": "627"}),
        ];
        let stack = vec![json!({"address": "18446744072", "symbol": "do_sys_open"})];
        round_trip(ProcessKprobe {
            process: process("/bin/a"),
            parent: process("/bin/b"),
            function_name: "__x64_sys_write".into(),
            args: args.clone(),
            r#return: Some(json!({"int_arg": 0})),
            action: "KPROBE_ACTION_POST".into(),
            kernel_stack_trace: stack.clone(),
            policy_name: "p".into(),
            return_action: "KPROBE_ACTION_OVERRIDE".into(),
            message: "m".into(),
            tags: vec!["t".into()],
            user_stack_trace: stack,
            ancestors: vec![process("/bin/c").unwrap()],
            data: args.clone(),
        });
        round_trip(ProcessTracepoint {
            process: process("/bin/a"),
            parent: process("/bin/b"),
            subsys: "raw_syscalls".into(),
            event: "sys_enter".into(),
            args: args.clone(),
            policy_name: "p".into(),
            action: "KPROBE_ACTION_SIGKILL".into(),
            message: "m".into(),
            tags: vec!["t".into()],
            ancestors: vec![process("/bin/c").unwrap()],
        });
        round_trip(ProcessUprobe {
            process: process("/bin/a"),
            parent: process("/bin/b"),
            path: "/bin/bash".into(),
            symbol: "readline".into(),
            policy_name: "p".into(),
            message: "m".into(),
            args: args.clone(),
            tags: vec!["t".into()],
            ancestors: vec![process("/bin/c").unwrap()],
            offset: u64::MAX,
            ref_ctr_offset: 7,
            action: "KPROBE_ACTION_POST".into(),
            data: args.clone(),
        });
        round_trip(ProcessLsm {
            process: process("/bin/a"),
            parent: process("/bin/b"),
            function_name: "file_open".into(),
            policy_name: "p".into(),
            message: "m".into(),
            args: args.clone(),
            action: "KPROBE_ACTION_OVERRIDE".into(),
            tags: vec!["t".into()],
            ancestors: vec![process("/bin/c").unwrap()],
            ima_hash: "sha256:00".into(),
        });
        round_trip(ProcessUsdt {
            process: process("/bin/a"),
            parent: process("/bin/b"),
            path: "/usr/lib/x.so".into(),
            provider: "test".into(),
            name: "probe".into(),
            policy_name: "p".into(),
            message: "m".into(),
            args,
            tags: vec!["t".into()],
            ancestors: vec![process("/bin/c").unwrap()],
            action: "KPROBE_ACTION_SET".into(),
            flags: "f".into(),
        });
    }

    #[test]
    fn reads_protojson_variants() {
        let k: ProcessKprobe = serde_json::from_str(
            r#"{"functionName":"__x64_sys_write","args":[{"file_arg":{"path":"/etc/passwd"}}],
                "return":{"int_arg":0},"action":"KPROBE_ACTION_UNKNOWN","return_action":1,
                "policyName":"p","unknown":{"deep":[null]}}"#,
        )
        .unwrap();
        assert_eq!(k.function_name, "__x64_sys_write");
        assert_eq!(k.args[0]["file_arg"]["path"], "/etc/passwd");
        assert_eq!(k.r#return, Some(json!({"int_arg": 0})));
        assert_eq!(
            (k.action.as_str(), k.return_action.as_str()),
            ("", "KPROBE_ACTION_POST")
        );
        assert_eq!(k.policy_name, "p");
        let u: ProcessUprobe = serde_json::from_str(r#"{"offset":12,"refCtrOffset":"5"}"#).unwrap();
        assert_eq!((u.offset, u.ref_ctr_offset), (12, 5));
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json, json!({"offset": "12", "ref_ctr_offset": "5"}));
    }
}
