#!/usr/bin/env bash
# A service's load balancer listener (nftables DNAT spread over the healthy tasks, no proxy)
# against a direct connection to one of its tasks: ApacheBench (`ab`, a compiled load
# generator) fetches the same small page from busybox httpd both ways, interleaved, ROUNDS
# times each, one new TCP connection per request (-n REQUESTS -c CONCURRENCY).
# Usage: Benchmarks/service-listener.sh [REQUESTS] [CONCURRENCY] [ROUNDS] [TASKS]
#   (root; release build; apt-get install apache2-utils)
set -euo pipefail
requests=${1:-20000}
concurrency=${2:-16}
rounds=${3:-3}
tasks=${4:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
command -v ab >/dev/null || { echo "ab is needed (apt-get install apache2-utils)" >&2; exit 1; }
bridge=${BENCH_BRIDGE:-frbench2}
subnet=${BENCH_SUBNET:-198.19.137.0/24}
port=${BENCH_PORT:-18480}
tg=arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/bench/0123456789abcdef
work=$(mktemp -d)
root=$work/root
host=
cleanup() {
  set +e
  [ -n "$host" ] && kill -9 "$host" && wait "$host"
  pkill -9 -f "fargate-monitor $root/"
  "$bin" gc --root "$root" >/dev/null
  ip link del "$bridge" 2>/dev/null
  # The host's listener table (ServiceLoadBalancer.tableName: FNV-1a of the root's path).
  nft delete table inet "$(python3 -c 'import sys
h=2166136261
for b in sys.argv[1].encode(): h=((h^b)*16777619)&0xffffffff
print("fargate_run_lb_%08x"%h)' "$root")" 2>/dev/null
  rm -rf "$work" "/run/fargate-run/ipam/fargate-run-$bridge"
}
trap cleanup EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
cat >"$work/web.json" <<JSON
{"family": "bench-web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "web", "image": "oci:$work/img/oci:latest",
   "portMappings": [{"containerPort": 8080}],
   "command": ["sh", "-c", "mkdir -p /w && echo hello-from-\$(hostname) >/w/index.html && exec httpd -f -p 8080 -h /w"]}]}
JSON
"$bin" serve --root "$root" --listen none --bridge "$bridge" --subnet "$subnet" --task-healthy-after 1 \
  --target-group "$tg=127.0.0.1:$port" --log-level error 2>"$work/host.log" &
host=$!
for _ in $(seq 1 100); do [ -S "$root/host.sock" ] && break; sleep 0.1; done
"$bin" service create --root "$root" --desired-count "$tasks" --load-balancer "$tg=web:8080" --wait --wait-timeout 120 \
  web "$work/web.json" >/dev/null
# One of the tasks, straight to its address on the bridge.
direct=$("$bin" service targets --root "$root" --output json web | python3 -c 'import json,sys
print([d["Target"]["Id"] for d in json.load(sys.stdin)["TargetHealthDescriptions"] if d["TargetHealth"]["State"]=="healthy"][0])')
for url in "http://127.0.0.1:$port/" "http://$direct:8080/"; do
  curl -sf --max-time 5 "$url" >/dev/null || { echo "no answer from $url" >&2; cat "$work/host.log" >&2; exit 1; }
done
echo "fargate-run $("$bin" --version), $(nproc) cores, $tasks tasks, ab -n $requests -c $concurrency, $rounds rounds"
: >"$work/lb.txt"; : >"$work/direct.txt"
run_ab() { ab -q -n "$requests" -c "$concurrency" "$1" 2>&1 | awk -v out="$2" '
  /^Failed requests/ {f=$3} /^Non-2xx/ {n=$3} /^Requests per second/ {r=$4}
  /^ +99%/ {p=$2} /^ +50%/ {m=$2}
  END {print r, m, p, f+0, n+0 >> out}'; }
for _ in $(seq 1 "$rounds"); do
  run_ab "http://127.0.0.1:$port/" "$work/lb.txt"
  run_ab "http://$direct:8080/" "$work/direct.txt"
done
summary() { sort -n "$1" | awk -v what="$2" '{r[NR]=$1; m[NR]=$2; p[NR]=$3; f+=$4+$5}
  END {i=int((NR+1)/2); printf "%-34s %8.0f req/s (median of %d; range %.0f-%.0f)  latency median %d ms, p99 %d ms  failed %d\n", what, r[i], NR, r[1], r[NR], m[i], p[i], f}'; }
summary "$work/lb.txt" "listener (127.0.0.1:$port, $tasks tasks)"
summary "$work/direct.txt" "direct to one task ($direct:8080)"
# How the listener spread the requests: each task's httpd is a separate process; count
# distinct answers over a bounded number of new connections.
for _ in $(seq 1 60); do curl -s --max-time 2 "http://127.0.0.1:$port/"; done | sort | uniq -c | awk '{printf "  %s answered %d of 60\n", $2, $1}'
