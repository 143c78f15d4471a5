//! tracefs: mounted on demand (a fresh machine has it unmounted), and the field offsets of the
//! tracepoints the probes read.
use std::{ffi::CString, fs, path::Path};

use anyhow::{Context, Result, anyhow, bail};
use tetrascope_shared::TracepointFields;

pub const TRACEFS: &str = "/sys/kernel/tracing";

/// Mounts tracefs at its usual place when it is not there yet. Returns true when it mounted it.
pub fn ensure_mounted() -> Result<bool> {
    if Path::new(TRACEFS).join("events").is_dir() {
        return Ok(false);
    }
    let target = CString::new(TRACEFS)?;
    let fstype = CString::new("tracefs")?;
    let source = CString::new("nodev")?;
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        bail!(
            "tracefs is not mounted and mounting it at {TRACEFS} failed: {} (run as root)",
            std::io::Error::last_os_error()
        );
    }
    Ok(true)
}

/// Offsets of the tracepoint fields the probes read, from each event's `format` file.
pub fn tracepoint_fields() -> Result<TracepointFields> {
    let exec = format_of("sched", "sched_process_exec")?;
    let newtask = format_of("task", "task_newtask")?;
    Ok(TracepointFields {
        exec_filename: field_offset(&exec, "filename")?,
        exec_old_pid: field_offset(&exec, "old_pid")?,
        newtask_pid: field_offset(&newtask, "pid")?,
        newtask_clone_flags: field_offset(&newtask, "clone_flags")?,
    })
}

/// Whether the kernel has the syscall tracepoint `syscalls:NAME` (e.g. `sys_exit_openat2`).
pub fn syscall_event_exists(name: &str) -> bool {
    Path::new(TRACEFS)
        .join("events/syscalls")
        .join(name)
        .is_dir()
}

/// Checks the record layout the policy programs assume for `syscalls:NAME`: the syscall number
/// at 8, then the arguments (or the return value) from 16.
pub fn check_syscall_layout(name: &str) -> Result<()> {
    let format = format_of("syscalls", name)?;
    let nr = field_offset(&format, "__syscall_nr")?;
    let first = if name.starts_with("sys_exit_") {
        Some(field_offset(&format, "ret")?)
    } else {
        first_field_after(&format, "__syscall_nr")
    };
    if nr != 8 || first.is_some_and(|offset| offset != 16) {
        bail!(
            "syscalls:{name} has an unexpected record layout (__syscall_nr at {nr}, arguments at {first:?})"
        );
    }
    Ok(())
}

/// The offset of the field declared after `name`, if any.
fn first_field_after(format: &str, name: &str) -> Option<u32> {
    let mut fields = format
        .lines()
        .filter_map(|line| line.trim().strip_prefix("field:"));
    fields.find(|decl| decl.split(';').next().is_some_and(|d| d.ends_with(name)))?;
    let next = fields.next()?;
    next.split(';')
        .find_map(|p| p.trim().strip_prefix("offset:"))?
        .parse()
        .ok()
}

fn format_of(category: &str, name: &str) -> Result<String> {
    let path = format!("{TRACEFS}/events/{category}/{name}/format");
    fs::read_to_string(&path).with_context(|| format!("reading {path}"))
}

/// Finds `field:<type> <name>;\toffset:<n>;` in a tracepoint format description.
fn field_offset(format: &str, name: &str) -> Result<u32> {
    for line in format.lines() {
        let Some(decl) = line.trim().strip_prefix("field:") else {
            continue;
        };
        let mut parts = decl.split(';');
        let declaration = parts.next().unwrap_or_default();
        let declared_name = declaration
            .rsplit(|c: char| c.is_whitespace() || c == '*')
            .next()
            .unwrap_or_default();
        let declared_name = declared_name.split('[').next().unwrap_or_default();
        if declared_name != name {
            continue;
        }
        let offset = parts
            .find_map(|p| p.trim().strip_prefix("offset:"))
            .ok_or_else(|| anyhow!("field {name} has no offset"))?;
        return offset
            .parse()
            .with_context(|| format!("field {name}: offset {offset:?}"));
    }
    bail!("tracepoint field {name} not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC_FORMAT: &str = "name: sched_process_exec\nID: 365\nformat:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
        \tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\
        \tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n\
        \tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n";

    #[test]
    fn finds_fields_by_name_not_by_suffix() {
        assert_eq!(field_offset(EXEC_FORMAT, "filename").unwrap(), 8);
        assert_eq!(field_offset(EXEC_FORMAT, "pid").unwrap(), 12);
        assert_eq!(field_offset(EXEC_FORMAT, "old_pid").unwrap(), 16);
        assert!(field_offset(EXEC_FORMAT, "comm").is_err());
    }

    #[test]
    fn array_fields_are_named_without_their_length() {
        let format = "\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n";
        assert_eq!(field_offset(format, "comm").unwrap(), 12);
    }
}
