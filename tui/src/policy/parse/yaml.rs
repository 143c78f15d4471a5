//! YAML documents as trees of nodes that remember where they were written, built from the
//! events of saphyr's parser (every event carries its span).
use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError};

use crate::policy::model::Location;

#[derive(Clone, Debug)]
pub(super) struct Node {
    pub at: Location,
    pub value: Value,
}

#[derive(Clone, Debug)]
pub(super) enum Value {
    /// `plain` is false for quoted and block scalars, which are strings whatever they read like.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub key: String,
    pub key_at: Location,
    pub value: Node,
}

impl Node {
    /// A YAML null (`~`, `null` or nothing), which Kubernetes treats as an absent field.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match &self.value {
            _ if self.is_null() => "null".to_string(),
            Value::Scalar { text, .. } => format!("\"{text}\""),
            Value::Seq(_) => "a list".to_string(),
            Value::Map(_) => "a mapping".to_string(),
        }
    }
}

/// One `---`-separated document of a file.
pub(super) struct Document {
    pub root: Node,
    /// The document's own lines, comments included.
    pub text: String,
}

#[derive(Debug)]
pub(super) struct SyntaxError {
    pub at: Location,
    pub message: String,
}

impl From<ScanError> for SyntaxError {
    fn from(error: ScanError) -> Self {
        SyntaxError {
            at: location(*error.marker()),
            message: error.info().to_string(),
        }
    }
}

fn location(marker: Marker) -> Location {
    // saphyr counts lines from 1 and columns from 0.
    Location {
        line: marker.line(),
        column: marker.col() + 1,
    }
}

/// The documents of `text`, empty ones included (their root is a null scalar).
pub(super) fn documents(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut builder = Builder::default();
    // (first line, root) of each document.
    let mut found: Vec<(usize, Node)> = Vec::new();
    let mut first_line = 1;
    for event in Parser::new_from_str(text) {
        let (event, span) = event?;
        match event {
            // The first document also owns the comments above it.
            Event::DocumentStart(_) if !found.is_empty() => first_line = span.start.line(),
            Event::DocumentEnd => {
                let root = builder.root.take().ok_or_else(|| SyntaxError {
                    at: location(span.start),
                    message: "document without content".to_string(),
                })?;
                found.push((first_line, root));
            }
            other => builder.event(other, location(span.start))?,
        }
    }

    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let byte_of_line = |line: usize| line_starts.get(line - 1).copied().unwrap_or(text.len());
    let ends = found
        .iter()
        .skip(1)
        .map(|(line, _)| byte_of_line(*line))
        .chain(std::iter::once(text.len()))
        .collect::<Vec<_>>();
    Ok(found
        .into_iter()
        .zip(ends)
        .map(|((line, root), end)| Document {
            root,
            text: text[byte_of_line(line)..end].to_string(),
        })
        .collect())
}

/// A list or mapping whose end has not been seen yet.
enum Open {
    Seq {
        at: Location,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        at: Location,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(String, Location)>,
    },
}

/// Turns the events of one document into its tree.
#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    /// Anchored nodes by anchor id, for aliases (`*name`) to copy.
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
}

impl Builder {
    fn event(&mut self, event: Event, at: Location) -> Result<(), SyntaxError> {
        match event {
            Event::Scalar(text, style, anchor, _) => {
                let plain = style == ScalarStyle::Plain;
                let text = text.into_owned();
                self.add(
                    Node {
                        at,
                        value: Value::Scalar { text, plain },
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| SyntaxError {
                    at,
                    message: "alias to an unknown anchor".to_string(),
                })?;
                self.add(node, 0)
            }
            Event::SequenceStart(anchor, _) => {
                let items = Vec::new();
                self.open.push(Open::Seq { at, anchor, items });
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                let (entries, key) = (Vec::new(), None);
                self.open.push(Open::Map {
                    at,
                    anchor,
                    entries,
                    key,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => match self.open.pop() {
                Some(Open::Seq { at, anchor, items }) => self.add(
                    Node {
                        at,
                        value: Value::Seq(items),
                    },
                    anchor,
                ),
                Some(Open::Map {
                    at,
                    anchor,
                    entries,
                    ..
                }) => self.add(
                    Node {
                        at,
                        value: Value::Map(entries),
                    },
                    anchor,
                ),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Puts a finished node into the list or mapping that holds it, or makes it the root.
    fn add(&mut self, node: Node, anchor: usize) -> Result<(), SyntaxError> {
        // saphyr numbers anchors from 1; 0 means none.
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.open.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                Some((key, key_at)) => entries.push(Entry {
                    key,
                    key_at,
                    value: node,
                }),
                None => match node.value {
                    Value::Scalar { text, .. } => *key = Some((text, node.at)),
                    _ => {
                        return Err(SyntaxError {
                            at: node.at,
                            message: "a mapping key must be a plain name, not a list or mapping"
                                .to_string(),
                        });
                    }
                },
            },
        }
        Ok(())
    }
}
