//! A file (or stdin) of Tetragon JSON lines: an export file, a recording, our own output.
use std::io::BufRead;

use crate::event::{DecodeError, Event, decode_json_line};

/// A line that could not be read as an event.
#[derive(Debug)]
pub struct BadLine {
    /// 1-based.
    pub number: u64,
    pub error: DecodeError,
}

/// Reads events line by line; blank lines are skipped, bad ones reported and skipped.
pub struct JsonLines<R> {
    reader: R,
    line: Vec<u8>,
    number: u64,
}

impl<R: BufRead> JsonLines<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: Vec::with_capacity(4096),
            number: 0,
        }
    }

    /// The next event, a bad line, or None at the end. I/O errors end the stream with an error.
    pub fn next_event(&mut self) -> std::io::Result<Option<Result<Event, BadLine>>> {
        loop {
            self.line.clear();
            if self.reader.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(None);
            }
            self.number += 1;
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            return Ok(Some(decode_json_line(text).map_err(|error| BadLine {
                number: self.number,
                error,
            })));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_bad_lines_with_their_numbers_and_goes_on() {
        let seed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/seed-events.jsonl"
        ))
        .unwrap();
        let first = seed.lines().next().unwrap();
        let input = format!("{first}\n{{not json\n\n{first}\n");
        let mut lines = JsonLines::new(input.as_bytes());
        assert!(lines.next_event().unwrap().unwrap().is_ok());
        let bad = lines.next_event().unwrap().unwrap().unwrap_err();
        assert_eq!(bad.number, 2);
        assert!(lines.next_event().unwrap().unwrap().is_ok());
        assert!(lines.next_event().unwrap().is_none());
    }
}
