//! Turns a `struct path` (mount + dentry) into its components, the way the kernel's
//! `prepend_path()` does: walk `d_parent` up to the mount's root, then hop to the parent mount.
use core::{
    ffi::c_void,
    ptr::{read_volatile, write_volatile},
};

use aya_ebpf::helpers::generated::{bpf_probe_read_kernel, bpf_probe_read_kernel_str};
use tetrascope_shared::{
    MAX_PATH_COMPONENTS, NAME_SLOT, PATH_AREA, PathBuf, path_status,
    policy::{STRING_AREA, StringArg},
};

use crate::kernel::{kread, off};

/// Mount crossings allowed on top of the components.
const MAX_MOUNT_HOPS: usize = 8;

/// Receives the components of a path, leaf first. Its state lives in the output memory (not in
/// registers): kept in registers, the two kinds of walk iteration (component / mount hop) never
/// merge in the verifier and its state count doubles each round (kernel.md, pitfall 1).
pub trait Components {
    /// Adds the component named by the kernel string at `name`; `Ok(false)` when out of room.
    fn push(&mut self, name: usize) -> Result<bool, i32>;
}

/// Writes the components of `path` (leaf first, NUL-terminated) into `out`, stopping at the
/// task's root `root` (so chrooted and containerised processes see their own paths).
#[inline(always)]
pub fn resolve(path: usize, root: usize, out: *mut PathBuf) {
    unsafe {
        write_volatile(&raw mut (*out).components, 0);
        write_volatile(&raw mut (*out).len, 0);
    }
    let status = walk(path, root, &mut LeafFirst(out)).unwrap_or(path_status::ERROR);
    unsafe { write_volatile(&raw mut (*out).status, status) };
}

/// Builds the path right to left at the end of `out`'s area, as the kernel's `prepend_path()`
/// does, so that it reads forwards from `start` (what string matching and userspace want).
#[inline(always)]
pub fn resolve_forwards(path: usize, root: usize, out: *mut StringArg) {
    unsafe {
        write_volatile(&raw mut (*out).start, STRING_AREA as u32);
        write_volatile(&raw mut (*out).len, 0);
    }
    let status = walk(path, root, &mut Prepend(out)).unwrap_or(path_status::ERROR);
    unsafe {
        let start = read_volatile(&raw const (*out).start) as usize;
        if start == STRING_AREA && status != path_status::ERROR {
            // The root itself.
            let at = STRING_AREA - 1;
            (*out).bytes[at] = b'/';
            write_volatile(&raw mut (*out).start, at as u32);
        }
        let start = read_volatile(&raw const (*out).start) as usize;
        write_volatile(&raw mut (*out).len, (STRING_AREA - start) as u32);
        write_volatile(&raw mut (*out).status, status);
    }
}

#[inline(always)]
fn walk(path: usize, root: usize, out: &mut impl Components) -> Result<u32, i32> {
    let root_mnt: usize = kread(root, off!(path_mnt))?;
    let root_dentry: usize = kread(root, off!(path_dentry))?;
    let mut vfsmnt: usize = kread(path, off!(path_mnt))?;
    let mut dentry: usize = kread(path, off!(path_dentry))?;
    let mut mnt = vfsmnt - off!(mount_mnt); // container_of(vfsmnt, struct mount, mnt)
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
        let name: usize = kread(dentry, off!(dentry_d_name) + off!(qstr_name))?;
        if !out.push(name)? {
            return Ok(path_status::TRUNCATED);
        }
        dentry = parent;
    }
    Ok(path_status::TRUNCATED)
}

/// Components leaf first, each NUL-terminated, into an exec record's `PathBuf`.
struct LeafFirst(*mut PathBuf);

impl Components for LeafFirst {
    #[inline(always)]
    fn push(&mut self, name: usize) -> Result<bool, i32> {
        let out = self.0;
        let count = unsafe { read_volatile(&raw const (*out).components) };
        if count as usize >= MAX_PATH_COMPONENTS {
            return Ok(false);
        }
        let bytes = unsafe { (&raw mut (*out).bytes) as *mut u8 };
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
        Ok(end < PATH_AREA)
    }
}

/// `/name` prepended before `start`; the name is first read into the slack after the area.
struct Prepend(*mut StringArg);

impl Components for Prepend {
    #[inline(always)]
    fn push(&mut self, name: usize) -> Result<bool, i32> {
        let out = self.0;
        let bytes = unsafe { (&raw mut (*out).bytes) as *mut u8 };
        let slack = unsafe { bytes.add(STRING_AREA) };
        let written = unsafe {
            bpf_probe_read_kernel_str(
                slack as *mut c_void,
                NAME_SLOT as u32,
                name as *const c_void,
            )
        };
        if written <= 0 {
            return Err(written as i32);
        }
        let name_len = (written as usize - 1) & (NAME_SLOT - 1);
        let start = unsafe { read_volatile(&raw const (*out).start) } as usize;
        if name_len + 1 > start {
            return Ok(false);
        }
        let at = (start - name_len - 1) & (STRING_AREA - 1);
        unsafe {
            *bytes.add(at) = b'/';
            bpf_probe_read_kernel(
                bytes.add(at + 1) as *mut c_void,
                name_len as u32,
                slack as *const c_void,
            );
            write_volatile(&raw mut (*out).start, at as u32);
        }
        Ok(true)
    }
}
