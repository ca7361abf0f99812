#!/usr/bin/env bash
# serve's ECS API under boto3: RegisterTaskDefinition per second, RunTask -> RUNNING (median,
# p99) for a cached one-container task, DescribeTasks and ListTasks with TASKS tasks running.
# Usage: Benchmarks/ecs-api-latency.sh [STARTS] [TASKS]   (root; release build; the test
#   clients' venv from rootfs-tools/install-deps.sh, or PYTHON with boto3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
python=${PYTHON:-/opt/fargate-run-test-clients/bin/python3}
"$python" -c 'import boto3' 2>/dev/null || { echo "$python has no boto3 (run rootfs-tools/install-deps.sh)" >&2; exit 1; }
bridge=${BENCH_BRIDGE:-frbench0}
subnet=${BENCH_SUBNET:-198.19.128.0/22}
work=$(mktemp -d)
root=$work/root
host=
cleanup() {
  set +e
  if [ -n "$host" ]; then
    "$bin" ps --root "$root" | awk 'NR > 1 {print $1}' | xargs -r -n 20 -P 2 sh -c 'for id; do "$0" stop --root "$1" "$id" >/dev/null 2>&1; done' "$bin" "$root" 2>/dev/null
    for i in $(seq 1 300); do [ "$("$bin" ps --root "$root" | wc -l)" -le 1 ] && break; sleep 1; done
    kill "$host"; wait "$host"
  fi
  "$bin" gc --root "$root" >/dev/null
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work" "/run/fargate-run/ipam/fargate-run-$bridge"
}
trap cleanup EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
"$bin" serve --root "$root" --listen 127.0.0.1:0 --bridge "$bridge" --subnet "$subnet" --log-level error 2>"$work/host.log" &
host=$!
for i in $(seq 1 100); do [ -s "$root/api-address" ] && break; sleep 0.1; done
echo "fargate-run $("$bin" --version), $(nproc) cores"
ENDPOINT="http://$(cat "$root/api-address")" IMAGE="oci:$work/img/oci:latest" STARTS=${1:-50} TASKS=${2:-500} \
  "$python" "$here/Benchmarks/ecs-api/latency.py"
