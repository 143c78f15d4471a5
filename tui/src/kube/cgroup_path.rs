//! Container ids and pod uids from cgroup paths, for the layouts kubelet, containerd, CRI-O and
//! Docker create: systemd (`…/cri-containerd-<id>.scope`) and cgroupfs (`…/pod<uid>/<id>`)
//! drivers, cgroup v2 paths and v1 `/proc/PID/cgroup` lines (`12:memory:/kubepods/…`).

/// Prefixes runtimes put before the id in a systemd scope name.
const SCOPE_PREFIXES: [&str; 4] = ["cri-containerd-", "crio-", "docker-", "libpod-"];
const ID_LEN: usize = 64;

/// The container id (64 hex digits) of the innermost container component of `path`, or None
/// for a path outside any container (a user session, a system service, a pod's own slice).
pub fn container_id(path: &str) -> Option<&str> {
    strip_v1_prefix(path)
        .rsplit('/')
        .find_map(container_component)
}

/// The pod uid (with dashes) of `path`: `pod<uid>` under cgroupfs, `…-pod<uid_with_underscores>.slice`
/// under systemd.
pub fn pod_uid(path: &str) -> Option<String> {
    strip_v1_prefix(path).split('/').find_map(|part| {
        let part = part.strip_suffix(".slice").unwrap_or(part);
        let uid = &part[part.rfind("pod")? + "pod".len()..];
        let uid = uid.replace('_', "-");
        is_uid(&uid).then_some(uid)
    })
}

/// `12:memory:/kubepods/…` → `/kubepods/…`; a bare path stays as it is.
fn strip_v1_prefix(line: &str) -> &str {
    if line.starts_with('/') {
        return line;
    }
    line.splitn(3, ':').nth(2).unwrap_or(line)
}

fn container_component(part: &str) -> Option<&str> {
    let id = match part.strip_suffix(".scope") {
        Some(scope) => SCOPE_PREFIXES
            .iter()
            .find_map(|prefix| scope.strip_prefix(prefix))?,
        None => part,
    };
    (id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// 8-4-4-4-12 hex digits.
fn is_uid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "5f5df2f9ff01fc737c88f83254ca37c0c214ff7a648c9eabd5f01edcc0804e56";
    const UID: &str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

    fn systemd_pod_slice() -> String {
        format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice",
            UID.replace('-', "_")
        )
    }

    #[test]
    fn containerd_under_systemd() {
        let path = format!("{}/cri-containerd-{ID}.scope", systemd_pod_slice());
        assert_eq!(container_id(&path), Some(ID));
        assert_eq!(pod_uid(&path).as_deref(), Some(UID));
    }

    #[test]
    fn cgroupfs_driver() {
        let path = format!("/kubepods/besteffort/pod{UID}/{ID}");
        assert_eq!(container_id(&path), Some(ID));
        assert_eq!(pod_uid(&path).as_deref(), Some(UID));
    }

    #[test]
    fn crio_and_not_its_conmon() {
        let path = format!("{}/crio-{ID}.scope", systemd_pod_slice());
        assert_eq!(container_id(&path), Some(ID));
        let conmon = format!("{}/crio-conmon-{ID}.scope", systemd_pod_slice());
        assert_eq!(container_id(&conmon), None);
    }

    #[test]
    fn docker_layouts() {
        assert_eq!(
            container_id(&format!("/system.slice/docker-{ID}.scope")),
            Some(ID)
        );
        assert_eq!(container_id(&format!("/docker/{ID}")), Some(ID));
        assert_eq!(pod_uid(&format!("/docker/{ID}")), None);
    }

    #[test]
    fn v1_lines_and_nested_cgroups() {
        let line = format!("12:memory:/kubepods/burstable/pod{UID}/{ID}");
        assert_eq!(container_id(&line), Some(ID));
        assert_eq!(pod_uid(&line).as_deref(), Some(UID));
        // systemd inside a container makes its own cgroups below the container's.
        let nested = format!("0::/kubepods/pod{UID}/{ID}/init.scope");
        assert_eq!(container_id(&nested), Some(ID));
    }

    #[test]
    fn paths_outside_containers() {
        for path in [
            "/",
            "0::/",
            "/user.slice/user-1000.slice/session-4.scope",
            "/system.slice/containerd.service",
            "4:memory:/process_api/ec293c319742dd538d428749a06ecefe",
        ] {
            assert_eq!(container_id(path), None, "{path}");
        }
        assert_eq!(container_id(&systemd_pod_slice()), None);
        assert_eq!(container_id(&format!("/docker/{}", &ID[..63])), None);
    }
}
