//! The file-access table: one row per (process image, path, error) with what the calls did, how
//! often, with what result, first and last seen. Fed by `tetrascope_file_access` events, so a live
//! view and a replay build the same table; the live source keeps one too, to aggregate the
//! probes' records into those events. Bounded: the least recently seen row goes first, counted.
use std::collections::{BTreeMap, HashMap};

use crate::event::{EventBody, Process, TetrascopeFileAccess, Timestamp, access};

/// Rows kept by default.
pub const DEFAULT_FILE_ROWS: usize = 10_000;

/// What identifies a row: an image's calls on a path that succeeded, or failed with one errno.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    pub exec_id: String,
    pub path: String,
    /// The errno name; empty for successful calls.
    pub error: String,
}

/// What calls did to a file, as a set of [`access::ALL`] names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Access(u8);

impl Access {
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Self {
        let bits = names
            .iter()
            .filter_map(|name| access::ALL.iter().position(|a| *a == name.as_ref()))
            .fold(0, |bits, at| bits | 1 << at);
        Self(bits)
    }

    /// The names in [`access::ALL`] order.
    pub fn names(self) -> Vec<&'static str> {
        access::ALL
            .iter()
            .enumerate()
            .filter(|(at, _)| self.0 & 1 << at != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    pub fn contains(self, name: &str) -> bool {
        Self::from_names(&[name]).0 & self.0 != 0
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileRow {
    /// The image (exec_id, pid, uid, binary and pod).
    pub process: Process,
    /// Absolute path.
    pub path: String,
    /// The name the last call was given.
    pub name: String,
    /// The last call's syscall.
    pub syscall: String,
    pub access: Access,
    /// The last call's result: an fd, 0 or -errno.
    pub result: i64,
    /// The errno name of the row's failures; empty for successful calls.
    pub error: String,
    pub count: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl FileRow {
    pub fn key(&self) -> RowKey {
        RowKey {
            exec_id: self.process.exec_id.clone(),
            path: self.path.clone(),
            error: self.error.clone(),
        }
    }

    pub fn failed(&self) -> bool {
        !self.error.is_empty()
    }

    pub fn binary(&self) -> &str {
        &self.process.binary
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid
    }

    pub fn exec_id(&self) -> &str {
        &self.process.exec_id
    }

    pub fn from_event(event: &TetrascopeFileAccess) -> Self {
        FileRow {
            process: event.process.clone().unwrap_or_default(),
            path: event.path.clone(),
            name: event.name.clone(),
            syscall: event.syscall.clone(),
            access: Access::from_names(&event.access),
            result: event.result,
            error: event.error.clone(),
            count: event.count,
            first: event.first_time,
            last: event.last_time,
        }
    }

    pub fn to_event(&self) -> TetrascopeFileAccess {
        TetrascopeFileAccess {
            process: Some(self.process.clone()),
            path: self.path.clone(),
            name: self.name.clone(),
            syscall: self.syscall.clone(),
            access: self.access.names().into_iter().map(String::from).collect(),
            result: self.result,
            error: self.error.clone(),
            count: self.count,
            first_time: self.first,
            last_time: self.last,
        }
    }
}

/// Orders of [`FileTable::sorted`]; each puts the most interesting rows first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileSort {
    /// Most recently seen first.
    LastSeen,
    /// Earliest seen first.
    FirstSeen,
    /// Most calls first.
    Count,
    /// By path.
    Path,
    /// By binary, then path.
    Binary,
    /// Failed rows first, then most recently seen.
    Errors,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileTable {
    /// Each row with the sequence number of its last change.
    rows: HashMap<RowKey, (u64, FileRow)>,
    /// Keys by the sequence number of their last change: the front is the least recently seen.
    order: BTreeMap<u64, RowKey>,
    next: u64,
    capacity: usize,
    evicted: u64,
}

impl Default for FileTable {
    fn default() -> Self {
        Self::new(DEFAULT_FILE_ROWS)
    }
}

impl FileTable {
    pub fn new(capacity: usize) -> Self {
        Self {
            rows: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    /// Takes in a `tetrascope_file_access` event (it replaces its row); false for other events.
    pub fn apply(&mut self, body: &EventBody) -> bool {
        let EventBody::TetrascopeFileAccess(event) = body else {
            return false;
        };
        let row = FileRow::from_event(event);
        let key = row.key();
        *self.touch(key, |_| FileRow::default()) = row;
        true
    }

    /// The row of `key`, made by `new` when missing, marked as the most recently seen. A new row
    /// in a full table evicts the least recently seen one.
    pub fn touch(&mut self, key: RowKey, new: impl FnOnce(&RowKey) -> FileRow) -> &mut FileRow {
        let seq = self.next;
        self.next += 1;
        if let Some((old, _)) = self.rows.get(&key) {
            self.order.remove(old);
        } else {
            while self.rows.len() >= self.capacity {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.rows.remove(&oldest);
                self.evicted += 1;
            }
        }
        self.order.insert(seq, key.clone());
        let entry = self
            .rows
            .entry(key)
            .or_insert_with_key(|key| (seq, new(key)));
        entry.0 = seq;
        &mut entry.1
    }

    /// A mark for [`FileTable::changed_since`]: rows touched from now on come after it.
    pub fn mark(&self) -> u64 {
        self.next
    }

    /// The rows touched since `mark` (and still held), least recently seen first.
    pub fn changed_since(&self, mark: u64) -> impl Iterator<Item = &FileRow> {
        self.order
            .range(mark..)
            .filter_map(|(_, key)| self.get(key))
    }

    pub fn get(&self, key: &RowKey) -> Option<&FileRow> {
        self.rows.get(key).map(|(_, row)| row)
    }

    /// Every row, least recently seen first.
    pub fn rows(&self) -> impl Iterator<Item = &FileRow> {
        self.order.values().filter_map(|key| self.get(key))
    }

    /// Every row in `order` (ties: most recently seen first).
    pub fn sorted(&self, order: FileSort) -> Vec<&FileRow> {
        let mut rows: Vec<&FileRow> = self.rows().collect();
        rows.reverse();
        match order {
            FileSort::LastSeen => {}
            FileSort::FirstSeen => rows.sort_by_key(|row| row.first),
            FileSort::Count => rows.sort_by_key(|row| std::cmp::Reverse(row.count)),
            FileSort::Path => rows.sort_by(|a, b| a.path.cmp(&b.path)),
            FileSort::Binary => {
                rows.sort_by(|a, b| (a.binary(), &a.path).cmp(&(b.binary(), &b.path)))
            }
            FileSort::Errors => rows.sort_by_key(|row| !row.failed()),
        }
        rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows of failed calls.
    pub fn failed(&self) -> usize {
        self.rows.values().filter(|(_, row)| row.failed()).count()
    }

    /// Rows dropped to stay within capacity.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(exec_id: &str, path: &str, error: &str, count: u64) -> EventBody {
        EventBody::TetrascopeFileAccess(TetrascopeFileAccess {
            process: Some(Process {
                exec_id: exec_id.into(),
                binary: "/usr/bin/cat".into(),
                ..Process::default()
            }),
            path: path.into(),
            access: vec![access::READ.into()],
            error: error.into(),
            result: if error.is_empty() { 3 } else { -2 },
            count,
            first_time: Some(Timestamp {
                seconds: count as i64,
                nanos: 0,
            }),
            ..TetrascopeFileAccess::default()
        })
    }

    #[test]
    fn events_replace_their_rows() {
        let mut table = FileTable::default();
        assert!(table.apply(&event("a", "/etc/x", "", 1)));
        assert!(table.apply(&event("a", "/etc/x", "", 4)));
        assert!(table.apply(&event("a", "/etc/x", "ENOENT", 1)));
        assert!(!table.apply(&EventBody::Test(Default::default())));
        assert_eq!(table.len(), 2);
        assert_eq!(table.failed(), 1);
        let rows = table.sorted(FileSort::Count);
        assert_eq!(rows[0].count, 4);
        assert_eq!(table.sorted(FileSort::Errors)[0].error, "ENOENT");
        assert_eq!(
            rows[0].to_event(),
            match event("a", "/etc/x", "", 4) {
                EventBody::TetrascopeFileAccess(e) => e,
                _ => unreachable!(),
            }
        );
    }

    #[test]
    fn the_least_recently_seen_row_goes_first() {
        let mut table = FileTable::new(2);
        table.apply(&event("a", "/1", "", 1));
        table.apply(&event("a", "/2", "", 1));
        table.apply(&event("a", "/1", "", 2));
        table.apply(&event("a", "/3", "", 1));
        let paths: Vec<&str> = table.rows().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/1", "/3"]);
        assert_eq!(table.evicted(), 1);
        let newest: Vec<&str> = table
            .sorted(FileSort::LastSeen)
            .iter()
            .map(|r| r.path.as_str())
            .collect();
        assert_eq!(newest, ["/3", "/1"]);
    }

    #[test]
    fn rows_changed_since_a_mark() {
        let mut table = FileTable::default();
        table.apply(&event("a", "/1", "", 1));
        table.apply(&event("a", "/2", "", 1));
        let mark = table.mark();
        assert_eq!(table.changed_since(mark).count(), 0);
        table.apply(&event("a", "/1", "", 2));
        let changed: Vec<(&str, u64)> = table
            .changed_since(mark)
            .map(|r| (r.path.as_str(), r.count))
            .collect();
        assert_eq!(changed, [("/1", 2)]);
    }

    #[test]
    fn access_sets() {
        let set = Access::from_names(&["write", "read", "bogus"]);
        assert_eq!(set.names(), [access::READ, access::WRITE]);
        assert!(set.contains("read") && !set.contains("create"));
        let more = set.union(Access::from_names(&[access::CREATE]));
        assert_eq!(more.names(), [access::READ, access::WRITE, access::CREATE]);
    }
}
