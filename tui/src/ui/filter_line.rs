//! The UI's filter line: `process=REGEX[,…] pod=REGEX[,…] namespace=NS[,…] type=TYPE[,…]`,
//! the fields of `tetra getevents`' flags, ANDed.
use crate::event::{EventFilter, EventType};

/// Parses a filter line; an empty line filters nothing. Errors say which word is wrong.
pub fn parse(line: &str) -> Result<EventFilter, String> {
    let (mut processes, mut pods, mut namespaces, mut types) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for word in line.split_whitespace() {
        let (key, values) = word.split_once('=').ok_or_else(|| {
            format!("{word:?}: expected key=value (process, pod, namespace, type)")
        })?;
        let values = values.split(',').map(str::to_string);
        match key {
            "process" => processes.extend(values),
            "pod" => pods.extend(values),
            "namespace" | "ns" => namespaces.extend(values),
            "type" => {
                for value in values {
                    types.push(value.parse::<EventType>().map_err(|e| e.to_string())?);
                }
            }
            other => {
                return Err(format!(
                    "{other:?}: unknown filter (use process, pod, namespace or type)"
                ));
            }
        }
    }
    EventFilter::new(&processes, &pods, &namespaces, &types).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_errors() {
        assert!(parse("").unwrap().is_empty());
        assert!(!parse("process=bash$ type=PROCESS_EXEC").unwrap().is_empty());
        assert!(parse("process=(").unwrap_err().contains("regex"));
        assert!(parse("colour=red").unwrap_err().contains("unknown filter"));
        assert!(parse("bash").unwrap_err().contains("key=value"));
        assert!(parse("type=NOPE").is_err());
    }
}
