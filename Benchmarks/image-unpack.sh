#!/usr/bin/env bash
# Unpacking one ~240 MB gzip layer (this machine's /usr/lib/x86_64-linux-gnu, 720 MB of tar):
# `tar -xzf`, `umoci unpack` and `fargate-run images pull oci:...` (which also checks the
# diffID while unpacking), interleaved, each into a fresh directory. Prints medians and ratios.
# Each is timed until the layer is on disk: fargate-run syncs a snapshot before publishing it
# (as containerd's image_pull_with_sync_fs does), so tar and umoci are followed by `sync`.
# Usage: Benchmarks/image-unpack.sh [RUNS]   (root; release build; umoci)
set -euo pipefail
runs=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
command -v umoci >/dev/null || { echo "umoci is needed (apt-get install umoci)" >&2; exit 1; }
img=${FR_BENCH_IMAGE:-/var/tmp/fargate-run-bench/big}
[ -f "$img/summary" ] || "$here/rootfs-tools/build-dir-image.sh" "$img" /usr/lib/x86_64-linux-gnu >/dev/null
blob=$(awk '{print $2}' "$img/summary" | sed 's/sha256://')
work=$(mktemp -d /var/tmp/fr-unpack.XXXXXX)
trap 'rm -rf "$work"' EXIT
ms() { echo $(( ($2 - $1) / 1000000 )); }
: >"$work/tar"; : >"$work/umoci"; : >"$work/fr"
for i in $(seq 1 "$runs"); do
  sync; mkdir "$work/t$i"
  t0=$(date +%s%N); tar -xzf "$img/oci/blobs/sha256/$blob" -C "$work/t$i"; sync; t1=$(date +%s%N)
  ms "$t0" "$t1" >>"$work/tar"; rm -rf "$work/t$i"
  sync
  t0=$(date +%s%N); umoci --log error unpack --image "$img/oci:latest" "$work/u$i" >/dev/null; sync; t1=$(date +%s%N)
  ms "$t0" "$t1" >>"$work/umoci"; rm -rf "$work/u$i"
  sync
  t0=$(date +%s%N); "$bin" images pull -q --root "$work/r$i" "oci:$img/oci:latest" >/dev/null; sync; t1=$(date +%s%N)
  ms "$t0" "$t1" >>"$work/fr"; rm -rf "$work/r$i"
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t=$(med "$work/tar"); u=$(med "$work/umoci"); f=$(med "$work/fr")
echo "layer: $(cat "$img/summary")"
printf 'tar -xzf; sync       median %6d ms\numoci unpack; sync   median %6d ms\nfargate-run; sync    median %6d ms\n' "$t" "$u" "$f"
printf 'speed relative to tar: fargate-run %.2fx, umoci %.2fx (1.00 = as fast as tar)\n' "$(echo "$t/$f" | bc -l)" "$(echo "$t/$u" | bc -l)"
