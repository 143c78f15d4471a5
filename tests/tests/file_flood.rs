//! A flood of opens on the real kernel (root): file records give way, process events do not.
//! Alone in its test binary, so that the flood does not crowd out other tests' file events.
mod common;

use std::{ffi::CString, process::Command};

use common::{LiveCapture, execs, exits, marker_dir, require_root};
use serde_json::Value;

#[test]
fn a_flood_of_opens_costs_no_process_event() {
    if !require_root() {
        return;
    }
    const FLOOD: u32 = 300_000;
    const EXECS: usize = 200;
    let dir = marker_dir("files-flood");
    let capture = LiveCapture::start(&["-e", "PROCESS_EXEC,PROCESS_EXIT"]);
    let missing = CString::new(dir.join("missing").to_str().unwrap()).unwrap();
    // SAFETY: the child only makes async-signal-safe calls (open, _exit).
    let flooder = unsafe { libc::fork() };
    if flooder == 0 {
        for _ in 0..FLOOD {
            // SAFETY: a valid C string; the open fails.
            unsafe { libc::open(missing.as_ptr(), libc::O_RDONLY) };
        }
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    for _ in 0..EXECS {
        let done = Command::new("/bin/true")
            .current_dir(&dir)
            .env_remove("LD_LIBRARY_PATH")
            .status()
            .unwrap();
        assert!(done.success());
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(flooder, &mut status, 0) };
    let (events, stderr) = capture.stop();
    let cwd = dir.display().to_string();
    let in_dir = |found: Vec<&Value>| found.iter().filter(|e| e["process"]["cwd"] == cwd).count();
    assert_eq!(in_dir(execs(&events)), EXECS);
    assert_eq!(in_dir(exits(&events)), EXECS);
    assert!(stderr.contains("lost in kernel: 0,"), "{stderr}");
}
