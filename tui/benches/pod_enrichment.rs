//! Pod enrichment (`--kube`): the cost per event of a container process (a cache lookup and the
//! pod filled in) and of a host process, with 1,000 pods cached; and the heap the cache holds
//! per 1,000 pods (counted by a wrapping allocator).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicIsize, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tetrascope::{
    event::{Event, EventBody, Image, Process, ProcessExec},
    kube::{
        cgroup_index::CgroupIndex,
        pods::{CachedContainer, CachedPod, PodCache, PodMetadata, docker_key},
    },
    source::local::{POD_WAIT, PodEnricher},
};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const PODS: usize = 1000;
const BATCH: usize = 1000;

/// A pod as a Deployment makes it: a few labels, two containers.
fn pod(n: usize) -> Arc<CachedPod> {
    let container = |c: usize| CachedContainer {
        status_id: format!("containerd://{:064x}", n * 2 + c),
        name: format!("app-{c}"),
        image: Image {
            id: format!("registry.example.com/team/app@sha256:{:064x}", n),
            name: "registry.example.com/team/app:1.2.3".into(),
        },
        start_time: None,
    };
    Arc::new(CachedPod {
        namespace: "production".into(),
        name: format!("web-7d9f8c6b5-{n:05}"),
        uid: format!("0b1c2d3e-4f50-6172-8394-{n:012x}"),
        labels: [
            ("app".to_string(), "web".to_string()),
            ("pod-template-hash".into(), "7d9f8c6b5".into()),
            ("team".into(), "payments".into()),
        ]
        .into(),
        workload: "web".into(),
        workload_kind: "Deployment".into(),
        containers: vec![container(0), container(1)],
    })
}

fn exec_event(docker: &str) -> Event {
    let process = |binary: &str| Process {
        binary: binary.into(),
        docker: docker.into(),
        ..Process::default()
    };
    Event::new(EventBody::ProcessExec(ProcessExec {
        process: Some(process("/usr/bin/curl")),
        parent: Some(process("/bin/sh")),
        ..ProcessExec::default()
    }))
}

fn cache_memory() {
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut cache = PodCache::default();
    for n in 0..PODS {
        cache.apply(pod(n));
    }
    let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!(
        "pod cache: {} pods, {} KiB on the heap ({} bytes per pod)",
        cache.len(),
        bytes / 1024,
        bytes / PODS as isize
    );
    black_box(cache);
}

fn enrichment(c: &mut Criterion) {
    cache_memory();
    let empty = std::env::temp_dir().join(format!("pod-bench-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let (pods, _changes) = PodMetadata::new(CgroupIndex::new(empty.clone()));
    for n in 0..PODS {
        pods.cache().write().unwrap().apply(pod(n));
    }
    // Container 0 of pod 500.
    let known = docker_key(&format!("{:064x}", 1000)).to_string();
    let mut enricher = PodEnricher::new(pods, POD_WAIT);

    let mut group = c.benchmark_group("pod_enrichment");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, docker) in [("container_process", known.as_str()), ("host_process", "")] {
        let batch: Vec<Event> = (0..BATCH).map(|_| exec_event(docker)).collect();
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || batch.clone(),
                |events| enricher.enrich(events, 0, Instant::now()),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
    assert_eq!(enricher.counters().missed, 0);
    std::fs::remove_dir_all(&empty).unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = enrichment
}
criterion_main!(benches);
