//! Reading YAML nodes as CRD fields: type checks, unknown and missing fields, name tables, and
//! the record of where each field was written.
//!
//! A reader keeps going after an error so that one pass reports them all: the readers of the
//! model's structs read every field before giving up on a missing required one (the `x?`
//! fields come last in their struct literals).
use std::path::PathBuf;

use super::yaml::{Entry, Node, Value};
use crate::policy::error::{PolicyError, Positions};
use crate::policy::model::Location;
use crate::policy::names::{self, Names};

/// Reads one policy document, collecting every error instead of stopping at the first.
pub(super) struct Reader {
    file: Option<PathBuf>,
    pub errors: Vec<PolicyError>,
    /// Where the fields of the document being read were written.
    pub positions: Positions,
}

/// A mapping whose keys were checked against the fields its CRD object allows.
pub(super) struct Object<'n> {
    path: String,
    pub at: Location,
    entries: &'n [Entry],
}

/// The path of field `key` of the object at `path`.
fn field_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Integer types a field can be read as.
pub(super) trait Integer: TryFrom<i128> {
    const MIN: i128;
    const MAX: i128;
}

macro_rules! integer {
    ($($t:ty),*) => {
        $(impl Integer for $t {
            const MIN: i128 = <$t>::MIN as i128;
            const MAX: i128 = <$t>::MAX as i128;
        })*
    };
}
integer!(u32, i32, u64);

impl Reader {
    pub fn new(file: Option<PathBuf>) -> Self {
        Reader {
            file,
            errors: Vec::new(),
            positions: Positions::default(),
        }
    }

    pub fn error(&mut self, at: Location, field: &str, message: impl Into<String>) {
        // The document itself has the empty path.
        let field = if field.is_empty() {
            "<document>"
        } else {
            field
        };
        self.errors.push(PolicyError {
            file: self.file.clone(),
            at,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// The entries of a mapping, reporting a node of another kind and repeated keys.
    fn entries<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Entry]> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node.at,
                path,
                format!("expected a mapping, found {}", node.describe()),
            );
            return None;
        };
        for (i, entry) in entries.iter().enumerate() {
            if entries[..i].iter().any(|earlier| earlier.key == entry.key) {
                let message = format!("field \"{}\" is given twice", entry.key);
                self.error(entry.key_at, &field_path(path, &entry.key), message);
            }
        }
        Some(entries)
    }

    /// `node` as an object with the fields `allowed`; any other field is an error, as the CRD
    /// schema rejects unknown fields.
    pub fn object<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<Object<'n>> {
        let entries = self.entries(node, path)?;
        for entry in entries
            .iter()
            .filter(|e| !allowed.contains(&e.key.as_str()))
        {
            let message = format!(
                "unknown field \"{}\"; allowed: {}",
                entry.key,
                names::listing(allowed)
            );
            self.error(entry.key_at, &field_path(path, &entry.key), message);
        }
        Some(Object {
            path: path.to_string(),
            at: node.at,
            entries,
        })
    }

    /// Field `key` of `object` with its path, None when absent or null.
    fn field<'n>(&mut self, object: &Object<'n>, key: &str) -> Option<(String, &'n Node)> {
        let entry = object
            .entries
            .iter()
            .find(|e| e.key == key && !e.value.is_null())?;
        let path = field_path(&object.path, key);
        let at = match entry.value.value {
            Value::Scalar { .. } => entry.value.at,
            Value::Seq(_) | Value::Map(_) => entry.key_at,
        };
        self.positions.record(&path, at);
        Some((path, &entry.value))
    }

    /// Field `key` read with `read`; None when absent.
    pub fn optional<'n, T>(
        &mut self,
        object: &Object<'n>,
        key: &str,
        read: impl FnOnce(&mut Self, &'n Node, &str) -> Option<T>,
    ) -> Option<T> {
        let (path, node) = self.field(object, key)?;
        read(self, node, &path)
    }

    /// Field `key` read with `read`; a missing field is an error.
    pub fn required<'n, T>(
        &mut self,
        object: &Object<'n>,
        key: &str,
        read: impl FnOnce(&mut Self, &'n Node, &str) -> Option<T>,
    ) -> Option<T> {
        let Some((path, node)) = self.field(object, key) else {
            let message = format!("missing required field \"{key}\"");
            self.error(object.at, &field_path(&object.path, key), message);
            return None;
        };
        read(self, node, &path)
    }

    /// The list in field `key`, each item read with `item`; empty when absent.
    pub fn items<'n, T>(
        &mut self,
        object: &Object<'n>,
        key: &str,
        item: impl FnMut(&mut Self, &'n Node, &str) -> Option<T>,
    ) -> Vec<T> {
        self.optional(object, key, |r, node, path| Some(r.list(node, path, item)))
            .unwrap_or_default()
    }

    /// A YAML list, each item read with `item` at path `path[i]`. Items that fail are left out
    /// (their errors are recorded).
    pub fn list<'n, T>(
        &mut self,
        node: &'n Node,
        path: &str,
        mut item: impl FnMut(&mut Self, &'n Node, &str) -> Option<T>,
    ) -> Vec<T> {
        let Value::Seq(nodes) = &node.value else {
            self.error(
                node.at,
                path,
                format!("expected a list, found {}", node.describe()),
            );
            return Vec::new();
        };
        let mut read = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            let path = format!("{path}[{i}]");
            self.positions.record(&path, node.at);
            read.extend(item(self, node, &path));
        }
        read
    }

    /// A mapping from names to values read with `value`, in the order written.
    pub fn map<'n, T>(
        &mut self,
        node: &'n Node,
        path: &str,
        mut value: impl FnMut(&mut Self, &'n Node, &str) -> Option<T>,
    ) -> Vec<(String, T)> {
        let mut read = Vec::new();
        for entry in self.entries(node, path).unwrap_or_default() {
            let path = field_path(path, &entry.key);
            self.positions.record(&path, entry.key_at);
            if let Some(v) = value(self, &entry.value, &path) {
                read.push((entry.key.clone(), v));
            }
        }
        read
    }

    /// A string. Kubernetes turns a number or boolean written for a string field into its text,
    /// so any scalar is accepted.
    pub fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            _ => {
                self.error(
                    node.at,
                    path,
                    format!("expected a string, found {}", node.describe()),
                );
                None
            }
        }
    }

    /// `true` or `false`, unquoted.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        let value = match &node.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if value.is_none() {
            let message = format!("expected true or false, found {}", node.describe());
            self.error(node.at, path, message);
        }
        value
    }

    /// An unquoted integer that fits `T`.
    pub fn integer<T: Integer>(&mut self, node: &Node, path: &str) -> Option<T> {
        let parsed = match &node.value {
            Value::Scalar { text, plain: true } => names::parse_integer(text),
            _ => None,
        };
        let fits = parsed.filter(|n| (T::MIN..=T::MAX).contains(n));
        let value = fits.and_then(|n| T::try_from(n).ok());
        if value.is_none() {
            let message = format!(
                "expected an integer from {} to {}, found {}",
                T::MIN,
                T::MAX,
                node.describe()
            );
            self.error(node.at, path, message);
        }
        value
    }

    /// A name from the table `names`.
    pub fn name<T: Copy + PartialEq>(
        &mut self,
        node: &Node,
        path: &str,
        names: &Names<T>,
    ) -> Option<T> {
        let text = self.text(node, path)?;
        let value = names.parse(&text);
        if value.is_none() {
            self.error(
                node.at,
                path,
                names::unknown(names.what, &text, &names.allowed()),
            );
        }
        value
    }

    /// A string that must be one of `allowed`.
    pub fn one_of(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
        allowed: &[&str],
    ) -> Option<String> {
        let text = self.text(node, path)?;
        if allowed.contains(&text.as_str()) {
            return Some(text);
        }
        let message = names::unknown(what, &text, &names::listing(allowed));
        self.error(node.at, path, message);
        None
    }
}

/// A reader of a name from `names`, for `optional`, `required` and `items`.
pub(super) fn named<T: Copy + PartialEq>(
    names: &'static Names<T>,
) -> impl Fn(&mut Reader, &Node, &str) -> Option<T> {
    move |r, node, path| r.name(node, path, names)
}

/// A reader of one of the strings `allowed`.
pub(super) fn one_of(
    what: &'static str,
    allowed: &'static [&'static str],
) -> impl Fn(&mut Reader, &Node, &str) -> Option<String> {
    move |r, node, path| r.one_of(node, path, what, allowed)
}
