//! Programs attached through a perf event with a BPF cookie, which aya's `TracePoint::attach`
//! and `KProbe::attach` do not set. The generic tracepoint program needs it: the kernel
//! overwrites the first 8 bytes of the record (`common_type` among them) with a `pt_regs`
//! pointer before a BPF program runs, so the cookie is how the program knows which tracepoint
//! fired. The kprobe and raw tracepoint programs find their hooks by it, as at uprobes.
use std::{
    ffi::CString,
    fs, io,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
};

use crate::policy::resolve::KPROBE_PMU_TYPE;

const PERF_TYPE_TRACEPOINT: u64 = 2;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PERF_EVENT: u64 = 41;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
/// `perf_event_attr` up to `config2` (PERF_ATTR_SIZE_VER1), in 64-bit words.
const ATTR_WORDS: usize = 9;

/// Detached when dropped (closing the link, then the perf event it may be on).
#[derive(Debug)]
pub struct CookieLink {
    _link: OwnedFd,
    _perf_event: Option<OwnedFd>,
}

/// Attaches `program` to the tracepoint with id `tracepoint` (its tracefs `id`), with `cookie`.
pub fn attach(program: BorrowedFd<'_>, tracepoint: u64, cookie: u64) -> io::Result<CookieLink> {
    let perf_event = open_perf_event(PERF_TYPE_TRACEPOINT, tracepoint, 0)?;
    link(program, perf_event, cookie)
}

/// Attaches `program` (a kprobe program) at the entry of kernel function `function`, or at its
/// return with `ret`, with `cookie`.
pub fn attach_kprobe(
    program: BorrowedFd<'_>,
    function: &str,
    ret: bool,
    cookie: u64,
) -> io::Result<CookieLink> {
    let pmu = read_number(KPROBE_PMU_TYPE)?;
    let config = if ret { 1 << retprobe_bit()? } else { 0 };
    let name = CString::new(function).map_err(io::Error::other)?;
    let perf_event = open_perf_event(pmu, config, name.as_ptr() as u64)?;
    link(program, perf_event, cookie)
}

/// Attaches `program` (a raw tracepoint program) to the raw tracepoint `name`, with `cookie`
/// (kernels from 6.10 take one).
pub fn attach_raw_tracepoint(
    program: BorrowedFd<'_>,
    name: &str,
    cookie: u64,
) -> io::Result<CookieLink> {
    let name = CString::new(name).map_err(io::Error::other)?;
    // bpf_attr.raw_tracepoint: name, prog_fd, padding, cookie (name outlives the call).
    let attr = [name.as_ptr() as u64, program.as_raw_fd() as u64, cookie];
    Ok(CookieLink {
        _link: bpf_new_fd(BPF_RAW_TRACEPOINT_OPEN, &attr)?,
        _perf_event: None,
    })
}

/// A perf event of `kind` on every CPU, counting for every process, with `config` and `config1`
/// (a kprobe's function name); no sampling (period 0), wake-up after every event.
fn open_perf_event(kind: u64, config: u64, config1: u64) -> io::Result<OwnedFd> {
    let mut attr = [0u64; ATTR_WORDS];
    attr[0] = kind | ((8 * ATTR_WORDS as u64) << 32);
    attr[1] = config;
    attr[6] = 1; // wakeup_events
    attr[7] = config1;
    // SAFETY: attr is a valid perf_event_attr of the size it declares, and the string config1
    // may point to outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            0 as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn link(program: BorrowedFd<'_>, perf_event: OwnedFd, cookie: u64) -> io::Result<CookieLink> {
    // bpf_attr.link_create: prog_fd, target_fd, attach_type, flags, then perf_event.bpf_cookie.
    let attr = [
        program.as_raw_fd() as u64 | (perf_event.as_raw_fd() as u64) << 32,
        BPF_PERF_EVENT,
        cookie,
        0,
    ];
    Ok(CookieLink {
        _link: bpf_new_fd(BPF_LINK_CREATE, &attr)?,
        _perf_event: Some(perf_event),
    })
}

/// A `bpf` command that returns a new fd, with `attr` as the prefix of its `bpf_attr`.
fn bpf_new_fd(command: libc::c_long, attr: &[u64]) -> io::Result<OwnedFd> {
    // SAFETY: attr is a valid bpf_attr prefix of the size passed, and what its words point to
    // outlives the call (the callers' duty).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr.as_ptr(),
            size_of_val(attr) as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The bit of `config` that makes a kprobe a kretprobe (`config:0` in the PMU's format).
fn retprobe_bit() -> io::Result<u32> {
    let format = fs::read_to_string("/sys/bus/event_source/devices/kprobe/format/retprobe")?;
    format
        .trim()
        .strip_prefix("config:")
        .and_then(|bit| bit.parse().ok())
        .ok_or_else(|| io::Error::other(format!("kprobe retprobe format {format:?}")))
}

fn read_number(path: &str) -> io::Result<u64> {
    fs::read_to_string(path)?
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("{path}: not a number")))
}
