//! The syscall and file panes' state: the statistics and the file table built from the stream
//! (live or replayed alike), and how the user looks at them (sort orders, top binaries, the
//! file filter and selection).
use crossterm::event::{KeyCode, KeyEvent};
use fuzzy_matcher::{FuzzyMatcher, skim::SkimMatcherV2};

use crate::{
    event::{Event, EventBody},
    model::{FileRow, FileSort, FileTable, StatsOrder, SyscallStats},
};

/// File sort orders in the order `s` cycles through them.
const FILE_SORTS: [FileSort; 6] = [
    FileSort::LastSeen,
    FileSort::Errors,
    FileSort::Count,
    FileSort::Path,
    FileSort::Binary,
    FileSort::FirstSeen,
];

pub struct Insight {
    pub syscalls: SyscallStats,
    pub files: FileTable,
    pub syscall_order: StatsOrder,
    /// Show the busiest binaries instead of the selected process.
    pub top_binaries: bool,
    pub file_sort: FileSort,
    /// Fuzzy filter over path and binary.
    pub file_filter: String,
    pub file_filter_editing: bool,
    pub file_selected: usize,
    /// Live: whether the probes count syscalls (None in a replay).
    pub counting: Option<bool>,
    /// A request for the runner: switch counting to this.
    pub counting_request: Option<bool>,
}

impl Default for Insight {
    fn default() -> Self {
        Insight {
            syscalls: SyscallStats::default(),
            files: FileTable::default(),
            syscall_order: StatsOrder::Total,
            top_binaries: false,
            file_sort: FileSort::LastSeen,
            file_filter: String::new(),
            file_filter_editing: false,
            file_selected: 0,
            counting: None,
            counting_request: None,
        }
    }
}

impl Insight {
    /// Takes in statistics and file-access records; true when the event was one (it then has
    /// no place in the stream or the tree).
    pub fn apply(&mut self, event: &Event) -> bool {
        match &event.body {
            EventBody::TetrascopeSyscallStats(_) => self.syscalls.apply(event),
            EventBody::TetrascopeFileAccess(_) => self.files.apply(&event.body),
            _ => false,
        }
    }

    /// The file rows as shown: sorted, filtered by the fuzzy filter (best matches first when
    /// filtering).
    pub fn visible_files(&self) -> Vec<&FileRow> {
        let rows = self.files.sorted(self.file_sort);
        if self.file_filter.is_empty() {
            return rows;
        }
        let matcher = SkimMatcherV2::default();
        let mut scored: Vec<(i64, &FileRow)> = rows
            .into_iter()
            .filter_map(|row| {
                let haystack = format!("{} {}", row.path, row.binary());
                matcher
                    .fuzzy_match(&haystack, &self.file_filter)
                    .map(|score| (score, row))
            })
            .collect();
        scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
        scored.into_iter().map(|(_, row)| row).collect()
    }

    pub fn selected_file(&self) -> Option<&FileRow> {
        self.visible_files().get(self.file_selected).copied()
    }

    pub fn cycle_file_sort(&mut self) {
        let at = FILE_SORTS
            .iter()
            .position(|s| *s == self.file_sort)
            .unwrap_or(0);
        self.file_sort = FILE_SORTS[(at + 1) % FILE_SORTS.len()];
        self.file_selected = 0;
    }

    pub fn toggle_syscall_order(&mut self) {
        self.syscall_order = match self.syscall_order {
            StatsOrder::Total => StatsOrder::Rate,
            StatsOrder::Rate => StatsOrder::Total,
        };
    }

    pub fn move_file_selection(&mut self, delta: isize, to_end: Option<bool>) {
        let last = self.visible_files().len().saturating_sub(1);
        self.file_selected = match to_end {
            Some(false) => 0,
            Some(true) => last,
            None => self.file_selected.saturating_add_signed(delta).min(last),
        };
    }

    /// Editing the file filter: typing narrows, Enter keeps it, Esc clears it.
    pub fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Char(c) => self.file_filter.push(c),
            KeyCode::Backspace => {
                self.file_filter.pop();
            }
            KeyCode::Enter => self.file_filter_editing = false,
            KeyCode::Esc => {
                self.file_filter_editing = false;
                self.file_filter.clear();
            }
            _ => {}
        }
        self.file_selected = 0;
    }
}
