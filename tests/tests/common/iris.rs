//! The IRIS key and policy of the enforcement tests (../shared/policies/iris-read-file-sigkill.yaml
//! SIGKILLs readers of the key).
use std::{
    path::Path,
    process::{Command, Output},
    sync::{Mutex, MutexGuard},
};

pub const IRIS_KEY: &str = "/usr/irissys/mgr/iris.key";

/// An enforcing policy acts on every process of the host, the other tests' included: one
/// policy test at a time in a test binary.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn ensure_iris_key() {
    std::fs::create_dir_all(Path::new(IRIS_KEY).parent().unwrap()).unwrap();
    std::fs::write(IRIS_KEY, "IRIS-LICENSE-KEY\n").unwrap();
}

/// The IRIS policy file.
pub fn iris_policy() -> String {
    super::shared_dir()
        .join("policies/iris-read-file-sigkill.yaml")
        .display()
        .to_string()
}

/// `head -c 5 KEY`, a reader the policy catches (read(2); `cat KEY > FILE` would use
/// copy_file_range, which the policy does not hook).
pub fn read_key() -> Output {
    Command::new("/usr/bin/head")
        .args(["-c", "5", IRIS_KEY])
        .output()
        .unwrap()
}
