//! Which argument types each matchArgs operator applies to, and what its values may be.
use std::net::IpAddr;

use crate::policy::model::{ArgOperator, ArgType, ListSpec};
use crate::policy::names::{
    self, ADDRESS_FAMILIES, ARG_OPERATORS, CAPABILITIES, FILE_TYPES, IP_PROTOCOLS, Names,
    TCP_STATES,
};

/// What an argument type holds, as far as filters are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Class {
    Integer,
    CapabilitySet,
    Text,
    /// Files and paths: compared by path name, and by file type.
    File,
    Socket,
    /// A `sockaddr` has no destination, protocol or state.
    SocketAddress,
    /// Values the probes cannot filter on (credentials, BPF objects, ...).
    Opaque,
    /// `auto`: the type comes from BTF later, so any operator may fit.
    Unknown,
}

impl Class {
    fn describe(self) -> &'static str {
        match self {
            Class::Integer => "integer",
            Class::CapabilitySet => "capability set",
            Class::Text => "string",
            Class::File => "file and path",
            Class::Socket => "socket",
            Class::SocketAddress => "sockaddr",
            Class::Opaque | Class::Unknown => "unknown",
        }
    }
}

pub(super) fn class(ty: ArgType) -> Class {
    use ArgType::*;
    match ty {
        Auto => Class::Unknown,
        Int | Sint8 | Int8 | Uint8 | Sint16 | Int16 | Uint16 | Uint32 | Sint32 | Int32 | Ulong
        | Uint64 | SizeT | Long | Sint64 | Int64 | Syscall64 | Capability | BpfCmd => {
            Class::Integer
        }
        KernelCapT | CapInheritable | CapPermitted | CapEffective => Class::CapabilitySet,
        String | CharBuf | CharIovec | Filename | DataLoc | ConstBuf | NetDevice => Class::Text,
        Fd | File | Path | Dentry | Kiocb | LinuxBinprm => Class::File,
        Sock | Socket | Skb => Class::Socket,
        Sockaddr => Class::SocketAddress,
        Nop | BpfAttr | PerfEvent | BpfMap | UserNamespace | IovIter | Cred | LoadInfo | Module
        | SockaddrUn | BpfProg => Class::Opaque,
    }
}

/// The classes of arguments `op` can filter; None for any (a CEL expression).
fn classes(op: ArgOperator) -> Option<&'static [Class]> {
    use ArgOperator::*;
    Some(match op {
        Equal | NotEqual => &[
            Class::Integer,
            Class::CapabilitySet,
            Class::Text,
            Class::File,
        ],
        Prefix | NotPrefix | Postfix | NotPostfix | SubString | SubStringIgnCase => {
            &[Class::Text, Class::File]
        }
        GreaterThan | LessThan | InRange | NotInRange | InMap | NotInMap => &[Class::Integer],
        Mask => &[Class::Integer, Class::CapabilitySet],
        SPort | NotSPort | SPortPriv | NotSPortPriv | SAddr | NotSAddr | Family => {
            &[Class::Socket, Class::SocketAddress]
        }
        DPort | NotDPort | DPortPriv | NotDPortPriv | DAddr | NotDAddr | Protocol | State => {
            &[Class::Socket]
        }
        CapabilitiesGained => &[Class::CapabilitySet],
        FileType | NotFileType => &[Class::File],
        CelExpr => return None,
    })
}

/// Why `op` cannot filter an argument of type `ty`, if it cannot.
pub(super) fn misfit(op: ArgOperator, ty: ArgType) -> Option<String> {
    let fits = classes(op);
    let class = class(ty);
    if class == Class::Unknown || fits.is_none_or(|fits| fits.contains(&class)) {
        return None;
    }
    let takes = names::listing(fits.unwrap_or_default().iter().map(|c| c.describe()));
    Some(format!(
        "operator {} cannot filter an argument of type {}; it takes {takes} types",
        ARG_OPERATORS.name(op),
        names::ARG_TYPES.name(ty)
    ))
}

/// A problem with the values of one filter: the value's position, or None for the list.
#[derive(Debug)]
pub(super) struct Problem {
    pub value: Option<usize>,
    pub message: String,
}

/// What is wrong with `values` for operator `op` on an argument of type `ty` (which fits).
pub(super) fn check(
    op: ArgOperator,
    ty: ArgType,
    values: &[String],
    lists: &[ListSpec],
) -> Vec<Problem> {
    use ArgOperator::*;
    let name = ARG_OPERATORS.name(op);
    let class = class(ty);
    let mut problems = Vec::new();
    let mut whole = |message: String| {
        problems.push(Problem {
            value: None,
            message,
        })
    };

    let takes_values = !matches!(
        op,
        SPortPriv | NotSPortPriv | DPortPriv | NotDPortPriv | CapabilitiesGained
    );
    if takes_values && values.is_empty() {
        whole(format!("operator {name} needs at least one value"));
    } else if !takes_values && !values.is_empty() {
        whole(format!("operator {name} takes no values"));
    }
    if let Some(max) = max_values(op, class)
        && values.len() > max
    {
        whole(format!(
            "{} values for operator {name}, max {max}",
            values.len()
        ));
    }

    for (i, value) in values.iter().enumerate() {
        if let Err(message) = check_value(op, class, value, lists) {
            problems.push(Problem {
                value: Some(i),
                message,
            });
        }
    }
    problems
}

/// How many values the probes can compare against (tetragon.md §3.7).
fn max_values(op: ArgOperator, class: Class) -> Option<usize> {
    use ArgOperator::*;
    let is_string_op = matches!(
        op,
        Equal | NotEqual | Prefix | NotPrefix | Postfix | NotPostfix
    );
    match op {
        // Numbers are compared in a loop of 4 (MAX_MATCH_VALUES).
        Equal | NotEqual if matches!(class, Class::Integer | Class::CapabilitySet) => Some(4),
        GreaterThan | LessThan | Mask | InRange | NotInRange => Some(4),
        SubString | SubStringIgnCase => Some(100),
        // File and path names are compared in a loop of 8 (MAX_MATCH_FILE_VALUES).
        _ if is_string_op && class == Class::File => Some(8),
        _ => None,
    }
}

fn check_value(
    op: ArgOperator,
    class: Class,
    value: &str,
    lists: &[ListSpec],
) -> Result<(), String> {
    use ArgOperator::*;
    match op {
        Equal | NotEqual | Mask if class == Class::CapabilitySet => capability_or_integer(value),
        Equal | NotEqual | GreaterThan | LessThan | Mask if class == Class::Integer => {
            integer(value)
        }
        Equal | NotEqual => at_most(value, 4096, op),
        Prefix | NotPrefix => at_most(value, 256, op),
        Postfix | NotPostfix => at_most(value, 128, op),
        SubString | SubStringIgnCase => at_most(value, 99, op),
        InRange | NotInRange => range(value).map(|_| ()),
        InMap | NotInMap => match value.strip_prefix("list:") {
            Some(name) => defined_list(name, lists).and_then(|()| syscall_list(name, lists)),
            None if value.contains(':') => range(value).map(|_| ()),
            None => integer(value),
        },
        SPort | NotSPort | DPort | NotDPort => port(value),
        SAddr | NotSAddr | DAddr | NotDAddr => address(value),
        Protocol => named_number(value, &IP_PROTOCOLS),
        Family => named_number(value, &ADDRESS_FAMILIES),
        State => named_number(value, &TCP_STATES),
        FileType | NotFileType if FILE_TYPES.contains(&value) => Ok(()),
        FileType | NotFileType => Err(names::unknown(
            "file type",
            value,
            &names::listing(FILE_TYPES),
        )),
        CelExpr if value.trim().is_empty() => Err("the CEL expression is empty".to_string()),
        CelExpr | SPortPriv | NotSPortPriv | DPortPriv | NotDPortPriv | CapabilitiesGained => {
            Ok(())
        }
        // Only an `auto` argument gets here: its type, and so its values, are not known yet.
        GreaterThan | LessThan | Mask => Ok(()),
    }
}

/// `list:NAME` must name one of the policy's lists.
pub(super) fn defined_list(name: &str, lists: &[ListSpec]) -> Result<(), String> {
    if lists.iter().any(|list| list.name == name) {
        return Ok(());
    }
    let defined = names::listing(lists.iter().map(|l| &l.name));
    Err(format!(
        "list \"{name}\" is not defined in spec.lists; defined: {defined}"
    ))
}

/// InMap's `list:NAME` expands to syscall ids: the list must be one of syscalls.
fn syscall_list(name: &str, lists: &[ListSpec]) -> Result<(), String> {
    match lists.iter().find(|list| list.name == name) {
        Some(list) if !matches!(list.list_type.as_str(), "syscalls" | "generated_syscalls") => {
            Err(format!(
                "list \"{name}\" is not a syscall list (type {:?}); InMap takes lists of type syscalls or generated_syscalls",
                list.list_type
            ))
        }
        _ => Ok(()),
    }
}

fn integer(value: &str) -> Result<(), String> {
    names::parse_integer(value)
        .map(|_| ())
        .ok_or_else(|| format!("\"{value}\" is not an integer"))
}

fn capability_or_integer(value: &str) -> Result<(), String> {
    if CAPABILITIES.parse(value.trim()).is_some() || names::parse_integer(value).is_some() {
        return Ok(());
    }
    Err(format!(
        "\"{value}\" is neither a CAP_* capability name nor an integer"
    ))
}

fn at_most(value: &str, max: usize, op: ArgOperator) -> Result<(), String> {
    if value.len() <= max {
        return Ok(());
    }
    Err(format!(
        "value is {} bytes long; {} values can be at most {max}",
        value.len(),
        ARG_OPERATORS.name(op)
    ))
}

/// `min:max`, both integers.
fn range(value: &str) -> Result<(i128, i128), String> {
    let bounds = value.split_once(':').and_then(|(low, high)| {
        Some((
            names::parse_integer(low.trim())?,
            names::parse_integer(high.trim())?,
        ))
    });
    bounds.ok_or_else(|| format!("\"{value}\" is not a range; write it as min:max"))
}

/// A port or a `min:max` range of ports.
fn port(value: &str) -> Result<(), String> {
    let bounds = match value.contains(':') {
        true => range(value).ok(),
        false => names::parse_integer(value).map(|p| (p, p)),
    };
    let is_port = |p: i128| (0..=65535).contains(&p);
    match bounds {
        Some((low, high)) if is_port(low) && is_port(high) => Ok(()),
        _ => Err(format!(
            "\"{value}\" is not a port (0 to 65535) or a min:max range of ports"
        )),
    }
}

/// An IPv4 or IPv6 address, or a CIDR.
fn address(value: &str) -> Result<(), String> {
    let valid = match value.split_once('/') {
        Some((addr, bits)) => match (addr.parse::<IpAddr>(), bits.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(bits)) => bits <= 32,
            (Ok(IpAddr::V6(_)), Ok(bits)) => bits <= 128,
            _ => false,
        },
        None => value.parse::<IpAddr>().is_ok(),
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "\"{value}\" is not an IPv4 or IPv6 address or CIDR"
        ))
    }
}

/// A name from `table`, a number, or a `min:max` range of numbers.
fn named_number(value: &str, table: &Names<u16>) -> Result<(), String> {
    let known = table.parse(value).is_some()
        || names::parse_integer(value).is_some()
        || range(value).is_ok();
    if known {
        return Ok(());
    }
    Err(format!(
        "\"{value}\" is neither a number nor a known {} name ({}, ...)",
        table.what,
        names::listing(table.canonical.iter().take(4).map(|&(n, _)| n))
    ))
}
