//! The meaning of the compiled filters, written once: the probes evaluate them in the kernel
//! and userspace evaluates them on recorded events (what-if), with these same functions.
use crate::policy::{
    ArgFilter, CapabilityFilter, MAX_VALUES, NamespaceChangeFilter, NamespaceFilter, PidFilter, op,
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
