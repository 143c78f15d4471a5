//! File access on the real kernel (root): paths resolved through relative names, symlinks and
//! mounts; failed opens with their errno; opens as Tetragon's `fd_install` events too.
mod common;

use std::{
    fs,
    os::unix::fs::{PermissionsExt, symlink},
    path::Path,
    process::{Command, Stdio},
};

use common::{LiveCapture, decode_events, marker_dir, require_root};
use serde_json::Value;
use tetrascope::model::{FileRow, FileTable};

fn cat_in(dir: &Path, name: &str) -> bool {
    Command::new("/usr/bin/cat")
        .arg(name)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// The file table the capture's `tetrascope_file_access` events build.
fn table_of(events: &[Value]) -> FileTable {
    let mut table = FileTable::default();
    for event in decode_events(events) {
        table.apply(&event.body);
    }
    table
}

/// The rows of `cat` on `path`.
fn cat_rows<'a>(table: &'a FileTable, path: &str) -> Vec<&'a FileRow> {
    table
        .rows()
        .filter(|row| row.binary() == "/usr/bin/cat" && row.path == path)
        .collect()
}

#[test]
fn paths_resolve_through_relative_names_symlinks_and_mounts() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("files-resolve");
    let nested = dir.join("a/b");
    fs::create_dir_all(&nested).unwrap();
    fs::create_dir_all(dir.join("real")).unwrap();
    fs::write(dir.join("real/data.txt"), "data\n").unwrap();
    let _ = fs::remove_file(dir.join("a/data-link"));
    let _ = fs::remove_file(dir.join("a/proc-link"));
    symlink(dir.join("real/data.txt"), dir.join("a/data-link")).unwrap();
    symlink("/proc", dir.join("a/proc-link")).unwrap();

    let capture = LiveCapture::start(&["-e", "TETRASCOPE_FILE_ACCESS,PROCESS_KPROBE"]);
    assert!(cat_in(&nested, "../data-link"));
    assert!(cat_in(&nested, "../proc-link/version"));
    let (events, _) = capture.stop();

    let table = table_of(&events);
    let data = dir.join("real/data.txt").display().to_string();
    let rows = cat_rows(&table, &data);
    assert_eq!(rows.len(), 1, "{:#?}", table.rows().collect::<Vec<_>>());
    assert_eq!(
        rows[0].name, "../data-link",
        "the call's own argument is kept"
    );
    assert!(!rows[0].failed() && rows[0].result >= 0);
    assert!(rows[0].access.contains("read"));
    assert_eq!(rows[0].syscall, "openat");
    let proc_rows = cat_rows(&table, "/proc/version");
    assert_eq!(proc_rows.len(), 1, "across the /proc mount");
    assert_eq!(proc_rows[0].name, "../proc-link/version");

    // Each open is also Tetragon's fd_install kprobe.
    let opened: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.get("process_kprobe"))
        .filter(|k| k["function_name"] == "fd_install" && k["process"]["binary"] == "/usr/bin/cat")
        .collect();
    for path in [&data, "/proc/version"] {
        let open = opened
            .iter()
            .find(|k| k["args"][1]["file_arg"]["path"] == *path)
            .unwrap_or_else(|| panic!("no fd_install of {path}: {opened:#?}"));
        assert!(open["args"][0]["int_arg"].as_i64().unwrap() >= 0);
        assert_eq!(open["action"], "KPROBE_ACTION_POST");
        assert_eq!(open["process"]["cwd"], nested.display().to_string());
    }
}

#[test]
fn failed_opens_carry_their_errno() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("files-errors");
    let secret = dir.join("secret");
    fs::write(&secret, "secret\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();

    let capture = LiveCapture::start(&["-e", "TETRASCOPE_FILE_ACCESS"]);
    assert!(!cat_in(&dir, "missing.txt"));
    let denied = Command::new("/usr/bin/setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/cat",
        ])
        .arg(&secret)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!denied.success());
    let (events, _) = capture.stop();

    let table = table_of(&events);
    let missing = cat_rows(&table, &dir.join("missing.txt").display().to_string());
    assert_eq!(missing.len(), 1, "{:#?}", table.rows().collect::<Vec<_>>());
    assert_eq!(
        (missing[0].error.as_str(), missing[0].result),
        ("ENOENT", -2)
    );
    assert_eq!(missing[0].name, "missing.txt");
    let secret_rows = cat_rows(&table, &secret.display().to_string());
    assert_eq!(
        secret_rows.len(),
        1,
        "{:#?}",
        table.rows().collect::<Vec<_>>()
    );
    assert_eq!(
        (secret_rows[0].error.as_str(), secret_rows[0].result),
        ("EACCES", -13)
    );
    assert_eq!(secret_rows[0].process.uid, Some(65534));
}
