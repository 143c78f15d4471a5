//! File calls from the probes: each successful open as Tetragon's `fd_install` kprobe event at
//! once, and every call into a row of the file-access table, whose changed rows go out as
//! `tetrascope_file_access` events each tick.
use serde_json::json;

use crate::{
    event::{
        EventBody, Process, ProcessKprobe, Timestamp, errno_name,
        syscalls::{native_abi, syscall_name},
    },
    model::{Access, FileRow, FileTable, RowKey},
    sensor::FileAccess,
};

pub(super) struct FileLog {
    table: FileTable,
    /// The table's mark at the last tick.
    sent: u64,
}

impl FileLog {
    pub(super) fn new() -> Self {
        Self {
            table: FileTable::default(),
            sent: 0,
        }
    }

    /// Adds a call by the image `exec_id` at `time` to its row; `process` makes the image's
    /// process for a new row.
    pub(super) fn record(
        &mut self,
        exec_id: &str,
        process: impl FnOnce() -> Process,
        call: &FileAccess,
        time: Timestamp,
    ) {
        let error = if call.ret < 0 {
            errno_name(-call.ret)
        } else {
            String::new()
        };
        let key = RowKey {
            exec_id: exec_id.to_owned(),
            path: call.path(),
            error,
        };
        let row = self.table.touch(key, |key| FileRow {
            process: process(),
            path: key.path.clone(),
            error: key.error.clone(),
            first: Some(time),
            ..FileRow::default()
        });
        row.count += 1;
        row.last = Some(time);
        if row.name != call.name {
            row.name.clone_from(&call.name);
        }
        let syscall = syscall_name(native_abi(), call.syscall.into()).unwrap_or_default();
        if row.syscall != syscall {
            row.syscall = syscall.to_owned();
        }
        row.access = row.access.union(Access::from_names(&call.access()));
        row.result = call.ret;
    }

    /// The rows that changed since the last tick (those still held).
    pub(super) fn tick(&mut self) -> Vec<EventBody> {
        let changed = self
            .table
            .changed_since(self.sent)
            .map(|row| EventBody::TetrascopeFileAccess(row.to_event()))
            .collect();
        self.sent = self.table.mark();
        changed
    }

    /// Rows dropped to stay within the table's capacity.
    pub(super) fn evicted(&self) -> u64 {
        self.table.evicted()
    }
}

/// A successful open as Tetragon reports `fd_install`: the fd, then the file.
pub(super) fn fd_install(
    call: &FileAccess,
    process: Option<Process>,
    parent: Option<Process>,
) -> EventBody {
    EventBody::ProcessKprobe(ProcessKprobe {
        process,
        parent,
        function_name: "fd_install".into(),
        args: vec![
            json!({ "int_arg": call.ret }),
            json!({ "file_arg": { "path": call.path() } }),
        ],
        action: "KPROBE_ACTION_POST".into(),
        ..ProcessKprobe::default()
    })
}
