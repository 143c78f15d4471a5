//! Reading `KprobeArgument` JSON values (`{"file_arg":{"path":"/etc/passwd"}}`, tetragon.md §1.6).
//!
//! Like Go's generated getters, a missing member reads as the zero value, and integers are
//! accepted both as JSON numbers and as protojson's decimal strings (`"size_arg":"627"`).

use serde_json::Value;

/// `args[index]`, unless it is missing or `null`.
pub fn arg(args: &[Value], index: usize) -> Option<&Value> {
    args.get(index).filter(|v| !v.is_null())
}

/// `args[index].path[0].path[1]…`, e.g. `field(args, 0, &["file_arg", "path"])`.
pub fn field<'a>(args: &'a [Value], index: usize, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(arg(args, index)?, |value, key| value.get(key))
        .filter(|v| !v.is_null())
}

/// A string member, `""` when absent.
pub fn field_str<'a>(args: &'a [Value], index: usize, path: &[&str]) -> &'a str {
    field(args, index, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// An unsigned integer member (`size_arg`, `uint_arg`, `sport`…), 0 when absent.
pub fn field_u64(args: &[Value], index: usize, path: &[&str]) -> u64 {
    field(args, index, path)
        .and_then(value_u64)
        .unwrap_or_default()
}

/// A signed integer member (`int_arg`, `long_arg`), 0 when absent.
pub fn field_i64(args: &[Value], index: usize, path: &[&str]) -> i64 {
    field(args, index, path)
        .and_then(value_i64)
        .unwrap_or_default()
}

fn value_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

fn value_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_members_with_zero_defaults() {
        let args = [
            json!({"file_arg": {"path": "/etc/passwd"}}),
            Value::Null,
            json!({"size_arg": "627"}),
            json!({"int_arg": -2, "long_arg": "-5"}),
        ];
        assert_eq!(field_str(&args, 0, &["file_arg", "path"]), "/etc/passwd");
        assert_eq!(field_str(&args, 0, &["path_arg", "path"]), "");
        assert!(arg(&args, 1).is_none());
        assert!(arg(&args, 4).is_none());
        assert_eq!(field_u64(&args, 2, &["size_arg"]), 627);
        assert_eq!(field_i64(&args, 3, &["int_arg"]), -2);
        assert_eq!(field_i64(&args, 3, &["long_arg"]), -5);
        assert_eq!(field_u64(&args, 3, &["int_arg"]), 0);
        assert!(field(&args, 0, &["file_arg"]).is_some());
    }
}
