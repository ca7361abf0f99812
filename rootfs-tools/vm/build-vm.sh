#!/usr/bin/env bash
# Builds the cgroup-v2 test VM from Debian packages: Debian's kernel (apt-get download
# linux-image-<ver>-amd64) and an initramfs of busybox-static and the kernel modules needed to
# mount the host's root over virtio-9p. Nothing comes from outside Debian's archive.
#   OUT/vmlinuz  OUT/initrd.img  OUT/kernel-version
#   OUT/modules/lib/modules/VERSION   every module of that kernel, depmod-indexed: the VM
#                                     bind-mounts it so the kernel loads what it needs
#                                     (netfilter for CNI, ...) on demand
# Usage: build-vm.sh OUT          (idempotent: does nothing when OUT is complete)
set -euo pipefail
out=${1:?usage: build-vm.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] && [ -d "$out/modules/lib/modules" ] && [ "$out/initrd.img" -nt "$here/init.sh" ] && [ "$out/initrd.img" -nt "$0" ]; then
  exit 0
fi
command -v busybox >/dev/null || { echo "build-vm.sh: busybox-static is needed (apt-get install busybox-static)" >&2; exit 1; }
command -v modinfo >/dev/null || { echo "build-vm.sh: modinfo is needed (apt-get install kmod)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pkg=${FR_VM_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
[ -n "$pkg" ] || { echo "build-vm.sh: cannot find Debian's kernel package (apt-get update first?)" >&2; exit 1; }
(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) || { echo "build-vm.sh: apt-get download $pkg failed" >&2; exit 1; }
dpkg-deb -x "$work"/*.deb "$work/k"
ver=$(ls "$work/k/lib/modules")
cp "$work/k/boot/vmlinuz-$ver" "$out/vmlinuz"

# Modules in load order: each one's dependencies (modinfo) first.
mods=$work/k/lib/modules/$ver
declare -A path
while IFS= read -r f; do path[$(basename "$f" .ko)]=$f; done < <(find "$mods" -name '*.ko')
order=()
declare -A seen
add() {
  local m=${1//-/_}
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  local f=${path[$m]:-${path[${1}]:-}}
  [ -n "$f" ] || { echo "build-vm.sh: module $1 not found in $pkg" >&2; exit 1; }
  local deps
  deps=$(modinfo -F depends "$f" | tr ',' ' ')
  for d in $deps; do add "$d"; done
  order+=("$f")
}
# Only what mounting the root needs goes into the initramfs; the rest is loaded on demand.
for m in virtio_pci 9pnet_virtio 9p overlay; do add "$m"; done
rm -rf "$out/modules"
mkdir -p "$out/modules/lib/modules"
cp -a "$mods" "$out/modules/lib/modules/"
depmod -b "$out/modules" "$ver"

root=$work/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,host,newroot,mods,tmp}
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh mount umount mkdir insmod switch_root cat echo sleep poweroff; do ln -sf busybox "$root/bin/$a"; done
i=0
for f in "${order[@]}"; do
  cp "$f" "$root/mods/$(printf '%02d' $i)-$(basename "$f")"
  i=$((i+1))
done
install -m 0755 "$here/init.sh" "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -n -9 >"$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "$ver" >"$out/kernel-version"
echo "build-vm.sh: $pkg ($ver), ${#order[@]} modules: $out"
