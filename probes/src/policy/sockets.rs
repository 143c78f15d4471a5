//! Socket arguments (`sock`, `socket`, `sockaddr`, a socket fd) as a `SockRecord` in a string
//! slot, and the socket operators on them (SAddr, DPort, Family, State…).
use core::ffi::c_void;

use aya_ebpf::{
    helpers::generated::{bpf_probe_read_kernel, bpf_probe_read_user},
    macros::map,
    maps::{LpmTrie, PerCpuArray, lpm_trie::Key},
};
use tetrascope_shared::{
    policy::{AddressMatch, ArgFilter, MAX_ADDRESSES, SockRecord, StringArg},
    policy_semantics::{AF_INET, AF_INET6},
};

use crate::kernel;

/// The CIDRs of the address operators, by filter (IPv4 mapped into IPv6).
#[map]
pub static ADDRESSES: LpmTrie<AddressMatch, u8> = LpmTrie::with_max_entries(MAX_ADDRESSES, 0);

/// Per-CPU scratch: an `ADDRESSES` lookup key.
#[map]
static ADDRESS_KEY: PerCpuArray<Key<AddressMatch>> = PerCpuArray::with_max_entries(1, 0);

/// The slot's `SockRecord`, emptied, with the slot's length set to hold it.
#[inline(always)]
fn record_in(slot: *mut StringArg) -> &'static mut SockRecord {
    let slot = unsafe { &mut *slot };
    slot.start = 0;
    slot.status = 0;
    slot.len = size_of::<SockRecord>() as u32;
    let record = unsafe { &mut *((&raw mut slot.bytes) as *mut SockRecord) };
    *record = SockRecord::default();
    record
}

/// The family, type, protocol, state, addresses and ports of the `struct sock` at `sock`.
#[inline(always)]
pub fn read_sock(sock: usize, slot: *mut StringArg) -> bool {
    let out = record_in(slot);
    let Ok(family) = kernel::kread::<u16>(sock, kernel::off!(sock_family)) else {
        return false;
    };
    out.family = family;
    out.kind = kernel::kread(sock, kernel::off!(sock_type)).unwrap_or(0);
    out.protocol = kernel::kread(sock, kernel::off!(sock_protocol)).unwrap_or(0);
    out.state = kernel::kread(sock, kernel::off!(sock_state)).unwrap_or(0);
    out.sport = kernel::kread(sock, kernel::off!(sock_sport)).unwrap_or(0);
    out.dport = u16::from_be(kernel::kread(sock, kernel::off!(sock_dport)).unwrap_or(0));
    // AF_INET6: the 16-byte addresses; otherwise the IPv4 ones.
    let (saddr, daddr, size) = if family == AF_INET6 {
        (kernel::off!(sock_v6_saddr), kernel::off!(sock_v6_daddr), 16)
    } else {
        (kernel::off!(sock_saddr), kernel::off!(sock_daddr), 4)
    };
    unsafe {
        bpf_probe_read_kernel(
            (&raw mut out.saddr) as *mut c_void,
            size,
            (sock + saddr) as *const c_void,
        );
        bpf_probe_read_kernel(
            (&raw mut out.daddr) as *mut c_void,
            size,
            (sock + daddr) as *const c_void,
        );
    }
    true
}

/// The sock of the `struct socket` at `socket`.
#[inline(always)]
pub fn read_socket(socket: usize, slot: *mut StringArg) -> bool {
    match kernel::kread::<usize>(socket, kernel::off!(socket_sk)) {
        Ok(sock) if sock != 0 => read_sock(sock, slot),
        _ => false,
    }
}

/// The sock of the socket at `fd` of the current task; false when the fd is no socket.
#[inline(always)]
pub fn read_socket_fd(task: usize, fd: u64, slot: *mut StringArg) -> bool {
    const S_IFMT: u16 = 0o170000;
    const S_IFSOCK: u16 = 0o140000;
    let Ok(file) = kernel::fd_file(task, fd) else {
        return false;
    };
    if file == 0 {
        return false;
    }
    let is_socket = kernel::kread::<usize>(file, kernel::off!(file_f_inode))
        .and_then(|inode| kernel::kread::<u16>(inode, kernel::off!(inode_i_mode)))
        .is_ok_and(|mode| mode & S_IFMT == S_IFSOCK);
    if !is_socket {
        return false;
    }
    match kernel::kread::<usize>(file, kernel::off!(file_private_data)) {
        Ok(socket) if socket != 0 => read_socket(socket, slot),
        _ => false,
    }
}

/// The family of the `struct sockaddr` at `address` (user or kernel memory) and, for IPv4 and
/// IPv6, its address and port as the record's source ones.
#[inline(always)]
pub fn read_sockaddr(address: u64, user: bool, slot: *mut StringArg) -> bool {
    let out = record_in(slot);
    let read = |into: *mut c_void, size: u32, offset: u64| unsafe {
        let from = (address + offset) as *const c_void;
        match user {
            true => bpf_probe_read_user(into, size, from),
            false => bpf_probe_read_kernel(into, size, from),
        }
    };
    if read((&raw mut out.family) as *mut c_void, 2, 0) != 0 {
        return false;
    }
    // sockaddr_in: port at 2, address at 4; sockaddr_in6: port at 2, address at 8.
    let (at, size) = match out.family {
        AF_INET => (4, 4),
        AF_INET6 => (8, 16),
        _ => return true,
    };
    let mut port = 0u16;
    read((&raw mut port) as *mut c_void, 2, 2);
    out.sport = u16::from_be(port);
    read((&raw mut out.saddr) as *mut c_void, size, at);
    true
}

/// A socket operator on the `SockRecord` in `slot`: an address one looks the address up among
/// the filter's CIDRs. A call, not inlined into each filter of each selector: that took the
/// verifier from 122k to 155k instructions.
#[inline(never)]
pub fn matches(filter: &ArgFilter, slot: *const StringArg) -> bool {
    let sock = unsafe { &*((&raw const (*slot).bytes) as *const SockRecord) };
    let listed = match filter.compared_address(sock) {
        Some(address) => is_listed(filter.strings, address),
        None => false,
    };
    filter.matches_socket(sock, listed)
}

/// Whether one of filter `filter`'s CIDRs holds `address`.
#[inline(always)]
fn is_listed(filter: u32, address: [u8; 16]) -> bool {
    let Some(key) = ADDRESS_KEY.get_ptr_mut(0) else {
        return false;
    };
    unsafe {
        (*key).prefix_len = 32 + 128;
        (*key).data.filter = filter;
        (*key).data.address = address;
        ADDRESSES.get(&*key).is_some()
    }
}
