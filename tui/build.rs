//! Builds the eBPF probes (probes/) for the BPF target and leaves the object in OUT_DIR.

/// The probes build with this toolchain: its LLVM (22) must match bpf-linker's, since the linker
/// reads rustc's bitcode. The current nightly carries LLVM 23, which bpf-linker 0.13 cannot read.
const PROBE_TOOLCHAIN: &str = "1.95.0";

fn main() -> anyhow::Result<()> {
    if std::env::var_os("CARGO_FEATURE_PROBES").is_none() {
        return Ok(());
    }
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
