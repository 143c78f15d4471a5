//! Kubernetes label-selector matching (`matchLabels` AND every `matchExpressions` entry).
use std::collections::BTreeMap;

use crate::policy::model::LabelSelector;

/// Whether `labels` are selected; None (no selector) selects everything.
pub fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    selector
        .match_labels
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value))
        && selector.match_expressions.iter().all(|e| {
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| e.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false, // validation rejects other operators; select nothing rather than all
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::LabelExpression;

    #[test]
    fn labels_and_expressions() {
        let labels: BTreeMap<String, String> = [("app".into(), "iris".into())].into();
        let expression = |operator: &str, values: &[&str]| LabelSelector {
            match_expressions: vec![LabelExpression {
                key: "app".into(),
                operator: operator.into(),
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
            ..LabelSelector::default()
        };
        assert!(selects(None, &labels));
        let by_label = LabelSelector {
            match_labels: vec![("app".into(), "iris".into())],
            ..LabelSelector::default()
        };
        assert!(selects(Some(&by_label), &labels));
        assert!(!selects(Some(&by_label), &BTreeMap::new()));
        assert!(selects(Some(&expression("In", &["iris", "web"])), &labels));
        assert!(!selects(Some(&expression("NotIn", &["iris"])), &labels));
        assert!(selects(Some(&expression("Exists", &[])), &labels));
        assert!(!selects(Some(&expression("DoesNotExist", &[])), &labels));
    }
}
