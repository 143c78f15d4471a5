//! Names of the proto enums that appear in events (tetragon.md §1.6, §1.7).
//!
//! Events keep enum values as their name strings, which is what the JSON carries; these tables
//! turn the numeric form (also legal protojson input) into names.

/// `CapabilitiesType`, indexed by capability number. `DAC_OVERRIDE` has no `CAP_` prefix upstream.
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// `KprobeAction`, indexed by value.
pub const KPROBE_ACTIONS: [&str; 16] = [
    "KPROBE_ACTION_UNKNOWN",
    "KPROBE_ACTION_POST",
    "KPROBE_ACTION_FOLLOWFD",
    "KPROBE_ACTION_SIGKILL",
    "KPROBE_ACTION_UNFOLLOWFD",
    "KPROBE_ACTION_OVERRIDE",
    "KPROBE_ACTION_COPYFD",
    "KPROBE_ACTION_GETURL",
    "KPROBE_ACTION_DNSLOOKUP",
    "KPROBE_ACTION_NOPOST",
    "KPROBE_ACTION_SIGNAL",
    "KPROBE_ACTION_TRACKSOCK",
    "KPROBE_ACTION_UNTRACKSOCK",
    "KPROBE_ACTION_NOTIFYENFORCER",
    "KPROBE_ACTION_CLEANUPENFORCERNOTIFICATION",
    "KPROBE_ACTION_SET",
];

/// `ThrottleType`, indexed by value.
pub const THROTTLE_TYPES: [&str; 3] = ["THROTTLE_UNKNOWN", "THROTTLE_START", "THROTTLE_STOP"];

/// `ProcessPrivilegesChanged`, indexed by value.
pub const PRIVILEGES_CHANGED: [&str; 4] = [
    "PRIVILEGES_CHANGED_UNSET",
    "PRIVILEGES_RAISED_EXEC_FILE_CAP",
    "PRIVILEGES_RAISED_EXEC_FILE_SETUID",
    "PRIVILEGES_RAISED_EXEC_FILE_SETGID",
];

/// `SecureBitsType`: values are bit flags, not indexes.
pub const SECURE_BITS: [(i64, &str); 9] = [
    (0, "SecBitNotSet"),
    (1, "SecBitNoRoot"),
    (2, "SecBitNoRootLocked"),
    (4, "SecBitNoSetUidFixup"),
    (8, "SecBitNoSetUidFixupLocked"),
    (16, "SecBitKeepCaps"),
    (32, "SecBitKeepCapsLocked"),
    (64, "SecBitNoCapAmbientRaise"),
    (128, "SecBitNoCapAmbientRaiseLocked"),
];

/// An enum's value names, for turning numeric JSON input into names.
#[derive(Clone, Copy)]
pub(crate) enum Names {
    Indexed(&'static [&'static str]),
    Valued(&'static [(i64, &'static str)]),
}

impl Names {
    pub(crate) fn name(self, value: i64) -> Option<&'static str> {
        match self {
            Names::Indexed(names) => usize::try_from(value)
                .ok()
                .and_then(|i| names.get(i))
                .copied(),
            Names::Valued(pairs) => pairs.iter().find(|(v, _)| *v == value).map(|(_, n)| *n),
        }
    }

    /// The name of value 0, which protojson leaves out of its output.
    pub(crate) fn zero(self) -> &'static str {
        self.name(0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_number() {
        assert_eq!(
            Names::Indexed(&CAPABILITIES).name(21),
            Some("CAP_SYS_ADMIN")
        );
        assert_eq!(Names::Indexed(&CAPABILITIES).name(41), None);
        assert_eq!(Names::Indexed(&KPROBE_ACTIONS).name(-1), None);
        assert_eq!(Names::Valued(&SECURE_BITS).name(16), Some("SecBitKeepCaps"));
        assert_eq!(Names::Indexed(&THROTTLE_TYPES).zero(), "THROTTLE_UNKNOWN");
    }
}
