#!/usr/bin/env bash
# Start-to-exit latency of a one-container task running /bin/true with a cached image, against
# `runc run` of an OCI bundle of the same rootfs, interleaved (fargate-run awsvpc,
# fargate-run --network none, runc, ...) so all see the same machine state. runc's default
# bundle gets an empty network namespace: `--network none` is the like-for-like comparison;
# awsvpc adds the task's interface through CNI. Prints medians, p90s and the ratios.
# fargate-run does more per start: a network namespace, the task and container cgroups, an
# overlay mount, image resolution with digest checks, and a ledger record (SQLite, fsync).
# Its files (the state root, the runc bundle) go in a mktemp directory: TMPDIR chooses the
# filesystem, which matters (Docs/PERFORMANCE.md: an ext4 without a journal slows down every
# program that makes and deletes files, more the more it does).
# Usage: [TMPDIR=DIR] Benchmarks/start-latency.sh [RUNS]
#   as root, after: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run
set -euo pipefail
runs=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
command -v runc >/dev/null || { echo "runc is needed (apt-get install runc)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
cat >"$work/task.json" <<JSON
{"family": "bench-true", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "true", "image": "oci:$work/img/oci:latest", "command": ["/bin/true"]}]}
JSON
# The runc bundle: the same layer, unpacked; runc's default spec with /bin/true.
mkdir -p "$work/bundle/rootfs"
tar -xOf "$work/img/busybox.tar" "$(tar -tf "$work/img/busybox.tar" | grep layer.tar)" | tar -x -C "$work/bundle/rootfs"
(cd "$work/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' config.json)
# Warm up: image unpacked once, ledger created, page cache hot.
"$bin" -q --root "$work/root" "$work/task.json" >/dev/null 2>&1
runc run --bundle "$work/bundle" bench-warm >/dev/null 2>&1
ns() { date +%s%N; }
: >"$work/fr.txt"; : >"$work/frnone.txt"; : >"$work/runc.txt"
"$bin" -q --root "$work/root" --network none "$work/task.json" >/dev/null 2>&1
# Each run starts on a settled machine: the kernel finishes some of every run's teardown after
# the process is gone (a network namespace is freed by a kernel worker, a deleted nftables
# table one RCU grace period later), and back to back that work lands in the next run's time.
settle() { sleep 0.05; }
for i in $(seq 1 "$runs"); do
  settle; t0=$(ns); "$bin" -q --root "$work/root" "$work/task.json" >/dev/null 2>&1; t1=$(ns)
  echo $(( (t1 - t0) / 1000 )) >>"$work/fr.txt"
  settle; t0=$(ns); "$bin" -q --root "$work/root" --network none "$work/task.json" >/dev/null 2>&1; t1=$(ns)
  echo $(( (t1 - t0) / 1000 )) >>"$work/frnone.txt"
  settle; t0=$(ns); runc run --bundle "$work/bundle" "bench-$i" >/dev/null 2>&1; t1=$(ns)
  echo $(( (t1 - t0) / 1000 )) >>"$work/runc.txt"
done
stat() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%d %d", a[int((NR+1)/2)], a[int(NR*0.9+0.5)]}'; }
read -r fm fp <<<"$(stat "$work/fr.txt")"
read -r nm np <<<"$(stat "$work/frnone.txt")"
read -r rm rp <<<"$(stat "$work/runc.txt")"
printf 'runs: %d interleaved\n' "$runs"
printf 'fargate-run (awsvpc)        median %6.1f ms  p90 %6.1f ms\n' "$(echo "$fm/1000" | bc -l)" "$(echo "$fp/1000" | bc -l)"
printf 'fargate-run --network none  median %6.1f ms  p90 %6.1f ms\n' "$(echo "$nm/1000" | bc -l)" "$(echo "$np/1000" | bc -l)"
printf 'runc run                    median %6.1f ms  p90 %6.1f ms\n' "$(echo "$rm/1000" | bc -l)" "$(echo "$rp/1000" | bc -l)"
printf 'ratio to runc, median: awsvpc %.2f, network none %.2f\n' "$(echo "$fm/$rm" | bc -l)" "$(echo "$nm/$rm" | bc -l)"
