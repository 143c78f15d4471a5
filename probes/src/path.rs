//! Turns a `struct path` (mount + dentry) into its components, the way the kernel's
//! `prepend_path()` does: walk `d_parent` up to the mount's root, then hop to the parent mount.
use core::{
    ffi::c_void,
    ptr::{read_volatile, write_volatile},
};

use aya_ebpf::helpers::generated::bpf_probe_read_kernel_str;
use tetrascope_shared::{MAX_PATH_COMPONENTS, NAME_SLOT, PATH_AREA, PathBuf, path_status};

use crate::kernel::{kread, off};

/// Mount crossings allowed on top of the components.
const MAX_MOUNT_HOPS: usize = 8;

/// Writes the components of `path` (leaf first, NUL-terminated) into `out`, stopping at the
/// task's root `root` (so chrooted and containerised processes see their own paths).
///
/// The loop-carried counters live in `out` and are read with volatile loads: kept in registers,
/// the two kinds of iteration (component / mount hop) never merge in the verifier and its state
/// count doubles each round (kernel.md, pitfall 1).
#[inline(always)]
pub fn resolve(path: usize, root: usize, out: *mut PathBuf) {
    unsafe {
        write_volatile(&raw mut (*out).components, 0);
        write_volatile(&raw mut (*out).len, 0);
    }
    let status = walk(path, root, out).unwrap_or(path_status::ERROR);
    unsafe { write_volatile(&raw mut (*out).status, status) };
}

#[inline(always)]
fn walk(path: usize, root: usize, out: *mut PathBuf) -> Result<u32, i32> {
    let root_mnt: usize = kread(root, off!(path_mnt))?;
    let root_dentry: usize = kread(root, off!(path_dentry))?;
    let mut vfsmnt: usize = kread(path, off!(path_mnt))?;
    let mut dentry: usize = kread(path, off!(path_dentry))?;
    let mut mnt = vfsmnt - off!(mount_mnt); // container_of(vfsmnt, struct mount, mnt)
    let bytes = unsafe { (&raw mut (*out).bytes) as *mut u8 };
    for _ in 0..(MAX_PATH_COMPONENTS + MAX_MOUNT_HOPS) {
        if dentry == root_dentry && vfsmnt == root_mnt {
            return Ok(path_status::COMPLETE);
        }
        let mnt_root: usize = kread(vfsmnt, off!(vfsmount_mnt_root))?;
        if dentry == mnt_root {
            let parent_mnt: usize = kread(mnt, off!(mount_mnt_parent))?;
            if parent_mnt == mnt || parent_mnt == 0 {
                return Ok(path_status::COMPLETE);
            }
            dentry = kread(mnt, off!(mount_mnt_mountpoint))?;
            mnt = parent_mnt;
            vfsmnt = mnt + off!(mount_mnt);
            continue;
        }
        let parent: usize = kread(dentry, off!(dentry_d_parent))?;
        if parent == dentry {
            return Ok(path_status::COMPLETE);
        }
        let count = unsafe { read_volatile(&raw const (*out).components) };
        if count as usize >= MAX_PATH_COMPONENTS {
            return Ok(path_status::TRUNCATED);
        }
        let name: usize = kread(dentry, off!(dentry_d_name) + off!(qstr_name))?;
        let at = (unsafe { read_volatile(&raw const (*out).len) } as usize) & (PATH_AREA - 1);
        let written = unsafe {
            bpf_probe_read_kernel_str(
                bytes.add(at) as *mut c_void,
                NAME_SLOT as u32,
                name as *const c_void,
            )
        };
        if written <= 0 {
            return Err(written as i32);
        }
        let end = at + written as usize;
        unsafe {
            write_volatile(&raw mut (*out).len, end as u32);
            write_volatile(&raw mut (*out).components, count + 1);
        }
        if end >= PATH_AREA {
            return Ok(path_status::TRUNCATED);
        }
        dentry = parent;
    }
    Ok(path_status::TRUNCATED)
}
