#!/usr/bin/env bash
# An ECS service's rolling deployment on serve: UpdateService to steady state for 3 and for 30
# tasks (boto3). Tasks without health checks count as healthy HEALTHY_AFTER seconds after
# RUNNING (ECS: 40 s, which would dominate; default here 1).
# Usage: Benchmarks/service-deploy.sh ["SIZES"] [HEALTHY_AFTER]   (root; release build; the
#   test clients' venv from rootfs-tools/install-deps.sh, or PYTHON with boto3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
python=${PYTHON:-/opt/fargate-run-test-clients/bin/python3}
"$python" -c 'import boto3' 2>/dev/null || { echo "$python has no boto3 (run rootfs-tools/install-deps.sh)" >&2; exit 1; }
bridge=${BENCH_BRIDGE:-frbench1}
subnet=${BENCH_SUBNET:-198.19.136.0/24}
work=$(mktemp -d)
root=$work/root
host=
cleanup() {
  set +e
  [ -n "$host" ] && kill -9 "$host" && wait "$host"
  # No host: the services' tasks are not replaced while they are killed and collected.
  pkill -9 -f "fargate-monitor $root/"
  "$bin" gc --root "$root" >/dev/null
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work" "/run/fargate-run/ipam/fargate-run-$bridge"
}
trap cleanup EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
"$bin" serve --root "$root" --listen 127.0.0.1:0 --bridge "$bridge" --subnet "$subnet" --task-healthy-after "${2:-1}" \
  --log-level error 2>"$work/host.log" &
host=$!
for i in $(seq 1 100); do [ -s "$root/api-address" ] && break; sleep 0.1; done
echo "fargate-run $("$bin" --version), $(nproc) cores, --task-healthy-after ${2:-1}"
ENDPOINT="http://$(cat "$root/api-address")" IMAGE="oci:$work/img/oci:latest" SIZES=${1:-"3 30"} \
  "$python" "$here/Benchmarks/ecs-api/service_deploy.py"
