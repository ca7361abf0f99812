#!/usr/bin/env bash
# Many idle two-container tasks under one host: the runtime's own memory per task (the PSS
# of the host and of every task's monitor, from /proc/PID/smaps_rollup: shared pages split
# among their users) and the host's CPU while the tasks idle. The containers' own memory
# (busybox sleep) is not the runtime's and is not counted.
# Usage: Benchmarks/host-density.sh [TASKS] [IDLE-SECONDS]   (root; release build)
set -euo pipefail
tasks=${1:-200}
idle=${2:-30}
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
{"family": "idle", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
  {"name": "a", "image": "oci:$work/img/oci:latest", "command": ["sleep", "100000"], "stopTimeout": 2},
  {"name": "b", "image": "oci:$work/img/oci:latest", "command": ["sleep", "100000"], "stopTimeout": 2}]}
JSON
"$bin" serve --root "$root" --listen none --log-level error 2>"$work/host.log" &
host=$!
for _ in $(seq 1 100); do [ -S "$root/host.sock" ] && break; sleep 0.05; done
t0=$(date +%s%N)
left=$tasks
while [ "$left" -gt 0 ]; do
  n=$(( left < 10 ? left : 10 ))
  "$bin" run -d --count "$n" --root "$root" "$work/task.json" >/dev/null
  left=$(( left - n ))
done
t1=$(date +%s%N)
running=$("$bin" ps --root "$root" | awk 'NR>1 && $3=="RUNNING"' | wc -l)
pss() { awk '/^Pss:/ {s+=$2} END {print s+0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
host_pss=$(pss "$host")
mon_pss=0; monitors=0
for p in $(pgrep -f "fargate-monitor $root/tasks/"); do mon_pss=$(( mon_pss + $(pss "$p") )); monitors=$((monitors + 1)); done
ticks() { awk '{print $14 + $15}' "/proc/$host/stat"; }
c0=$(ticks); sleep "$idle"; c1=$(ticks)
hz=$(getconf CLK_TCK)
threads=$(ls "/proc/$host/task" | wc -l)
printf 'tasks running: %d of %d (started in %.1f s: %.1f tasks/s)\n' "$running" "$tasks" "$(echo "($t1-$t0)/1000000000" | bc -l)" "$(echo "$tasks/(($t1-$t0)/1000000000)" | bc -l)"
printf 'host PSS %.1f MiB (%d threads), %d monitors PSS %.1f MiB in all\n' "$(echo "$host_pss/1024" | bc -l)" "$threads" "$monitors" "$(echo "$mon_pss/1024" | bc -l)"
printf 'runtime memory per task: %.3f MiB\n' "$(echo "($host_pss+$mon_pss)/1024/$tasks" | bc -l)"
printf 'host CPU while idle for %d s: %.3f%% of a core\n' "$idle" "$(echo "($c1-$c0)*100/$hz/$idle" | bc -l)"
