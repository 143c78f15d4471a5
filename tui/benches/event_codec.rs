//! Event codec throughput on the real seed line (a pod exec with its parent, ~1.9 KB):
//! JSON decode, compact encode, JSON encode, decode + compact as `tetrascope` replays a file, and
//! the agent's conversions to and from the gRPC message (with its protobuf encoding).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use tetrascope::{
    agent::convert::{from_proto, to_proto},
    event::{CompactEncoder, decode_json_line, encode_json},
};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/seed-events.jsonl"
);

fn seed_line() -> Vec<u8> {
    let text = std::fs::read_to_string(SEED).unwrap_or_else(|e| panic!("reading {SEED}: {e}"));
    let line = text.lines().nth(1).expect("the seed file has two lines");
    line.as_bytes().to_vec()
}

fn event_codec(c: &mut Criterion) {
    let line = seed_line();
    let event = decode_json_line(&line).expect("seed line decodes");
    let compact = CompactEncoder {
        timestamps: true,
        color: false,
    };
    let mut out = Vec::with_capacity(4096);

    let mut group = c.benchmark_group("event_codec");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_json", |b| {
        b.iter(|| decode_json_line(black_box(&line)).unwrap())
    });
    group.bench_function("encode_compact", |b| {
        b.iter(|| {
            out.clear();
            compact.encode(black_box(&event), &mut out);
            out.len()
        })
    });
    group.bench_function("encode_json", |b| {
        b.iter(|| {
            out.clear();
            encode_json(black_box(&event), &mut out);
            out.len()
        })
    });
    group.bench_function("decode_json_and_encode_compact", |b| {
        b.iter(|| {
            out.clear();
            let event = decode_json_line(black_box(&line)).unwrap();
            compact.encode(&event, &mut out);
            out.len()
        })
    });
    group.bench_function("to_proto_and_encode", |b| {
        b.iter(|| to_proto(black_box(&event)).unwrap().encode_to_vec().len())
    });
    let message = to_proto(&event).unwrap();
    group.bench_function("from_proto", |b| {
        b.iter(|| from_proto(black_box(&message)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, event_codec);
criterion_main!(benches);
