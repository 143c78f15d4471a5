#!/usr/bin/env bash
# Installs what building tetrascope's eBPF probes needs on a Debian machine of our kind.
# Idempotent: each piece is skipped when already present. Run as root (or with sudo).
set -euo pipefail

LLVM_VERSION=22
LLVM_PREFIX=/usr/lib/llvm-${LLVM_VERSION}
BPF_LINKER_VERSION=0.13.0

say() { printf '[setup] %s\n' "$*"; }

if [ -x "${LLVM_PREFIX}/bin/llvm-config" ] && dpkg -s "libpolly-${LLVM_VERSION}-dev" >/dev/null 2>&1; then
  say "LLVM ${LLVM_VERSION} present"
else
  say "installing LLVM ${LLVM_VERSION} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "llvm-${LLVM_VERSION}-dev" "libclang-${LLVM_VERSION}-dev" "libpolly-${LLVM_VERSION}-dev" >/dev/null
fi

# The end-to-end UI test drives the real binary in a real terminal.
if ! command -v tmux >/dev/null 2>&1; then
  say "installing tmux"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi

if command -v bpf-linker >/dev/null 2>&1 && bpf-linker --version 2>/dev/null | grep -q "${BPF_LINKER_VERSION}"; then
  say "bpf-linker ${BPF_LINKER_VERSION} present"
else
  say "building bpf-linker ${BPF_LINKER_VERSION} against LLVM ${LLVM_VERSION} (about 3 minutes)"
  LLVM_PREFIX="${LLVM_PREFIX}" cargo install bpf-linker --version "${BPF_LINKER_VERSION}" \
    --locked --no-default-features --features "llvm-${LLVM_VERSION}"
fi

# The probes build with the toolchain whose LLVM matches bpf-linker's (see tui/build.rs).
PROBE_TOOLCHAIN=1.95.0
if rustup component list --toolchain "${PROBE_TOOLCHAIN}" --installed 2>/dev/null | grep -q '^rust-src'; then
  say "rust-src (${PROBE_TOOLCHAIN}) present"
else
  say "adding rust-src to the ${PROBE_TOOLCHAIN} toolchain"
  rustup toolchain install "${PROBE_TOOLCHAIN}" --profile minimal
  rustup component add rust-src --toolchain "${PROBE_TOOLCHAIN}"
fi
# The Kubernetes tests run a real kube-apiserver and etcd (built once per machine, cached).
say "kube-apiserver: $(bash "$(dirname "$0")/kube-apiserver.sh")"
# The VM tests boot a Debian kernel with kprobes and BPF LSM under qemu (downloaded once, cached).
# The VM tests boot Debian's 6.1 and 6.12 kernels (kprobes and BPF LSM, which ours lacks).
for series in 6.1 6.12; do
  say "VM kernel ${series}: $(TETRASCOPE_VM_KERNEL_SERIES=$series bash "$(dirname "$0")/vm-kernel.sh")"
done
say "done"
