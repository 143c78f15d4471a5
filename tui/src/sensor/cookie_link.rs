//! A program attached to a tracepoint with a BPF cookie, which aya's `TracePoint::attach` does
//! not set. The generic tracepoint program needs it: the kernel overwrites the first 8 bytes of
//! the record (`common_type` among them) with a `pt_regs` pointer before a BPF program runs, so
//! the cookie is how the program knows which tracepoint fired.
use std::{
    io,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
};

const PERF_TYPE_TRACEPOINT: u64 = 2;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PERF_EVENT: u64 = 41;

/// Detached when dropped (closing the link, then the perf event).
#[derive(Debug)]
pub struct CookieLink {
    _link: OwnedFd,
    _perf_event: OwnedFd,
}

/// Attaches `program` to the tracepoint with id `tracepoint` (its tracefs `id`), with `cookie`.
pub fn attach(program: BorrowedFd<'_>, tracepoint: u64, cookie: u64) -> io::Result<CookieLink> {
    // perf_event_attr as of its first version (64 bytes): type, size, config; no sampling
    // (period 0), wake-up after every event.
    let mut attr = [0u64; 8];
    attr[0] = PERF_TYPE_TRACEPOINT | (64 << 32);
    attr[1] = tracepoint;
    attr[6] = 1; // wakeup_events
    // SAFETY: attr is a valid perf_event_attr of the size it declares.
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
    let perf_event = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // bpf_attr.link_create: prog_fd, target_fd, attach_type, flags, then perf_event.bpf_cookie.
    let attr: [u64; 4] = [
        program.as_raw_fd() as u64 | (perf_event.as_raw_fd() as u64) << 32,
        BPF_PERF_EVENT,
        cookie,
        0,
    ];
    // SAFETY: attr is a valid bpf_attr prefix of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_LINK_CREATE,
            attr.as_ptr(),
            size_of_val(&attr) as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(CookieLink {
        // SAFETY: as above.
        _link: unsafe { OwnedFd::from_raw_fd(fd as i32) },
        _perf_event: perf_event,
    })
}
