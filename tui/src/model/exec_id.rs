//! Tetragon's exec_id: base64("node:ktime:pid"), unique per process image across the cluster.
use base64::{Engine, engine::general_purpose::STANDARD};

pub fn exec_id(node_name: &str, ktime: u64, pid: u32) -> String {
    STANDARD.encode(format!("{node_name}:{ktime}:{pid}"))
}

/// The node an exec_id was made on; None when it is not in Tetragon's form.
pub fn node_of(exec_id: &str) -> Option<String> {
    let decoded = String::from_utf8(STANDARD.decode(exec_id).ok()?).ok()?;
    let mut parts = decoded.rsplitn(3, ':');
    let (_pid, _ktime, node) = (parts.next()?, parts.next()?, parts.next()?);
    Some(node.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_tetragons_encoding() {
        // From a real Tetragon export (../shared/fixtures/seed-events.jsonl).
        assert_eq!(
            exec_id("kind-worker2", 279294116657333, 3008300),
            "a2luZC13b3JrZXIyOjI3OTI5NDExNjY1NzMzMzozMDA4MzAw"
        );
        let id = exec_id("node:with:colons", 1, 2);
        assert_eq!(node_of(&id).as_deref(), Some("node:with:colons"));
        assert_eq!(node_of("not base64!"), None);
    }
}
