#!/usr/bin/env bash
# A real Debian kernel with kprobes and BPF LSM (our own machines have neither) for the VM tests
# (tests/tests/common/vm.rs boots it under qemu TCG). Installs qemu, a static busybox and cpio
# when missing, downloads the newest Debian cloud-amd64 kernel of the series (default 6.1, the
# Debian 12 kernel; TETRASCOPE_VM_KERNEL_SERIES=6.12 for the backported one) and extracts it
# once under /var/cache/tetrascope-vm/. Prints the vmlinuz path.
set -euo pipefail
series=${TETRASCOPE_VM_KERNEL_SERIES:-6.1}
cache=/var/cache/tetrascope-vm
packages=(qemu-system-x86 busybox-static cpio)
export DEBIAN_FRONTEND=noninteractive

updated=false
apt_update() {
    $updated || apt-get update -qq
    updated=true
}

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /bin/busybox ] ||
    ! command -v cpio >/dev/null || ! dpkg -s busybox-static >/dev/null 2>&1; then
    apt_update
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# 6.1: linux-image-6.1.0-56-cloud-amd64; 6.12: linux-image-6.12.117+deb12-cloud-amd64.
pattern="^linux-image-${series//./\\.}[.-][0-9].*-cloud-amd64\$"
newest() {
    apt-cache search --names-only "$pattern" | cut -d' ' -f1 | sort -V | tail -n1
}
package=$(newest)
if [ -z "$package" ]; then
    apt_update
    package=$(newest)
fi
[ -n "$package" ] || { echo "vm-kernel.sh: no package matches $pattern" >&2; exit 1; }
release=${package#linux-image-}
dir=$cache/$release
vmlinuz=$dir/root/boot/vmlinuz-$release

if [ ! -f "$vmlinuz" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/.download.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$package" >/dev/null)
    # Only the kernel image and its config are used; the modules stay out of the cache.
    dpkg-deb --fsys-tarfile "$tmp"/linux-image-*.deb |
        tar -x -C "$tmp" ./boot
    mkdir -p "$tmp/out/root"
    mv "$tmp/boot" "$tmp/out/root/boot"
    rm -rf "$dir"
    mv "$tmp/out" "$dir"
    echo "vm-kernel.sh: $package extracted to $dir" >&2
fi
echo "$vmlinuz"
