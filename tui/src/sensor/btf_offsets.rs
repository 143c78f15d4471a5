//! Kernel structure offsets from the running kernel's BTF (`/sys/kernel/btf/vmlinux`).
use anyhow::{Context, Result, anyhow, bail};
use btf_rs::{Btf, Struct, Type};
use tetrascope_shared::{NS_SLOTS, Offsets};

pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The namespace pointers of `struct nsproxy` and the struct each points to, in `NS_SLOTS` order.
const NSPROXY_MEMBERS: [(&str, &str); NS_SLOTS] = [
    ("uts_ns", "uts_namespace"),
    ("ipc_ns", "ipc_namespace"),
    ("mnt_ns", "mnt_namespace"),
    ("pid_ns_for_children", "pid_namespace"),
    ("net_ns", "net"),
    ("time_ns", "time_namespace"),
    ("time_ns_for_children", "time_namespace"),
    ("cgroup_ns", "cgroup_namespace"),
];

/// Resolves every offset the probes read. Members a kernel may lack (audit's `loginuid`, time
/// namespaces) become `Offsets::ABSENT`; anything else missing is an error naming the member.
pub fn resolve(btf_path: &str) -> Result<Offsets> {
    let btf = Btf::from_file(btf_path).with_context(|| format!("reading BTF from {btf_path}"))?;
    let at = |s: &str, path: &str| offset_of(&btf, s, path);
    let optional = |s: &str, path: &str| at(s, path).unwrap_or(Offsets::ABSENT);

    let mut nsproxy_ns = [Offsets::ABSENT; NS_SLOTS];
    let mut ns_struct_ns = [Offsets::ABSENT; NS_SLOTS];
    for (slot, (member, target)) in NSPROXY_MEMBERS.iter().enumerate() {
        if let (Ok(ptr), Ok(ns)) = (at("nsproxy", member), at(target, "ns")) {
            nsproxy_ns[slot] = ptr;
            ns_struct_ns[slot] = ns;
        }
    }

    Ok(Offsets {
        task_real_parent: at("task_struct", "real_parent")?,
        task_tgid: at("task_struct", "tgid")?,
        task_exit_code: at("task_struct", "exit_code")?,
        task_cred: at("task_struct", "cred")?,
        task_nsproxy: at("task_struct", "nsproxy")?,
        task_thread_pid: at("task_struct", "thread_pid")?,
        task_mm: at("task_struct", "mm")?,
        task_fs: at("task_struct", "fs")?,
        task_loginuid: optional("task_struct", "loginuid"),
        task_signal: at("task_struct", "signal")?,
        signal_live: at("signal_struct", "live")?,
        mm_arg_start: at("mm_struct", "arg_start")?,
        mm_arg_end: at("mm_struct", "arg_end")?,
        fs_pwd: at("fs_struct", "pwd")?,
        fs_root: at("fs_struct", "root")?,
        path_mnt: at("path", "mnt")?,
        path_dentry: at("path", "dentry")?,
        dentry_d_parent: at("dentry", "d_parent")?,
        dentry_d_name: at("dentry", "d_name")?,
        qstr_name: at("qstr", "name")?,
        vfsmount_mnt_root: at("vfsmount", "mnt_root")?,
        mount_mnt: at("mount", "mnt")?,
        mount_mnt_parent: at("mount", "mnt_parent")?,
        mount_mnt_mountpoint: at("mount", "mnt_mountpoint")?,
        cred_euid: at("cred", "euid")?,
        cred_uid: at("cred", "uid")?,
        cred_securebits: at("cred", "securebits")?,
        sock_family: at("sock_common", "skc_family")?,
        sock_state: at("sock_common", "skc_state")?,
        sock_daddr: at("sock_common", "skc_daddr")?,
        sock_saddr: at("sock_common", "skc_rcv_saddr")?,
        sock_dport: at("sock_common", "skc_dport")?,
        sock_sport: at("sock_common", "skc_num")?,
        sock_v6_daddr: at("sock_common", "skc_v6_daddr")?,
        sock_v6_saddr: at("sock_common", "skc_v6_rcv_saddr")?,
        sock_protocol: at("sock", "sk_protocol")?,
        sock_type: at("sock", "sk_type")?,
        socket_sk: at("socket", "sk")?,
        file_f_inode: at("file", "f_inode")?,
        inode_i_mode: at("inode", "i_mode")?,
        dentry_d_inode: at("dentry", "d_inode")?,
        file_private_data: at("file", "private_data")?,
        cred_user_ns: at("cred", "user_ns")?,
        user_ns_ns: at("user_namespace", "ns")?,
        ns_common_inum: at("ns_common", "inum")?,
        pid_level: at("pid", "level")?,
        pid_numbers: at("pid", "numbers")?,
        upid_ns: at("upid", "ns")?,
        upid_size: find_struct(&btf, "upid")?.size() as u32,
        pid_ns_ns: at("pid_namespace", "ns")?,
        upid_nr: at("upid", "nr")?,
        task_files: at("task_struct", "files")?,
        files_fdt: at("files_struct", "fdt")?,
        fdtable_fd: at("fdtable", "fd")?,
        fdtable_max_fds: at("fdtable", "max_fds")?,
        file_f_path: at("file", "f_path")?,
        mm_exe_file: at("mm_struct", "exe_file")?,
        binprm_file: at("linux_binprm", "file")?,
        kiocb_filp: at("kiocb", "ki_filp")?,
        // TS_COMPAT lives in x86's thread_info; other architectures count every call as native.
        task_ti_status: if cfg!(target_arch = "x86_64") {
            optional("task_struct", "thread_info.status")
        } else {
            Offsets::ABSENT
        },
        cred_caps: [
            at("cred", "cap_effective")?,
            at("cred", "cap_inheritable")?,
            at("cred", "cap_permitted")?,
        ],
        nsproxy_ns,
        ns_struct_ns,
    })
}

/// The definition (not a forward declaration) of `struct name`.
fn find_struct(btf: &Btf, name: &str) -> Result<Struct> {
    btf.resolve_types_by_name(name)
        .with_context(|| format!("struct {name} not in BTF"))?
        .into_iter()
        .find_map(|t| match t {
            Type::Struct(s) if !s.members.is_empty() => Some(s),
            _ => None,
        })
        .ok_or_else(|| anyhow!("struct {name} not in BTF"))
}

/// Peels typedefs and qualifiers down to a struct or union.
fn as_struct_or_union(btf: &Btf, mut t: Type) -> Option<Struct> {
    for _ in 0..16 {
        t = match t {
            Type::Struct(s) | Type::Union(s) => return Some(s),
            Type::Typedef(ref x) => btf.resolve_chained_type(x).ok()?,
            Type::TypeTag(ref x) => btf.resolve_chained_type(x).ok()?,
            Type::Const(ref x) => btf.resolve_chained_type(x).ok()?,
            Type::Volatile(ref x) => btf.resolve_chained_type(x).ok()?,
            Type::Restrict(ref x) => btf.resolve_chained_type(x).ok()?,
            _ => return None,
        };
    }
    None
}

/// Bit offset and type of member `name`, looking inside anonymous struct/union members (on 6.x,
/// `file.f_path` and `dentry.d_name` sit in anonymous unions).
fn find_member(btf: &Btf, s: &Struct, name: &str) -> Option<(u32, Type)> {
    for member in &s.members {
        let member_name = btf.resolve_name(member).unwrap_or_default();
        if member_name == name {
            return Some((member.bit_offset(), btf.resolve_chained_type(member).ok()?));
        }
        if member_name.is_empty() {
            let inner = as_struct_or_union(btf, btf.resolve_chained_type(member).ok()?)?;
            if let Some((offset, t)) = find_member(btf, &inner, name) {
                return Some((member.bit_offset() + offset, t));
            }
        }
    }
    None
}

/// Byte offset of the dotted member path (`"a.b"`) inside `struct struct_name`.
fn offset_of(btf: &Btf, struct_name: &str, path: &str) -> Result<u32> {
    let mut current = find_struct(btf, struct_name)?;
    let mut bits = 0;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (offset, member_type) = find_member(btf, &current, part)
            .ok_or_else(|| anyhow!("{struct_name}.{path}: no member {part} in this kernel"))?;
        bits += offset;
        if parts.peek().is_some() {
            current = as_struct_or_union(btf, member_type)
                .ok_or_else(|| anyhow!("{struct_name}.{path}: {part} is not a struct"))?;
        }
    }
    if bits % 8 != 0 {
        bail!("{struct_name}.{path} is a bit field");
    }
    Ok(bits / 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the machine's own BTF: the values must agree with what pahole-style tools print for
    /// the same kernel, checked here through invariants that hold on every kernel.
    #[test]
    fn resolves_this_kernels_offsets() {
        if !std::path::Path::new(VMLINUX_BTF).exists() {
            eprintln!("no {VMLINUX_BTF}; skipping");
            return;
        }
        let o = resolve(VMLINUX_BTF).expect("offsets");
        assert!(o.task_tgid > 0 && o.task_real_parent > o.task_tgid);
        assert_eq!(o.path_mnt, 0, "struct path starts with mnt");
        assert_eq!(o.path_dentry, 8);
        assert!(o.upid_size >= 16);
        assert_ne!(
            o.nsproxy_ns[2],
            Offsets::ABSENT,
            "mnt namespace always exists"
        );
        assert!(o.fs_root != o.fs_pwd);
    }
}
