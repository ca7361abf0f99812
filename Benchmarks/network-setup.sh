#!/usr/bin/env bash
# Network set-up plus teardown time per task (network namespace, the interface and address,
# the host policy (NAT, ports, security groups), then the reverse), alone and with 50 tasks running at
# once on the same bridge. Times come from fargate-run's own phase marks (FARGATE_RUN_TIMING=1):
# set-up = from before the namespace is created ("start") to "network attached": the attach runs
# beside the rest of the start (images, cgroups, the container made ready), so this is its time
# while sharing the machine with them, not what it adds to a start; teardown = the detach and
# the namespace removal.
# Usage: Benchmarks/network-setup.sh [RUNS] [BACKGROUND_TASKS]   (root; release build)
set -euo pipefail
runs=${1:-20}
background=${2:-50}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
work=$(mktemp -d)
bridge=frbench$$
net=(--bridge "$bridge" --subnet 198.19.200.0/22)
pids=()
cleanup() {
  for p in "${pids[@]+"${pids[@]}"}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "/run/fargate-run/ipam/fargate-run-$bridge" "$work"
}
trap cleanup EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
mk() {
  cat >"$work/$1.json" <<JSON
{"family": "$1", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "c", "image": "oci:$work/img/oci:latest", "command": $2, "stopTimeout": 2}]}
JSON
}
mk once '["/bin/true"]'
mk idle '["sleep", "100000"]'
measure() {
  : >"$work/setup.txt"; : >"$work/teardown.txt"
  for _ in $(seq 1 "$runs"); do
    out=$(FARGATE_RUN_TIMING=1 "$bin" -q --root "$work/root" "${net[@]}" "$work/once.json" 2>&1 >/dev/null | grep '^timing')
    t() { grep " $1\$" <<<"$out" | awk '{print $2}'; }
    echo "$(t 'network attached') - $(t 'start')" | bc -l >>"$work/setup.txt"
    echo "$(t 'network detached') - $(t 'network detach start')" | bc -l >>"$work/teardown.txt"
  done
  med() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'; }
  printf '%-22s set-up median %6s ms   teardown median %6s ms\n' "$1" "$(med "$work/setup.txt")" "$(med "$work/teardown.txt")"
}
"$bin" -q --root "$work/root" "${net[@]}" "$work/once.json" >/dev/null 2>&1   # warm: image, bridge, chains
measure "alone"
for i in $(seq 1 "$background"); do
  "$bin" -q --root "$work/root" "${net[@]}" "$work/idle.json" >/dev/null 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 600); do
  n=$(ip -o link show master "$bridge" 2>/dev/null | wc -l)
  [ "$n" -ge "$background" ] && break
  sleep 0.1
done
echo "running tasks on the bridge: $(ip -o link show master "$bridge" | wc -l)"
measure "with $background running"
