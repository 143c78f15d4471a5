//! Tetragon's process `flags` string: space-separated names in bit order.
use tetrascope_shared::exec_flags;

pub const EXECVE: u32 = 0x01;
pub const PROCFS: u32 = 0x04;
pub const MISS: u32 = 0x40;
pub const ROOTCWD: u32 = 0x1000;
pub const CLONE: u32 = 0x4000;

const NAMES: [(u32, &str); 11] = [
    (EXECVE, "execve"),
    (PROCFS, "procFS"),
    (exec_flags::TRUNC_ARGS, "truncArgs"),
    (MISS, "miss"),
    (exec_flags::ERROR_FILENAME, "errorFilename"),
    (exec_flags::ERROR_ARGS, "errorArgs"),
    (exec_flags::NO_CWD, "nocwd"),
    (ROOTCWD, "rootcwd"),
    (exec_flags::ERROR_CWD, "errorCWD"),
    (CLONE, "clone"),
    (0x2000000, "inInitTree"),
];

pub fn flag_string(bits: u32) -> String {
    let mut out = String::new();
    for (bit, name) in NAMES {
        if bits & bit != 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_tetragons_order() {
        assert_eq!(
            flag_string(EXECVE | CLONE | ROOTCWD),
            "execve rootcwd clone"
        );
        assert_eq!(flag_string(PROCFS), "procFS");
        assert_eq!(flag_string(0), "");
    }
}
