//! A file (or stdin) of Tetragon JSON lines: an export file, a recording, our own output.
//!
//! Recordings (`crate::record`) read their event file through [`JsonLines`] too, after
//! decompression.
use std::io::BufRead;

use crate::event::{DecodeError, Event, decode_json_line};

/// A line that could not be read as an event.
#[derive(Debug)]
pub struct BadLine {
    /// 1-based.
    pub number: u64,
    pub error: DecodeError,
}

/// What reading the next line gave.
// Events are nearly every item and go straight to the caller: boxing them would cost an
// allocation per line for the rare other items.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ReadItem {
    Event(Event),
    /// A line that is not an event; reading goes on after it.
    Bad(BadLine),
    /// The input ends in the middle of a line, as a writer killed mid-write leaves it: the
    /// last line has no newline and its JSON is cut short. Always the last item.
    TornTail {
        /// 1-based line number.
        line: u64,
        /// Bytes of the partial line.
        bytes: usize,
    },
}

/// Reads events line by line; blank lines are skipped, bad ones reported and skipped.
pub struct JsonLines<R> {
    reader: R,
    line: Vec<u8>,
    /// Lines read so far (the number of the last line read).
    number: u64,
    /// Events returned so far.
    events: u64,
}

impl<R: BufRead> JsonLines<R> {
    pub fn new(reader: R) -> Self {
        Self::resume(reader, 0, 0)
    }

    /// Reads `reader`, which starts after `lines` lines holding `events` events of a longer
    /// input (a recording read from a checkpoint): line numbers and counts go on from there.
    pub fn resume(reader: R, lines: u64, events: u64) -> Self {
        Self {
            reader,
            line: Vec::with_capacity(4096),
            number: lines,
            events,
        }
    }

    /// Events returned so far, counting those before the starting point of [`Self::resume`].
    pub fn events_read(&self) -> u64 {
        self.events
    }

    /// Lines read so far, counted the same way.
    pub fn lines_read(&self) -> u64 {
        self.number
    }

    /// The next event, bad line or torn tail; None at the end. I/O errors are returned as such.
    ///
    /// A last line without a newline is an event if it decodes (a file whose writer left the
    /// final newline out), a torn tail if its JSON is cut short, a bad line otherwise.
    pub fn next_item(&mut self) -> std::io::Result<Option<ReadItem>> {
        loop {
            self.line.clear();
            if self.reader.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(None);
            }
            self.number += 1;
            let complete = self.line.last() == Some(&b'\n');
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            return Ok(Some(match decode_json_line(text) {
                Ok(event) => {
                    self.events += 1;
                    ReadItem::Event(event)
                }
                Err(DecodeError::Json(e)) if !complete && e.is_eof() => ReadItem::TornTail {
                    line: self.number,
                    bytes: self.line.len(),
                },
                Err(error) => ReadItem::Bad(BadLine {
                    number: self.number,
                    error,
                }),
            }));
        }
    }

    /// The next event, or a bad line (a torn tail is one too), or None at the end. I/O errors
    /// end the stream with an error.
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
            let result = decode_json_line(text).map_err(|error| BadLine {
                number: self.number,
                error,
            });
            if result.is_ok() {
                self.events += 1;
            }
            return Ok(Some(result));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_line() -> String {
        let seed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/seed-events.jsonl"
        ))
        .unwrap();
        seed.lines().next().unwrap().to_string()
    }

    #[test]
    fn reports_bad_lines_with_their_numbers_and_goes_on() {
        let first = seed_line();
        let input = format!("{first}\n{{not json\n\n{first}\n");
        let mut lines = JsonLines::new(input.as_bytes());
        assert!(lines.next_event().unwrap().unwrap().is_ok());
        let bad = lines.next_event().unwrap().unwrap().unwrap_err();
        assert_eq!(bad.number, 2);
        assert!(lines.next_event().unwrap().unwrap().is_ok());
        assert!(lines.next_event().unwrap().is_none());
        assert_eq!(lines.events_read(), 2);
        assert_eq!(lines.lines_read(), 4);
    }

    #[test]
    fn items_tell_torn_tails_from_bad_lines() {
        let first = seed_line();
        let cut = &first[..first.len() / 2];
        let input = format!("{first}\n{{not json\n{cut}");
        let mut lines = JsonLines::new(input.as_bytes());
        assert!(matches!(
            lines.next_item().unwrap(),
            Some(ReadItem::Event(_))
        ));
        assert!(matches!(
            lines.next_item().unwrap(),
            Some(ReadItem::Bad(BadLine { number: 2, .. }))
        ));
        match lines.next_item().unwrap() {
            Some(ReadItem::TornTail { line, bytes }) => {
                assert_eq!((line, bytes), (3, cut.len()));
            }
            other => panic!("{other:?}"),
        }
        assert!(lines.next_item().unwrap().is_none());
    }

    #[test]
    fn an_unterminated_last_line_is_an_event_if_whole_and_bad_if_not_json() {
        let first = seed_line();
        let mut lines = JsonLines::new(first.as_bytes());
        assert!(matches!(
            lines.next_item().unwrap(),
            Some(ReadItem::Event(_))
        ));
        assert!(lines.next_item().unwrap().is_none());
        let mut lines = JsonLines::new(&b"{} trailing"[..]);
        assert!(matches!(lines.next_item().unwrap(), Some(ReadItem::Bad(_))));
        let mut lines = JsonLines::new(&b"\n  \n "[..]);
        assert!(lines.next_item().unwrap().is_none());
        assert_eq!(lines.lines_read(), 3);
    }

    #[test]
    fn resume_goes_on_counting() {
        let first = seed_line();
        let input = format!("{first}\n{{\n");
        let mut lines = JsonLines::resume(input.as_bytes(), 10, 7);
        assert!(matches!(
            lines.next_item().unwrap(),
            Some(ReadItem::Event(_))
        ));
        assert_eq!(lines.events_read(), 8);
        assert!(matches!(
            lines.next_item().unwrap(),
            Some(ReadItem::Bad(BadLine { number: 12, .. }))
        ));
    }
}
