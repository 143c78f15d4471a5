//! Process lifecycle events (tetragon.md §1.4, §1.6): exec, exit, loader and cgroup throttling.

use serde::de::MapAccess;
use serde::{Deserialize, Serialize};

use super::merge::{Merge, deserialize_by_merge, message, skip, string, value};
use super::process::Process;
use super::protojson::{self, Bytes, Int};
use super::timestamp::Timestamp;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessExec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
}

impl Merge for ProcessExec {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "parent" => message(&mut self.parent, map)?,
            "ancestors" => self.ancestors = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessExit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    /// Signal name such as `SIGKILL`; empty for a normal exit.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub signal: String,
    #[serde(skip_serializing_if = "protojson::is_default")]
    pub status: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
}

impl Merge for ProcessExit {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "parent" => message(&mut self.parent, map)?,
            "signal" => self.signal = string(map)?,
            "status" => self.status = map.next_value::<Int<_>>()?.0,
            "time" => self.time = map.next_value()?,
            "ancestors" => self.ancestors = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcessLoader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(
        serialize_with = "protojson::bytes::serialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub buildid: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Process>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Process>,
}

impl Merge for ProcessLoader {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "process" => message(&mut self.process, map)?,
            "path" => self.path = string(map)?,
            "buildid" => self.buildid = map.next_value::<Bytes>()?.0,
            "parent" => message(&mut self.parent, map)?,
            "ancestors" => self.ancestors = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

deserialize_by_merge!(ProcessExec, ProcessExit, ProcessLoader);

/// Exec/exit events of a cgroup started or stopped being rate limited (`--cgroup-rate`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessThrottle {
    /// `ThrottleType` name: `THROTTLE_START` or `THROTTLE_STOP`.
    #[serde(
        rename = "type",
        deserialize_with = "protojson::throttle_type",
        skip_serializing_if = "String::is_empty"
    )]
    pub r#type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cgroup: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::test_support::{process, round_trip};

    #[test]
    fn every_field_round_trips() {
        round_trip(ProcessExec {
            process: process("/bin/a"),
            parent: process("/bin/b"),
            ancestors: vec![process("/bin/c").unwrap()],
        });
        round_trip(ProcessExit {
            process: process("/bin/a"),
            parent: process("/bin/b"),
            signal: "SIGKILL".into(),
            status: 3,
            time: Some(Timestamp::default()),
            ancestors: vec![process("/bin/c").unwrap()],
        });
        round_trip(ProcessLoader {
            process: process("/bin/a"),
            path: "/lib/x.so".into(),
            buildid: vec![0xde, 0xad],
            parent: process("/bin/b"),
            ancestors: vec![process("/bin/c").unwrap()],
        });
        round_trip(ProcessThrottle {
            r#type: "THROTTLE_START".into(),
            cgroup: "a.scope".into(),
        });
    }

    #[test]
    fn reads_protojson_variants() {
        let exit: ProcessExit =
            serde_json::from_str(r#"{"process":null,"status":"3","signal":null,"x":1}"#).unwrap();
        assert_eq!(
            (exit.process, exit.status, exit.signal.as_str()),
            (None, 3, "")
        );
        let loader: ProcessLoader = serde_json::from_str(r#"{"buildid":"3q2+7w=="}"#).unwrap();
        assert_eq!(loader.buildid, [0xde, 0xad, 0xbe, 0xef]);
        let throttle: ProcessThrottle = serde_json::from_str(r#"{"type":2}"#).unwrap();
        assert_eq!(throttle.r#type, "THROTTLE_STOP");
    }
}
