//! `tetrascope_file_access`: tetrascope's own event (not Tetragon's), one row of the file-access
//! table: what a process image did to a path, how often, and with what result. A row is sent
//! again, whole, in each tick in which it changed.

use serde::{Deserialize, Serialize};

use super::process::Process;
use super::protojson;
use super::timestamp::Timestamp;

/// The names of `access`: what the calls did to the file.
pub mod access {
    pub const READ: &str = "read";
    pub const WRITE: &str = "write";
    pub const CREATE: &str = "create";
    pub const TRUNCATE: &str = "truncate";
    pub const UNLINK: &str = "unlink";
    /// The old name of a rename.
    pub const RENAME_FROM: &str = "rename_from";
    /// The new name of a rename.
    pub const RENAME_TO: &str = "rename_to";
    /// Every name, in the order rows list them.
    pub const ALL: [&str; 7] = [
        READ,
        WRITE,
        CREATE,
        TRUNCATE,
        UNLINK,
        RENAME_FROM,
        RENAME_TO,
    ];
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TetrascopeFileAccess {
    /// The image that made the calls (exec_id, pid, uid, binary and pod only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    /// Absolute: the opened file's path as the kernel resolved it, or for other calls and failed
    /// opens the name made absolute against the working directory (or the dirfd's directory).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The name as the syscall was given it (the last call's).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The last call's syscall, e.g. `openat`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub syscall: String,
    /// What the calls did, from [`access::ALL`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<String>,
    /// The last call's result: an fd, 0, or -errno.
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub result: i64,
    /// The errno name of the row's failures (`ENOENT`); empty for a row of successful calls.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(
        with = "protojson::int64",
        skip_serializing_if = "protojson::is_default"
    )]
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::test_support::{process, round_trip};

    #[test]
    fn every_field_round_trips() {
        round_trip(TetrascopeFileAccess {
            process: process("/usr/bin/cat"),
            path: "/root/secret".into(),
            name: "secret".into(),
            syscall: "openat".into(),
            access: vec![access::READ.into()],
            result: -13,
            error: "EACCES".into(),
            count: 2,
            first_time: Some(Timestamp::default()),
            last_time: Some(Timestamp {
                seconds: 1,
                nanos: 2,
            }),
        });
    }
}
