//! The meaning of the compiled filters, written once: the probes evaluate them in the kernel
//! and userspace evaluates them on recorded events (what-if), with these same functions.
use crate::policy::{
    ArgFilter, CapabilityFilter, MAX_VALUES, NamespaceChangeFilter, NamespaceFilter, PidFilter,
    SockRecord, op,
};

impl ArgFilter {
    /// An integer comparison: Equal and Mask OR over the values, NotEqual ANDs the negations,
    /// GT/LT compare with each value, InRange/NotInRange take [low, high] pairs (inclusive).
    #[inline(always)]
    pub fn matches_integer(&self, value: i64) -> bool {
        let values = &self.values;
        let count = self.count as usize;
        let mut any = false;
        if matches!(self.op, op::IN_RANGE | op::NOT_IN_RANGE) {
            for pair in 0..MAX_VALUES / 2 {
                if 2 * pair + 1 < count {
                    any |= value >= values[2 * pair] && value <= values[2 * pair + 1];
                }
            }
        } else {
            for (i, v) in values.iter().enumerate() {
                if i >= count {
                    break;
                }
                any |= match self.op {
                    op::EQUAL | op::NOT_EQUAL => value == *v,
                    op::MASK => value & *v != 0,
                    op::GREATER => value > *v,
                    op::LESS => value < *v,
                    _ => false,
                };
            }
        }
        match self.op {
            op::NOT_EQUAL | op::NOT_IN_RANGE => !any,
            _ => any,
        }
    }
}

impl ArgFilter {
    /// InMap and NotInMap, from whether the argument's value is one of the filter's.
    #[inline(always)]
    pub fn in_map_verdict(&self, found: bool) -> bool {
        found == (self.op == op::IN_MAP)
    }
}

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// An address as `ADDRESSES` holds it: IPv6 as is, IPv4 mapped (`::ffff:a.b.c.d`); None for
/// other families, which no address operator matches (as in Tetragon).
#[inline(always)]
pub fn mapped_address(family: u16, address: &[u8; 16]) -> Option<[u8; 16]> {
    match family {
        AF_INET => {
            let mut mapped = [0; 16];
            mapped[10] = 0xff;
            mapped[11] = 0xff;
            mapped[12] = address[0];
            mapped[13] = address[1];
            mapped[14] = address[2];
            mapped[15] = address[3];
            Some(mapped)
        }
        AF_INET6 => Some(*address),
        _ => None,
    }
}

impl ArgFilter {
    /// The address a socket address operator looks up in `ADDRESSES`: the source one for
    /// SAddr (a `sockaddr`'s only address), the destination one for DAddr; None when the
    /// operator compares no address or the family has none.
    #[inline(always)]
    pub fn compared_address(&self, sock: &SockRecord) -> Option<[u8; 16]> {
        match self.op {
            op::SADDR | op::NOT_SADDR => mapped_address(sock.family, &sock.saddr),
            op::DADDR | op::NOT_DADDR => mapped_address(sock.family, &sock.daddr),
            _ => None,
        }
    }

    /// A socket operator's verdict on `sock`; `listed` is whether `compared_address` is in one
    /// of the filter's CIDRs (false when there is none to compare).
    #[inline(always)]
    pub fn matches_socket(&self, sock: &SockRecord, listed: bool) -> bool {
        let has_address = matches!(sock.family, AF_INET | AF_INET6);
        match self.op {
            op::SADDR | op::DADDR => listed,
            op::NOT_SADDR | op::NOT_DADDR => has_address && !listed,
            op::SPORT => self.in_ranges(sock.sport as u32),
            op::NOT_SPORT => !self.in_ranges(sock.sport as u32),
            op::SPORT_PRIV => sock.sport < 1024,
            op::NOT_SPORT_PRIV => sock.sport >= 1024,
            op::DPORT => self.in_ranges(sock.dport as u32),
            op::NOT_DPORT => !self.in_ranges(sock.dport as u32),
            op::DPORT_PRIV => sock.dport < 1024,
            op::NOT_DPORT_PRIV => sock.dport >= 1024,
            op::PROTOCOL => self.in_ranges(sock.protocol as u32),
            op::FAMILY => self.in_ranges(sock.family as u32),
            op::STATE => self.in_ranges(sock.state as u32),
            _ => false,
        }
    }

    /// Whether `value` is in one of the ranges (`low | high << 32`) of the filter.
    #[inline(always)]
    fn in_ranges(&self, value: u32) -> bool {
        let mut any = false;
        for (i, range) in self.values.iter().enumerate() {
            if i >= self.count as usize {
                break;
            }
            let (low, high) = (*range as u64 as u32, (*range as u64 >> 32) as u32);
            any |= value >= low && value <= high;
        }
        any
    }
}

impl ArgFilter {
    pub const fn is_file_type(&self) -> bool {
        matches!(self.op, op::FILE_TYPE | op::NOT_FILE_TYPE)
    }

    /// FileType and NotFileType on a path's file `mode`; an unknown mode (0) matches neither.
    #[inline(always)]
    pub fn matches_file_type(&self, mode: u32) -> bool {
        let listed = self.values[0] as u64 & (1 << ((mode >> 12) & 15)) != 0;
        mode != 0 && listed == (self.op == op::FILE_TYPE)
    }
}

/// `string_verdict`'s `prefix` when no stored string starts the string. (A plain integer, not
/// an `Option`: the verifier rejects the uninitialised payload register an `Option` compare
/// reads.)
pub const NO_PREFIX: u32 = u32::MAX;

/// A string filter's verdict from what the lookups found: the length of the longest stored
/// prefix of the string (or [`NO_PREFIX`]), and whether some stored suffix ends it. Equal holds
/// when the longest stored prefix is the whole string.
#[inline(always)]
pub fn string_verdict(operator: u32, prefix: u32, postfix: bool, len: u32) -> bool {
    match operator {
        op::EQUAL => prefix == len,
        op::NOT_EQUAL => prefix != len,
        op::PREFIX => prefix != NO_PREFIX,
        op::NOT_PREFIX => prefix == NO_PREFIX,
        op::POSTFIX => postfix,
        op::NOT_POSTFIX => !postfix,
        _ => false,
    }
}

/// Whether one of the first `count` values is `wanted`.
#[inline(always)]
fn contains(values: &[u32; MAX_VALUES], count: u32, wanted: u32) -> bool {
    for (i, v) in values.iter().enumerate() {
        if (i as u32) < count && *v == wanted {
            return true;
        }
    }
    false
}

impl PidFilter {
    /// `pid` is the one the filter's flags ask for (namespace pid, exec-time pid).
    #[inline(always)]
    pub fn matches(&self, pid: u32) -> bool {
        contains(&self.values, self.count, pid) == (self.op == op::IN)
    }
}

impl NamespaceFilter {
    #[inline(always)]
    pub fn matches(&self, inum: u32) -> bool {
        contains(&self.values, self.count, inum) == (self.op == op::IN)
    }
}

impl CapabilityFilter {
    /// In: the set holds one of the capabilities; NotIn: it holds none of them.
    #[inline(always)]
    pub fn matches(&self, capabilities: u64) -> bool {
        (capabilities & self.mask != 0) == (self.op == op::IN)
    }

    /// Whether the filter is decided at all in the user namespace `user_ns`: with
    /// `isNamespaceCapability` not in the host's (there, it does not match, whatever the
    /// operator), as in Tetragon's `process_filter_capabilities`.
    #[inline(always)]
    pub fn applies_in(&self, user_ns: u32) -> bool {
        self.host_user_ns == 0 || user_ns != self.host_user_ns
    }

    /// `matchCapabilityChanges`, from the set at exec (`recorded`) and now: In matches when one
    /// of the filter's capabilities came or went; NotIn when only others did.
    #[inline(always)]
    pub fn change_matches(&self, recorded: u64, current: u64) -> bool {
        if recorded & self.mask != current & self.mask {
            self.op == op::IN
        } else if recorded != current {
            self.op == op::NOT_IN
        } else {
            false
        }
    }
}

impl NamespaceChangeFilter {
    /// Whether the namespace of `slot` (`ExecRecord::ns` order) is one the filter watches (In:
    /// those named; NotIn: the others).
    #[inline(always)]
    pub fn watches(&self, slot: usize) -> bool {
        ((self.mask >> (slot & 31)) & 1 != 0) == (self.op == op::IN)
    }

    /// Whether a watched namespace differs from the one recorded at exec; one recorded as 0
    /// (unknown) never counts as changed.
    #[inline(always)]
    pub fn changed(&self, slot: usize, recorded: u32, current: u32) -> bool {
        self.watches(slot) && recorded != 0 && recorded != current
    }
}

/// Whether a post at `now` repeats the one posted at `last` within the rate limit `window`
/// (all boot-time ns): it is then held back, and `last` stays the start of the window.
#[inline(always)]
pub fn rate_limited(last: u64, now: u64, window: u64) -> bool {
    now.wrapping_sub(last) < window
}
