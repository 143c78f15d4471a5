//! Errors shared by the UI's TOML configuration files (themes, key bindings).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// A TOML configuration file could not be read, parsed or validated. The [`fmt::Display`] text
/// is meant for the user as is.
#[derive(Debug)]
pub enum ConfigFileError {
    /// The file exists (or was named by path) but could not be read.
    Read {
        /// What the file holds, for the message: "theme", "key bindings".
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file is not valid TOML.
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid TOML, but a value is not allowed; `message` says what is.
    Value {
        file: String,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
}

impl ConfigFileError {
    /// The TOML parse `error` of `text`, the file `source` names.
    pub(super) fn parse(text: &str, source: &str, error: &toml::de::Error) -> ConfigFileError {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        ConfigFileError::Parse {
            file: source.to_string(),
            line,
            column,
            message: error.message().trim_end().to_string(),
        }
    }

    /// A bad value for `key` at `span` of `text`, the file `source` names.
    pub(super) fn value(
        text: &str,
        source: &str,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigFileError {
        let (line, column) = line_column(text, span.start);
        ConfigFileError::Value {
            file: source.to_string(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read { what, path, error } => {
                write!(f, "cannot read {what} {}: {error}", path.display())
            }
            ConfigFileError::Parse {
                file,
                line,
                column,
                message,
            } => write!(f, "{file}:{line}:{column}: invalid TOML: {message}"),
            ConfigFileError::Value {
                file,
                line,
                column,
                key,
                message,
            } => write!(f, "{file}:{line}:{column}: `{key}`: {message}"),
        }
    }
}

impl std::error::Error for ConfigFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigFileError::Read { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé d", 0), (1, 1));
        assert_eq!(line_column("ab\ncé d", 3), (2, 1));
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn messages() {
        let read = ConfigFileError::Read {
            what: "theme",
            path: PathBuf::from("/x/t.toml"),
            error: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        assert_eq!(read.to_string(), "cannot read theme /x/t.toml: gone");
        assert!(std::error::Error::source(&read).is_some());
        let value = ConfigFileError::value("a\nbc = 1", "f.toml", 5..6, "bc", "no");
        assert_eq!(value.to_string(), "f.toml:2:4: `bc`: no");
        assert!(std::error::Error::source(&value).is_none());
    }
}
