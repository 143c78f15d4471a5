//! Privileges and isolation of a process (tetragon.md §1.6, §1.7): capabilities, namespaces,
//! credentials. Only filled with the agent flags `--enable-process-cred` / `--enable-process-ns`.

use serde::{Deserialize, Serialize};

use super::protojson;

/// Capability sets as `CapabilitiesType` names (`CAP_SYS_ADMIN`, `DAC_OVERRIDE`, …).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    #[serde(
        deserialize_with = "protojson::capabilities",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub permitted: Vec<String>,
    #[serde(
        deserialize_with = "protojson::capabilities",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub effective: Vec<String>,
    #[serde(
        deserialize_with = "protojson::capabilities",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub inheritable: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Namespace {
    #[serde(
        deserialize_with = "protojson::int",
        skip_serializing_if = "protojson::is_default"
    )]
    pub inum: u32,
    #[serde(skip_serializing_if = "protojson::is_default", alias = "isHost")]
    pub is_host: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Namespaces {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mnt: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none", alias = "pidForChildren")]
    pub pid_for_children: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none", alias = "timeForChildren")]
    pub time_for_children: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Namespace>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserNamespace {
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub level: Option<i32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub uid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub gid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<Namespace>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessCredentials {
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub uid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub gid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub euid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub egid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub suid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub sgid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub fsuid: Option<u32>,
    #[serde(
        deserialize_with = "protojson::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub fsgid: Option<u32>,
    /// `SecureBitsType` names.
    #[serde(
        deserialize_with = "protojson::secure_bits",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub securebits: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caps: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none", alias = "userNs")]
    pub user_ns: Option<UserNamespace>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_read_enum_numbers() {
        let creds: ProcessCredentials = serde_json::from_str(
            r#"{"uid":0,"securebits":[16],"caps":{"effective":[21,"CAP_BPF"]},
                "user_ns":{"level":"-1","ns":{"inum":4026531837,"is_host":true}}}"#,
        )
        .unwrap();
        assert_eq!(creds.uid, Some(0));
        assert_eq!(creds.securebits, ["SecBitKeepCaps"]);
        assert_eq!(
            creds.caps.as_ref().unwrap().effective,
            ["CAP_SYS_ADMIN", "CAP_BPF"]
        );
        let user_ns = creds.user_ns.as_ref().unwrap();
        assert_eq!(user_ns.level, Some(-1));
        assert!(user_ns.ns.unwrap().is_host);
    }

    #[test]
    fn namespaces_omit_defaults() {
        let ns = Namespaces {
            pid: Some(Namespace {
                inum: 4026531836,
                is_host: true,
            }),
            net: Some(Namespace::default()),
            ..Namespaces::default()
        };
        let json = serde_json::to_string(&ns).unwrap();
        assert_eq!(
            json,
            r#"{"pid":{"inum":4026531836,"is_host":true},"net":{}}"#
        );
        assert_eq!(serde_json::from_str::<Namespaces>(&json).unwrap(), ns);
    }
}
