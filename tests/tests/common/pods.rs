//! Pods without a kubelet: cgroups laid out as a container runtime makes them (processes are
//! moved into them), and Pod objects whose status names those containers.
use std::{
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::{Command, ExitStatus},
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::json;

use super::{iris::IRIS_KEY, kube::Cluster};

/// The node the test pods run on: the agents and captures of these tests say they are it.
pub const NODE: &str = "tetrascope-test-node";
pub const IMAGE: &str = "docker.io/library/iris:2024.2";
pub const IMAGE_ID: &str = "docker.io/library/iris@sha256:493c073cc968f1053511e6cf56301767ab304f21a60afdf65543e56ef1217cb4";

/// A container id no other test uses: 64 hex digits from the time, the pid and `salt`.
pub fn container_id(salt: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let seed = [
        nanos,
        std::process::id() as u64,
        salt,
        nanos ^ salt.rotate_left(17),
    ];
    seed.iter().map(|part| format!("{part:016x}")).collect()
}

/// The cgroup v2 mount (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid hosts).
fn cgroup_root() -> PathBuf {
    let mounts = fs::read_to_string("/proc/mounts").unwrap();
    mounts
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(fields[1]))
        })
        .expect("a cgroup2 mount")
}

/// A cgroup the test creates (with the parents that did not exist), removed on drop.
pub struct TestCgroup {
    created: Vec<PathBuf>,
    dir: PathBuf,
}

impl TestCgroup {
    /// A cgroup under the root, named after the test.
    pub fn plain(name: &str) -> Self {
        Self::create(&[&format!("tetrascope-test-{name}-{}", std::process::id())])
    }

    /// The cgroup of containerd container `id` of pod `pod_uid` under systemd.
    pub fn container(pod_uid: &str, id: &str) -> Self {
        let pod_slice = format!("kubepods-besteffort-pod{}.slice", pod_uid.replace('-', "_"));
        Self::create(&[
            "kubepods.slice",
            "kubepods-besteffort.slice",
            &pod_slice,
            &format!("cri-containerd-{id}.scope"),
        ])
    }

    fn create(parts: &[&str]) -> Self {
        let mut dir = cgroup_root();
        let mut created = Vec::new();
        for part in parts {
            dir.push(part);
            if !dir.exists() {
                fs::create_dir(&dir).unwrap();
                created.push(dir.clone());
            }
        }
        TestCgroup { created, dir }
    }

    /// The cgroup's id, as `bpf_get_current_cgroup_id` gives it: the directory's inode.
    pub fn id(&self) -> u64 {
        fs::metadata(&self.dir).unwrap().ino()
    }

    /// Runs the shell command `command` in the cgroup from `cwd` (exec'd: it is the process
    /// that joined the cgroup).
    pub fn exec(&self, command: &str, cwd: &Path) -> ExitStatus {
        let script = format!(
            "echo $$ > {}/cgroup.procs && exec {command}",
            self.dir.display()
        );
        Command::new("/bin/sh")
            .args(["-c", &script])
            .current_dir(cwd)
            .output()
            .unwrap()
            .status
    }

    pub fn run_true(&self, cwd: &Path) {
        assert!(self.exec("/bin/true", cwd).success());
    }

    /// `head -c 5` of the IRIS key, in the cgroup.
    pub fn read_key(&self) -> ExitStatus {
        self.exec(&format!("/usr/bin/head -c 5 {IRIS_KEY}"), Path::new("/"))
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Creates pod `namespace/name` on `node` owned by a ReplicaSet, then gives it a running
/// container `id` through the status subresource (nothing runs pods here). Returns its uid.
pub fn create_pod(cluster: &Cluster, node: &str, namespace: &str, name: &str, id: &str) -> String {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": "iris", "pod-template-hash": "7d9f8c6b5"},
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "iris-7d9f8c6b5",
                "uid": "3f1c7d2a-0000-4000-8000-000000000001",
                "controller": true
            }]
        },
        "spec": {"nodeName": node, "containers": [{"name": "iris", "image": IMAGE}]}
    });
    let created = cluster.create(&format!("/api/v1/namespaces/{namespace}/pods"), pod);
    let status = json!({"status": {"phase": "Running", "containerStatuses": [{
        "name": "iris",
        "containerID": format!("containerd://{id}"),
        "image": IMAGE,
        "imageID": IMAGE_ID,
        "ready": true,
        "restartCount": 0,
        "state": {"running": {"startedAt": "2026-11-29T10:00:00Z"}}
    }]}});
    cluster.patch(
        &format!("/api/v1/namespaces/{namespace}/pods/{name}/status"),
        status,
    );
    created["metadata"]["uid"].as_str().unwrap().to_string()
}
