//! Builds the eBPF probes (probes/) for the BPF target, and the gRPC code of Tetragon's API
//! (proto/), and leaves both in OUT_DIR.

/// The probes build with this toolchain: its LLVM (22) must match bpf-linker's, since the linker
/// reads rustc's bitcode. The current nightly carries LLVM 23, which bpf-linker 0.13 cannot read.
const PROBE_TOOLCHAIN: &str = "1.95.0";

fn main() -> anyhow::Result<()> {
    grpc()?;
    if std::env::var_os("CARGO_FEATURE_PROBES").is_none() {
        return Ok(());
    }
    probes()
}

/// Message types, client and server of the `tetragon` package, with protojson serde impls
/// (snake_case names, as Tetragon's exporter writes them). protox parses the files, so no
/// `protoc` is needed.
fn grpc() -> anyhow::Result<()> {
    use prost::Message;
    println!("cargo:rerun-if-changed=proto");
    let files = [
        "tetragon/sensors.proto",
        "tetragon/events.proto",
        "tetragon/tetragon.proto",
        "tetragon/tetrascope.proto",
        "tetragon/capabilities.proto",
        "tetragon/bpf.proto",
    ];
    let descriptors = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let encoded = descriptors.encode_to_vec();
    tonic_prost_build::configure()
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(descriptors)?;
    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .preserve_proto_field_names()
        .ignore_unknown_fields()
        .out_dir(&out)
        .build(&[".tetragon"])?;
    Ok(())
}

fn probes() -> anyhow::Result<()> {
    // The BPF target is tier 3: `core` is built from rust-src with `-Z build-std`, which a stable
    // toolchain allows under RUSTC_BOOTSTRAP. The child cargo inherits it; the build script runs
    // single-threaded, so changing the environment here is sound.
    unsafe { std::env::set_var("RUSTC_BOOTSTRAP", "1") };
    let probes = aya_build::Package {
        name: "tetrascope-probes",
        root_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../probes"),
        ..Default::default()
    };
    aya_build::build_ebpf([probes], aya_build::Toolchain::Custom(PROBE_TOOLCHAIN))
}
