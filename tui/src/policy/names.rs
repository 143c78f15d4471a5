//! The names a policy may spell, and what each stands for.
//!
//! Each table lists the CRD spellings first (those are what error messages offer), then the other
//! spellings Tetragon's Go parser accepts when a policy is loaded from a file (tetragon.md §3.5).
use super::model::{
    ActionKind, ArgOperator, ArgType, BinaryOperator, CapabilitySet, Mode, NamespaceKind,
    PolicyKind, SetOperator,
};

/// A closed set of names for the values of `T`.
pub struct Names<T: 'static> {
    /// What a name of this table is, for messages: "operator", "action", ...
    pub what: &'static str,
    /// The documented spellings; the first one of a value is its name.
    pub canonical: &'static [(&'static str, T)],
    /// Further spellings that Tetragon accepts too.
    pub aliases: &'static [(&'static str, T)],
    /// Tetragon lowercases these names before looking them up.
    pub ignore_case: bool,
}

impl<T: Copy + PartialEq> Names<T> {
    pub fn parse(&self, name: &str) -> Option<T> {
        let same = |known: &str| {
            if self.ignore_case {
                known.eq_ignore_ascii_case(name)
            } else {
                known == name
            }
        };
        self.canonical
            .iter()
            .chain(self.aliases)
            .find(|(known, _)| same(known))
            .map(|&(_, value)| value)
    }

    /// The documented name of `value`.
    pub fn name(&self, value: T) -> &'static str {
        self.canonical
            .iter()
            .find(|&&(_, known)| known == value)
            .map_or("?", |&(name, _)| name)
    }

    /// The documented names, comma-separated, for "allowed: ..." messages.
    pub fn allowed(&self) -> String {
        listing(self.canonical.iter().map(|&(name, _)| name))
    }
}

/// `items` comma-separated, or "none", for "allowed: ..." and "defined: ..." messages.
pub fn listing<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|item| item.to_string()).collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// The message for a name that is not in a table.
pub fn unknown(what: &str, found: &str, allowed: &str) -> String {
    format!("unknown {what} \"{found}\"; allowed: {allowed}")
}

/// An integer as Tetragon's Go parser reads one (`strconv.ParseInt` with base 0): an optional
/// sign, then decimal digits or a `0x`, `0o` or `0b` prefixed number.
pub fn parse_integer(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, digits) = [("0x", 16), ("0o", 8), ("0b", 2)]
        .iter()
        .find_map(|&(prefix, radix)| lower.strip_prefix(prefix).map(|rest| (radix, rest)))
        .unwrap_or((10, lower.as_str()));
    // from_str_radix would accept a second sign after the prefix.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

pub static POLICY_KINDS: Names<PolicyKind> = Names {
    what: "kind",
    canonical: &[
        ("TracingPolicy", PolicyKind::TracingPolicy),
        (
            "TracingPolicyNamespaced",
            PolicyKind::TracingPolicyNamespaced,
        ),
    ],
    aliases: &[],
    ignore_case: false,
};

pub static MODES: Names<Mode> = Names {
    what: "policy mode",
    canonical: &[("enforce", Mode::Enforce), ("monitor", Mode::Monitor)],
    aliases: &[],
    ignore_case: false,
};

pub static ARG_TYPES: Names<ArgType> = Names {
    what: "type",
    canonical: &[
        ("auto", ArgType::Auto),
        ("int", ArgType::Int),
        ("sint8", ArgType::Sint8),
        ("int8", ArgType::Int8),
        ("uint8", ArgType::Uint8),
        ("sint16", ArgType::Sint16),
        ("int16", ArgType::Int16),
        ("uint16", ArgType::Uint16),
        ("uint32", ArgType::Uint32),
        ("sint32", ArgType::Sint32),
        ("int32", ArgType::Int32),
        ("ulong", ArgType::Ulong),
        ("uint64", ArgType::Uint64),
        ("size_t", ArgType::SizeT),
        ("long", ArgType::Long),
        ("sint64", ArgType::Sint64),
        ("int64", ArgType::Int64),
        ("char_buf", ArgType::CharBuf),
        ("char_iovec", ArgType::CharIovec),
        ("skb", ArgType::Skb),
        ("sock", ArgType::Sock),
        ("sockaddr", ArgType::Sockaddr),
        ("socket", ArgType::Socket),
        ("sockaddr_un", ArgType::SockaddrUn),
        ("string", ArgType::String),
        ("fd", ArgType::Fd),
        ("file", ArgType::File),
        ("filename", ArgType::Filename),
        ("path", ArgType::Path),
        ("nop", ArgType::Nop),
        ("bpf_attr", ArgType::BpfAttr),
        ("perf_event", ArgType::PerfEvent),
        ("bpf_map", ArgType::BpfMap),
        ("user_namespace", ArgType::UserNamespace),
        ("capability", ArgType::Capability),
        ("kiocb", ArgType::Kiocb),
        ("iov_iter", ArgType::IovIter),
        ("cred", ArgType::Cred),
        ("const_buf", ArgType::ConstBuf),
        ("load_info", ArgType::LoadInfo),
        ("module", ArgType::Module),
        ("syscall64", ArgType::Syscall64),
        ("kernel_cap_t", ArgType::KernelCapT),
        ("cap_inheritable", ArgType::CapInheritable),
        ("cap_permitted", ArgType::CapPermitted),
        ("cap_effective", ArgType::CapEffective),
        ("linux_binprm", ArgType::LinuxBinprm),
        ("data_loc", ArgType::DataLoc),
        ("net_device", ArgType::NetDevice),
        ("bpf_cmd", ArgType::BpfCmd),
        ("dentry", ArgType::Dentry),
        ("bpf_prog", ArgType::BpfProg),
    ],
    aliases: &[],
    ignore_case: false,
};

pub static ARG_OPERATORS: Names<ArgOperator> = Names {
    what: "operator",
    canonical: &[
        ("Equal", ArgOperator::Equal),
        ("NotEqual", ArgOperator::NotEqual),
        ("Prefix", ArgOperator::Prefix),
        ("NotPrefix", ArgOperator::NotPrefix),
        ("Postfix", ArgOperator::Postfix),
        ("NotPostfix", ArgOperator::NotPostfix),
        ("GreaterThan", ArgOperator::GreaterThan),
        ("LessThan", ArgOperator::LessThan),
        ("GT", ArgOperator::GreaterThan),
        ("LT", ArgOperator::LessThan),
        ("Mask", ArgOperator::Mask),
        ("SPort", ArgOperator::SPort),
        ("NotSPort", ArgOperator::NotSPort),
        ("SPortPriv", ArgOperator::SPortPriv),
        ("NotSportPriv", ArgOperator::NotSPortPriv),
        ("DPort", ArgOperator::DPort),
        ("NotDPort", ArgOperator::NotDPort),
        ("DPortPriv", ArgOperator::DPortPriv),
        ("NotDPortPriv", ArgOperator::NotDPortPriv),
        ("SAddr", ArgOperator::SAddr),
        ("NotSAddr", ArgOperator::NotSAddr),
        ("DAddr", ArgOperator::DAddr),
        ("NotDAddr", ArgOperator::NotDAddr),
        ("Protocol", ArgOperator::Protocol),
        ("Family", ArgOperator::Family),
        ("State", ArgOperator::State),
        ("InMap", ArgOperator::InMap),
        ("NotInMap", ArgOperator::NotInMap),
        ("CapabilitiesGained", ArgOperator::CapabilitiesGained),
        ("InRange", ArgOperator::InRange),
        ("NotInRange", ArgOperator::NotInRange),
        ("SubString", ArgOperator::SubString),
        ("SubStringIgnCase", ArgOperator::SubStringIgnCase),
        ("CelExpr", ArgOperator::CelExpr),
        ("FileType", ArgOperator::FileType),
        ("NotFileType", ArgOperator::NotFileType),
    ],
    aliases: &[
        ("gt", ArgOperator::GreaterThan),
        ("lt", ArgOperator::LessThan),
        ("eq", ArgOperator::Equal),
        ("neq", ArgOperator::NotEqual),
        ("prefix", ArgOperator::Prefix),
        ("notprefix", ArgOperator::NotPrefix),
        ("postfix", ArgOperator::Postfix),
        ("notpostfix", ArgOperator::NotPostfix),
        ("mask", ArgOperator::Mask),
        ("saddr", ArgOperator::SAddr),
        ("daddr", ArgOperator::DAddr),
        ("sport", ArgOperator::SPort),
        ("dport", ArgOperator::DPort),
        ("protocol", ArgOperator::Protocol),
        ("family", ArgOperator::Family),
        ("state", ArgOperator::State),
        // The CRD spells the source-port one `NotSportPriv` but the destination one `NotDPortPriv`.
        ("NotSPortPriv", ArgOperator::NotSPortPriv),
    ],
    ignore_case: false,
};

pub static SET_OPERATORS: Names<SetOperator> = Names {
    what: "operator",
    canonical: &[("In", SetOperator::In), ("NotIn", SetOperator::NotIn)],
    aliases: &[],
    ignore_case: false,
};

pub static BINARY_OPERATORS: Names<BinaryOperator> = Names {
    what: "operator",
    canonical: &[
        ("In", BinaryOperator::In),
        ("NotIn", BinaryOperator::NotIn),
        ("Prefix", BinaryOperator::Prefix),
        ("NotPrefix", BinaryOperator::NotPrefix),
        ("Postfix", BinaryOperator::Postfix),
        ("NotPostfix", BinaryOperator::NotPostfix),
    ],
    aliases: &[
        ("prefix", BinaryOperator::Prefix),
        ("notprefix", BinaryOperator::NotPrefix),
        ("postfix", BinaryOperator::Postfix),
        ("notpostfix", BinaryOperator::NotPostfix),
    ],
    ignore_case: false,
};

/// Tetragon lowercases action names, so `sigkill` and `SIGKILL` are Sigkill too.
pub static ACTIONS: Names<ActionKind> = Names {
    what: "action",
    canonical: &[
        ("Post", ActionKind::Post),
        ("NoPost", ActionKind::NoPost),
        ("Sigkill", ActionKind::Sigkill),
        ("Signal", ActionKind::Signal),
        ("Override", ActionKind::Override),
        ("GetUrl", ActionKind::GetUrl),
        ("DnsLookup", ActionKind::DnsLookup),
        ("TrackSock", ActionKind::TrackSock),
        ("UntrackSock", ActionKind::UntrackSock),
        ("NotifyEnforcer", ActionKind::NotifyEnforcer),
        (
            "CleanupEnforcerNotification",
            ActionKind::CleanupEnforcerNotification,
        ),
        ("Set", ActionKind::Set),
        // Deprecated since Tetragon v1.4 and gone after v1.7, but still in real policies.
        ("FollowFD", ActionKind::FollowFd),
        ("UnfollowFD", ActionKind::UnfollowFd),
        ("CopyFD", ActionKind::CopyFd),
    ],
    aliases: &[],
    ignore_case: true,
};

/// Tetragon lowercases namespace names.
pub static NAMESPACES: Names<NamespaceKind> = Names {
    what: "namespace",
    canonical: &[
        ("Uts", NamespaceKind::Uts),
        ("Ipc", NamespaceKind::Ipc),
        ("Mnt", NamespaceKind::Mnt),
        ("Pid", NamespaceKind::Pid),
        ("PidForChildren", NamespaceKind::PidForChildren),
        ("Net", NamespaceKind::Net),
        ("Time", NamespaceKind::Time),
        ("TimeForChildren", NamespaceKind::TimeForChildren),
        ("Cgroup", NamespaceKind::Cgroup),
        ("User", NamespaceKind::User),
    ],
    aliases: &[],
    ignore_case: true,
};

/// Tetragon lowercases capability set names.
pub static CAPABILITY_SETS: Names<CapabilitySet> = Names {
    what: "capability set",
    canonical: &[
        ("Effective", CapabilitySet::Effective),
        ("Inheritable", CapabilitySet::Inheritable),
        ("Permitted", CapabilitySet::Permitted),
    ],
    aliases: &[],
    ignore_case: true,
};

/// Linux capabilities and their numbers (include/uapi/linux/capability.h). Tetragon uppercases
/// the names before looking them up.
pub static CAPABILITIES: Names<u8> = Names {
    what: "capability",
    canonical: &[
        ("CAP_CHOWN", 0),
        ("CAP_DAC_OVERRIDE", 1),
        ("CAP_DAC_READ_SEARCH", 2),
        ("CAP_FOWNER", 3),
        ("CAP_FSETID", 4),
        ("CAP_KILL", 5),
        ("CAP_SETGID", 6),
        ("CAP_SETUID", 7),
        ("CAP_SETPCAP", 8),
        ("CAP_LINUX_IMMUTABLE", 9),
        ("CAP_NET_BIND_SERVICE", 10),
        ("CAP_NET_BROADCAST", 11),
        ("CAP_NET_ADMIN", 12),
        ("CAP_NET_RAW", 13),
        ("CAP_IPC_LOCK", 14),
        ("CAP_IPC_OWNER", 15),
        ("CAP_SYS_MODULE", 16),
        ("CAP_SYS_RAWIO", 17),
        ("CAP_SYS_CHROOT", 18),
        ("CAP_SYS_PTRACE", 19),
        ("CAP_SYS_PACCT", 20),
        ("CAP_SYS_ADMIN", 21),
        ("CAP_SYS_BOOT", 22),
        ("CAP_SYS_NICE", 23),
        ("CAP_SYS_RESOURCE", 24),
        ("CAP_SYS_TIME", 25),
        ("CAP_SYS_TTY_CONFIG", 26),
        ("CAP_MKNOD", 27),
        ("CAP_LEASE", 28),
        ("CAP_AUDIT_WRITE", 29),
        ("CAP_AUDIT_CONTROL", 30),
        ("CAP_SETFCAP", 31),
        ("CAP_MAC_OVERRIDE", 32),
        ("CAP_MAC_ADMIN", 33),
        ("CAP_SYSLOG", 34),
        ("CAP_WAKE_ALARM", 35),
        ("CAP_BLOCK_SUSPEND", 36),
        ("CAP_AUDIT_READ", 37),
        ("CAP_PERFMON", 38),
        ("CAP_BPF", 39),
        ("CAP_CHECKPOINT_RESTORE", 40),
    ],
    aliases: &[],
    ignore_case: true,
};

/// Values of the `Family` operator besides numbers (include/linux/socket.h).
pub static ADDRESS_FAMILIES: Names<u16> = Names {
    what: "address family",
    canonical: &[
        ("AF_UNSPEC", 0),
        ("AF_UNIX", 1),
        ("AF_LOCAL", 1),
        ("AF_INET", 2),
        ("AF_AX25", 3),
        ("AF_IPX", 4),
        ("AF_APPLETALK", 5),
        ("AF_NETROM", 6),
        ("AF_BRIDGE", 7),
        ("AF_ATMPVC", 8),
        ("AF_X25", 9),
        ("AF_INET6", 10),
        ("AF_ROSE", 11),
        ("AF_DECnet", 12),
        ("AF_NETBEUI", 13),
        ("AF_SECURITY", 14),
        ("AF_KEY", 15),
        ("AF_NETLINK", 16),
        ("AF_PACKET", 17),
        ("AF_ASH", 18),
        ("AF_ECONET", 19),
        ("AF_ATMSVC", 20),
        ("AF_RDS", 21),
        ("AF_SNA", 22),
        ("AF_IRDA", 23),
        ("AF_PPPOX", 24),
        ("AF_WANPIPE", 25),
        ("AF_LLC", 26),
        ("AF_IB", 27),
        ("AF_MPLS", 28),
        ("AF_CAN", 29),
        ("AF_TIPC", 30),
        ("AF_BLUETOOTH", 31),
        ("AF_IUCV", 32),
        ("AF_RXRPC", 33),
        ("AF_ISDN", 34),
        ("AF_PHONET", 35),
        ("AF_IEEE802154", 36),
        ("AF_CAIF", 37),
        ("AF_ALG", 38),
        ("AF_NFC", 39),
        ("AF_VSOCK", 40),
        ("AF_KCM", 41),
        ("AF_QIPCRTR", 42),
        ("AF_SMC", 43),
        ("AF_XDP", 44),
        ("AF_MCTP", 45),
    ],
    aliases: &[],
    ignore_case: false,
};

/// Values of the `Protocol` operator besides numbers (include/uapi/linux/in.h).
pub static IP_PROTOCOLS: Names<u16> = Names {
    what: "protocol",
    canonical: &[
        ("IPPROTO_IP", 0),
        ("IPPROTO_ICMP", 1),
        ("IPPROTO_IGMP", 2),
        ("IPPROTO_IPIP", 4),
        ("IPPROTO_TCP", 6),
        ("IPPROTO_EGP", 8),
        ("IPPROTO_PUP", 12),
        ("IPPROTO_UDP", 17),
        ("IPPROTO_IDP", 22),
        ("IPPROTO_TP", 29),
        ("IPPROTO_DCCP", 33),
        ("IPPROTO_IPV6", 41),
        ("IPPROTO_RSVP", 46),
        ("IPPROTO_GRE", 47),
        ("IPPROTO_ESP", 50),
        ("IPPROTO_AH", 51),
        ("IPPROTO_ICMPV6", 58),
        ("IPPROTO_MTP", 92),
        ("IPPROTO_BEETPH", 94),
        ("IPPROTO_ENCAP", 98),
        ("IPPROTO_PIM", 103),
        ("IPPROTO_COMP", 108),
        ("IPPROTO_L2TP", 115),
        ("IPPROTO_SCTP", 132),
        ("IPPROTO_UDPLITE", 136),
        ("IPPROTO_MPLS", 137),
        ("IPPROTO_ETHERNET", 143),
        ("IPPROTO_RAW", 255),
        ("IPPROTO_MPTCP", 262),
    ],
    aliases: &[],
    ignore_case: false,
};

/// Socket types as `sock_arg` names them (include/linux/net.h).
pub static SOCKET_TYPES: Names<u16> = Names {
    what: "socket type",
    canonical: &[
        ("SOCK_STREAM", 1),
        ("SOCK_DGRAM", 2),
        ("SOCK_RAW", 3),
        ("SOCK_RDM", 4),
        ("SOCK_SEQPACKET", 5),
        ("SOCK_DCCP", 6),
        ("SOCK_PACKET", 10),
    ],
    aliases: &[],
    ignore_case: false,
};

/// Values of the `State` operator besides numbers (include/net/tcp_states.h).
pub static TCP_STATES: Names<u16> = Names {
    what: "TCP state",
    canonical: &[
        ("TCP_ESTABLISHED", 1),
        ("TCP_SYN_SENT", 2),
        ("TCP_SYN_RECV", 3),
        ("TCP_FIN_WAIT1", 4),
        ("TCP_FIN_WAIT2", 5),
        ("TCP_TIME_WAIT", 6),
        ("TCP_CLOSE", 7),
        ("TCP_CLOSE_WAIT", 8),
        ("TCP_LAST_ACK", 9),
        ("TCP_LISTEN", 10),
        ("TCP_CLOSING", 11),
        ("TCP_NEW_SYN_RECV", 12),
    ],
    aliases: &[],
    ignore_case: false,
};

/// Values of `FileType` / `NotFileType`; the pairs are two spellings of one type.
pub const FILE_TYPES: &[&str] = &[
    "sock", "socket", "lnk", "link", "reg", "regular", "blk", "block", "dir", "chr", "char",
    "fifo", "pipe",
];
