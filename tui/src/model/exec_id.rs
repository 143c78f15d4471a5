//! Tetragon's exec_id: base64("node:ktime:pid"), unique per process image across the cluster.
use base64::{Engine, engine::general_purpose::STANDARD};

pub fn exec_id(node_name: &str, ktime: u64, pid: u32) -> String {
    STANDARD.encode(format!("{node_name}:{ktime}:{pid}"))
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
    }
}
