//! The pod watch end to end, on a scripted API server.
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::kube::pods::Workloads;
use crate::kube::test_server::{self, ApiServer, bookmark, event, expired};

const PODS: &str = "/api/v1/pods";
const NODE: &str = "node-1";

struct Watch {
    server: ApiServer,
    cache: Arc<RwLock<PodCache>>,
    problem: Arc<Mutex<Option<String>>>,
    generation: watch::Receiver<u64>,
}

impl Watch {
    /// `run` for the pods of NODE on a client of a scripted server.
    fn start() -> Self {
        let (client, server) = test_server::client();
        let cache = Arc::<RwLock<PodCache>>::default();
        let problem = Arc::<Mutex<Option<String>>>::default();
        let (changes, generation) = watch::channel(0);
        let reporting = Reporting {
            problem: problem.clone(),
            stderr: false,
        };
        tokio::spawn(run(
            client,
            NODE.to_string(),
            cache.clone(),
            changes,
            reporting,
        ));
        Watch {
            server,
            cache,
            problem,
            generation,
        }
    }

    /// The names of the cached pods (from their containers), sorted.
    fn pods(&self) -> Vec<String> {
        let cache = self.cache.read().unwrap();
        let ids = cache.container_ids(&Workloads::default());
        let mut names: Vec<String> = ids
            .iter()
            .map(|id| id.trim_end_matches("-container").to_string())
            .collect();
        names.sort();
        names
    }

    fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap().clone()
    }

    /// Whether the cache changed since last asked.
    fn changed(&mut self) -> bool {
        let changed = self.generation.has_changed().unwrap();
        self.generation.mark_unchanged();
        changed
    }
}

/// A pod of NODE as the server sends it, at `resource_version`, with one container.
fn pod(name: &str, resource_version: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": format!("uid-{name}"),
            "resourceVersion": resource_version,
        },
        "spec": {"nodeName": NODE, "containers": [{"name": "main", "image": "busybox"}]},
        "status": {"containerStatuses": [{
            "name": "main", "containerID": format!("containerd://{name}-container"),
            "image": "busybox", "imageID": "", "ready": true, "restartCount": 0,
        }]},
    })
}

#[tokio::test(start_paused = true)]
async fn the_node_pods_are_listed_and_a_relist_after_410_drops_those_gone() {
    let mut watch = Watch::start();
    let list = watch.server.list(PODS).await;
    let node = format!("spec.nodeName={NODE}");
    assert_eq!(list.query("fieldSelector"), Some(node.clone()));
    list.list("10", vec![pod("p1", "3"), pod("p2", "4")]);
    let watching = watch.server.watch(PODS).await;
    assert_eq!(watching.query("fieldSelector"), Some(node.clone()));
    assert_eq!(watching.query("resourceVersion").as_deref(), Some("10"));
    assert_eq!(watch.pods(), ["p1", "p2"]);
    assert!(watch.changed());

    watching.watch(vec![event("ADDED", &pod("p3", "11")), expired()]);
    let relist = watch.server.list(PODS).await;
    assert_eq!(relist.query("fieldSelector"), Some(node.clone()));
    assert_eq!(watch.pods(), ["p1", "p2", "p3"]);
    assert_eq!(watch.problem(), None, "a 410 is routine");
    assert!(watch.changed());
    // p2 was deleted while the watch could not follow.
    relist.list("20", vec![pod("p1", "3"), pod("p3", "11")]);
    let watching = watch.server.watch(PODS).await;
    assert_eq!(watching.query("resourceVersion").as_deref(), Some("20"));
    assert_eq!(watch.pods(), ["p1", "p3"]);
    assert!(watch.changed());
    assert_eq!(watch.problem(), None);
}

#[tokio::test(start_paused = true)]
async fn a_forbidden_list_is_the_problem_until_the_list_works() {
    let mut watch = Watch::start();
    let message = "pods is forbidden: User \"agent\" cannot list resource \"pods\"";
    watch
        .server
        .list(PODS)
        .await
        .status(403, "Forbidden", message);
    let retry = watch.server.list(PODS).await;
    let problem = watch.problem().expect("a problem");
    assert!(problem.contains(message), "{problem}");
    retry.status(403, "Forbidden", message);
    let list = watch.server.list(PODS).await;
    assert_eq!(watch.problem(), Some(problem));
    list.list("5", vec![pod("p1", "3")]);
    let _watching = watch.server.watch(PODS).await;
    assert_eq!(watch.problem(), None);
    assert_eq!(watch.pods(), ["p1"]);
}

#[tokio::test(start_paused = true)]
async fn a_watch_resumed_after_the_server_was_down_clears_the_problem() {
    let mut watch = Watch::start();
    watch
        .server
        .list(PODS)
        .await
        .list("5", vec![pod("p1", "3")]);
    let watching = watch.server.watch(PODS).await;
    // The server stops: its watch ends, and the next is refused.
    watching.watch(vec![bookmark("v1", "Pod", "7")]);
    let resumed = watch.server.next(PODS).await;
    assert!(resumed.is_watch(), "resumed, not listed again");
    assert_eq!(resumed.query("resourceVersion").as_deref(), Some("7"));
    resumed.refuse();
    // Back, with nothing changed meanwhile: the watch resumes without any event.
    let resumed = watch.server.next(PODS).await;
    assert!(resumed.is_watch(), "resumed, not listed again");
    assert_eq!(resumed.query("resourceVersion").as_deref(), Some("7"));
    assert!(watch.problem().is_some());
    let _open = resumed.open_watch(Vec::new());
    let cleared = async {
        while watch.problem().is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), cleared)
        .await
        .expect("the problem is cleared once the watch works again");
    assert_eq!(watch.pods(), ["p1"]);
}
