//! `CapabilityFilter`: a compiled `CapFilter` (tetragon.md §1.4). Its permitted, effective and
//! inheritable sets are ANDed; each set names exactly one of `any`, `all`, `exactly`, `none`.

use std::collections::BTreeSet;

use super::FilterError;
use crate::agent::proto;
use crate::event::Capabilities;

#[derive(Clone, Debug)]
pub(super) struct CapabilityFilter {
    sets: Vec<(CapSet, SetMatch)>,
}

#[derive(Clone, Copy, Debug)]
enum CapSet {
    Permitted,
    Effective,
    Inheritable,
}

/// How a set of the process must relate to the named capabilities (`CapabilitiesType` names,
/// as the event holds them).
#[derive(Clone, Debug)]
enum SetMatch {
    Any(BTreeSet<&'static str>),
    All(BTreeSet<&'static str>),
    Exactly(BTreeSet<&'static str>),
    None(BTreeSet<&'static str>),
}

impl CapabilityFilter {
    pub(super) fn new(filter: &proto::CapFilter, place: &str) -> Result<Self, FilterError> {
        let sets = [
            (CapSet::Permitted, "permitted", &filter.permitted),
            (CapSet::Effective, "effective", &filter.effective),
            (CapSet::Inheritable, "inheritable", &filter.inheritable),
        ];
        let sets = sets
            .into_iter()
            .filter_map(|(set, name, filter)| Some((set, name, filter.as_ref()?)))
            .map(|(set, name, filter)| {
                Ok((set, SetMatch::new(filter, &format!("{place}.{name}"))?))
            })
            .collect::<Result<_, FilterError>>()?;
        Ok(CapabilityFilter { sets })
    }

    pub(super) fn matches(&self, caps: &Capabilities) -> bool {
        self.sets.iter().all(|(set, wanted)| {
            let held = match set {
                CapSet::Permitted => &caps.permitted,
                CapSet::Effective => &caps.effective,
                CapSet::Inheritable => &caps.inheritable,
            };
            wanted.matches(&held.iter().map(String::as_str).collect())
        })
    }
}

impl SetMatch {
    fn new(filter: &proto::CapFilterSet, place: &str) -> Result<Self, FilterError> {
        let kinds = [
            ("any", &filter.any, SetMatch::Any as fn(_) -> _),
            ("all", &filter.all, SetMatch::All),
            ("exactly", &filter.exactly, SetMatch::Exactly),
            ("none", &filter.none, SetMatch::None),
        ];
        let set: Vec<_> = kinds
            .into_iter()
            .filter(|(_, caps, _)| !caps.is_empty())
            .collect();
        let [(kind, caps, make)] = set[..] else {
            let found: Vec<&str> = set.iter().map(|(kind, _, _)| *kind).collect();
            let message = format!(
                "needs exactly one of any, all, exactly, none; has [{}]",
                found.join(", ")
            );
            return Err(FilterError::new(place, message));
        };
        let names = caps.iter().enumerate().map(|(i, &number)| {
            proto::CapabilitiesType::try_from(number)
                .map(|cap| cap.as_str_name())
                .map_err(|_| {
                    FilterError::new(
                        format!("{place}.{kind}[{i}]"),
                        format!("unknown capability {number}"),
                    )
                })
        });
        Ok(make(names.collect::<Result<_, _>>()?))
    }

    fn matches(&self, held: &BTreeSet<&str>) -> bool {
        match self {
            SetMatch::Any(caps) => caps.iter().any(|cap| held.contains(cap)),
            SetMatch::All(caps) => caps.iter().all(|cap| held.contains(cap)),
            SetMatch::Exactly(caps) => caps == held,
            SetMatch::None(caps) => !caps.iter().any(|cap| held.contains(cap)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::agent::filter::RequestFilter;
    use crate::agent::proto;

    fn error(capabilities: proto::CapFilter) -> String {
        let request = proto::GetEventsRequest {
            allow_list: vec![proto::Filter {
                capabilities: Some(capabilities),
                ..proto::Filter::default()
            }],
            ..proto::GetEventsRequest::default()
        };
        RequestFilter::new(&request).unwrap_err().to_string()
    }

    #[test]
    fn each_set_names_exactly_one_kind_of_match() {
        let two = proto::CapFilterSet {
            any: vec![21],
            none: vec![1],
            ..proto::CapFilterSet::default()
        };
        assert_eq!(
            error(proto::CapFilter {
                effective: Some(two),
                ..proto::CapFilter::default()
            }),
            "allow_list[0].capabilities.effective: needs exactly one of any, all, exactly, none; has [any, none]"
        );
        assert_eq!(
            error(proto::CapFilter {
                inheritable: Some(proto::CapFilterSet::default()),
                ..proto::CapFilter::default()
            }),
            "allow_list[0].capabilities.inheritable: needs exactly one of any, all, exactly, none; has []"
        );
    }

    #[test]
    fn unknown_capability_numbers_are_errors() {
        let unknown = proto::CapFilterSet {
            all: vec![0, 99],
            ..proto::CapFilterSet::default()
        };
        assert_eq!(
            error(proto::CapFilter {
                permitted: Some(unknown),
                ..proto::CapFilter::default()
            }),
            "allow_list[0].capabilities.permitted.all[1]: unknown capability 99"
        );
    }
}
