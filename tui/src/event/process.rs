//! `Process` (tetragon.md §1.6) and the file and user records it holds.
//!
//! Messages ignore unknown fields, leave proto3 defaults out of their output and also read the
//! lowerCamelCase JSON names (`execId`) that other protojson writers such as grpcurl use.
//! Wrapper-typed fields (`pid`, `uid`, …) are `Option` and written whenever set.

use serde::de::MapAccess;
use serde::{Deserialize, Serialize};

use super::credentials::{Capabilities, Namespaces, ProcessCredentials};
use super::merge::{Merge, deserialize_by_merge, message, skip, string, value};
use super::pod::Pod;
use super::protojson::{self, Int, OptInt};
use super::timestamp::Timestamp;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Process {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub exec_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cwd: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub binary: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arguments: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub flags: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<Pod>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docker: String,
    /// The pid in the process's own pid namespace, for its pod's `container.pid`; not a field
    /// of Tetragon's Process (the pod carries it), so never written or read.
    #[serde(skip)]
    pub ns_pid: Option<u32>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parent_exec_id: String,
    #[serde(skip_serializing_if = "protojson::is_default")]
    pub refcnt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<Namespaces>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_credentials: Option<ProcessCredentials>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary_properties: Option<BinaryProperties>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_init_tree: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment_variables: Vec<EnvVar>,
}

impl Merge for Process {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "exec_id" | "execId" => self.exec_id = string(map)?,
            "pid" => self.pid = map.next_value::<OptInt<_>>()?.0,
            "uid" => self.uid = map.next_value::<OptInt<_>>()?.0,
            "cwd" => self.cwd = string(map)?,
            "binary" => self.binary = string(map)?,
            "arguments" => self.arguments = string(map)?,
            "flags" => self.flags = string(map)?,
            "start_time" | "startTime" => self.start_time = map.next_value()?,
            "auid" => self.auid = map.next_value::<OptInt<_>>()?.0,
            "pod" => message(&mut self.pod, map)?,
            "docker" => self.docker = string(map)?,
            "parent_exec_id" | "parentExecId" => self.parent_exec_id = string(map)?,
            "refcnt" => self.refcnt = map.next_value::<Int<_>>()?.0,
            "cap" => self.cap = map.next_value()?,
            "ns" => self.ns = map.next_value()?,
            "tid" => self.tid = map.next_value::<OptInt<_>>()?.0,
            "process_credentials" | "processCredentials" => {
                self.process_credentials = map.next_value()?
            }
            "binary_properties" | "binaryProperties" => {
                self.binary_properties = map.next_value()?
            }
            "user" => self.user = map.next_value()?,
            "in_init_tree" | "inInitTree" => self.in_init_tree = map.next_value()?,
            "environment_variables" | "environmentVariables" => {
                self.environment_variables = value(map)?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

deserialize_by_merge!(Process);

impl Process {
    /// True if `CAP_SYS_ADMIN` is in the effective set.
    pub fn has_effective_sys_admin(&self) -> bool {
        self.cap
            .as_ref()
            .is_some_and(|c| c.effective.iter().any(|name| name == "CAP_SYS_ADMIN"))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InodeProperties {
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub number: u64,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub links: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inode: Option<InodeProperties>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BinaryProperties {
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub setuid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub setgid: Option<u32>,
    /// `ProcessPrivilegesChanged` names.
    #[serde(
        deserialize_with = "protojson::privileges_changed",
        skip_serializing_if = "Vec::is_empty",
        alias = "privilegesChanged"
    )]
    pub privileges_changed: Vec<String>,
    /// Set for memfd, shm and deleted binaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileProperties>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserRecord {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// One environment variable; the proto field names are capitalised (`Key`, `Value`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvVar {
    #[serde(rename = "Key", skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(rename = "Value", skip_serializing_if = "String::is_empty")]
    pub value: String,
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::event::{Namespace, UserNamespace};

    #[test]
    fn camel_case_names_nulls_and_unknown_fields() {
        let p: Process = serde_json::from_str(
            r#"{"execId":"eA==","pid":"7","startTime":"2024-10-01T02:12:16Z","inInitTree":true,
                "bogus":{"nested":[1,2]},"cwd":null,"pod":{"namespace":"ns","podLabels":{"a":"b"}}}"#,
        )
        .unwrap();
        assert_eq!(p.exec_id, "eA==");
        assert_eq!(p.pid, Some(7));
        assert_eq!(p.in_init_tree, Some(true));
        assert_eq!(p.cwd, "");
        assert_eq!(p.pod.unwrap().pod_labels["a"], "b");
    }

    #[test]
    fn omits_defaults_but_keeps_set_wrappers() {
        let p = Process {
            uid: Some(0),
            in_init_tree: Some(false),
            ..Process::default()
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"uid":0,"in_init_tree":false}"#);
    }

    /// Every field set, so that writing and reading agree on each field name.
    fn full_process() -> Process {
        let ns = Some(Namespace {
            inum: 4026531840,
            is_host: true,
        });
        let caps = Capabilities {
            permitted: vec!["CAP_CHOWN".into()],
            effective: vec!["CAP_SYS_ADMIN".into()],
            inheritable: vec!["DAC_OVERRIDE".into()],
        };
        Process {
            exec_id: "a2luZDoxOjI=".into(),
            pid: Some(2),
            uid: Some(0),
            cwd: "/".into(),
            binary: "/bin/sh".into(),
            arguments: "-c true".into(),
            flags: "execve rootcwd".into(),
            start_time: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 1,
            }),
            auid: Some(4294967295),
            pod: Some(crate::event::test_support::full_pod(1)),
            docker: "abc".into(),
            // Never written: the pod's container.pid carries it.
            ns_pid: None,
            parent_exec_id: "a2luZDoxOjE=".into(),
            refcnt: 3,
            cap: Some(caps.clone()),
            ns: Some(Namespaces {
                uts: ns,
                ipc: ns,
                mnt: ns,
                pid: ns,
                pid_for_children: ns,
                net: ns,
                time: ns,
                time_for_children: ns,
                cgroup: ns,
                user: ns,
            }),
            tid: Some(2),
            process_credentials: Some(ProcessCredentials {
                uid: Some(1),
                gid: Some(2),
                euid: Some(3),
                egid: Some(4),
                suid: Some(5),
                sgid: Some(6),
                fsuid: Some(7),
                fsgid: Some(8),
                securebits: vec!["SecBitNoRoot".into()],
                caps: Some(caps),
                user_ns: Some(UserNamespace {
                    level: Some(1),
                    uid: Some(0),
                    gid: Some(0),
                    ns,
                }),
            }),
            binary_properties: Some(BinaryProperties {
                setuid: Some(0),
                setgid: Some(0),
                privileges_changed: vec!["PRIVILEGES_RAISED_EXEC_FILE_SETUID".into()],
                file: Some(FileProperties {
                    inode: Some(InodeProperties {
                        number: 42,
                        links: Some(0),
                    }),
                    path: "/memfd:x".into(),
                }),
            }),
            user: Some(UserRecord {
                name: "root".into(),
            }),
            in_init_tree: Some(true),
            environment_variables: vec![EnvVar {
                key: "PATH".into(),
                value: "/bin".into(),
            }],
        }
    }

    #[test]
    fn every_field_round_trips() {
        let process = full_process();
        let json = serde_json::to_value(&process).unwrap();
        assert_eq!(json["binary_properties"]["file"]["inode"]["number"], "42");
        assert_eq!(json["environment_variables"][0]["Key"], "PATH");
        assert!(process.has_effective_sys_admin());
        assert_eq!(serde_json::from_value::<Process>(json).unwrap(), process);
    }
}
