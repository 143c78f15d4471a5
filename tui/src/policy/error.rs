//! What is wrong with a policy, and where.
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use super::model::Location;

/// One problem found in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// The file, as it was given; None for text that did not come from a file.
    pub file: Option<PathBuf>,
    /// Line 0 when the problem has no place in the text (the file could not be read).
    pub at: Location,
    /// The field's path, e.g. `spec.kprobes[0].selectors[1].matchArgs[0].operator`, or
    /// `<yaml>` for a syntax error, `<file>` for an I/O error and `<document>` for a document
    /// that is not a mapping.
    pub field: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    /// `FILE:LINE:COLUMN: FIELD: MESSAGE`, the form editors and terminals link to the place.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}", file.display())?,
            None => f.write_str("<input>")?,
        }
        if self.at.line > 0 {
            write!(f, ":{}:{}", self.at.line, self.at.column)?;
        }
        write!(f, ": {}: {}", self.field, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Where each field of one policy document was written, by field path.
///
/// A scalar is located at its value; a list or mapping at its key, which is the line a reader
/// looks for when told that the list as a whole is wrong.
#[derive(Clone, Debug, Default)]
pub(crate) struct Positions {
    by_path: HashMap<String, Location>,
}

impl Positions {
    pub(crate) fn record(&mut self, path: &str, at: Location) {
        self.by_path.insert(path.to_string(), at);
    }

    /// Where `path` was written; `fallback` (the enclosing element) when the field is absent.
    pub(crate) fn locate(&self, path: &str, fallback: Location) -> Location {
        self.by_path.get(path).copied().unwrap_or(fallback)
    }
}
