#!/usr/bin/env bash
# 100 tasks asked of one host at once (ten `run -d --count 10` at the same time): how long
# until all are RUNNING, tasks per second, and that none was refused.
# Usage: Benchmarks/host-burst.sh [BATCHES]   (root; release build)
set -euo pipefail
batches=${1:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
work=$(mktemp -d)
root=$work/root
cleanup() {
  if [ -n "${host:-}" ]; then
    for id in $("$bin" ps --root "$root" | awk 'NR>1{print $1}'); do "$bin" stop --root "$root" "$id" >/dev/null 2>&1 || true; done
    for id in $("$bin" ps --root "$root" | awk 'NR>1{print $1}'); do timeout 60 "$bin" wait --root "$root" "$id" >/dev/null 2>&1 || true; done
    kill "$host" 2>/dev/null; wait "$host" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
cat >"$work/task.json" <<JSON
{"family": "burst", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
  {"name": "a", "image": "oci:$work/img/oci:latest", "command": ["sleep", "100000"], "stopTimeout": 2}]}
JSON
"$bin" serve --root "$root" --listen none --log-level error 2>"$work/host.log" &
host=$!
for _ in $(seq 1 100); do [ -S "$root/host.sock" ] && break; sleep 0.05; done
id=$("$bin" run -d --root "$root" "$work/task.json"); "$bin" stop --root "$root" "$id" >/dev/null; "$bin" wait --root "$root" "$id" >/dev/null || true
t0=$(date +%s%N)
pids=()
for i in $(seq 1 "$batches"); do
  "$bin" run -d --count 10 --root "$root" "$work/task.json" >"$work/out.$i" 2>"$work/err.$i" &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
t1=$(date +%s%N)
started=$(cat "$work"/out.* | wc -l)
running=$("$bin" ps --root "$root" | awk 'NR>1 && $3=="RUNNING"' | wc -l)
printf '%d tasks asked at once: %d started, %d RUNNING, %d requests refused\n' "$((batches * 10))" "$started" "$running" "$failed"
printf 'all RUNNING after %.2f s: %.1f tasks/s\n' "$(echo "($t1-$t0)/1000000000" | bc -l)" "$(echo "$started/(($t1-$t0)/1000000000)" | bc -l)"
[ "$failed" -eq 0 ] || cat "$work"/err.*
