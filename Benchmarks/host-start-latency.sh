#!/usr/bin/env bash
# A one-container /bin/true task started through a warm host until it is STOPPED, against
# `runc run` of the same rootfs, interleaved. Three ways in, timed from the caller's side:
#   run -d + wait    two fargate-run commands, as a script would use them
#   api              one request to the host's socket (curl --unix-socket) for the run, one
#                    for the wait: what a client of the host pays without the CLI's start
#   foreground       fargate-run task.json, for reference (no host)
# Usage: [TMPDIR=DIR] Benchmarks/host-start-latency.sh [RUNS]
#   as root, after: swift build -c release --static-swift-stdlib --product fargate-run
set -euo pipefail
runs=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --product fargate-run" >&2; exit 1; }
command -v runc >/dev/null || { echo "runc is needed (apt-get install runc)" >&2; exit 1; }
work=$(mktemp -d)
root=$work/root
cleanup() {
  [ -n "${host:-}" ] && kill "$host" 2>/dev/null && wait "$host" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
cat >"$work/task.json" <<JSON
{"family": "bench-true", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "true", "image": "oci:$work/img/oci:latest", "command": ["/bin/true"]}]}
JSON
mkdir -p "$work/bundle/rootfs"
tar -xOf "$work/img/busybox.tar" "$(tar -tf "$work/img/busybox.tar" | grep layer.tar)" | tar -x -C "$work/bundle/rootfs"
(cd "$work/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' config.json)
"$bin" serve --root "$root" --listen none --log-level error 2>"$work/host.log" &
host=$!
for _ in $(seq 1 100); do [ -S "$root/host.sock" ] && break; sleep 0.05; done
# Warm up: image unpacked once, ledger created, page cache hot.
id=$("$bin" run -d --root "$root" "$work/task.json"); "$bin" wait --root "$root" "$id" >/dev/null
runc run --bundle "$work/bundle" bench-warm >/dev/null 2>&1
body="{\"definitionPath\": \"$work/task.json\", \"workingDirectory\": \"$work\", \"count\": 1}"
api() {
  local out id
  out=$(curl -s --unix-socket "$root/host.sock" -X POST --data-binary "$body" http://h/v1/tasks)
  id=$(printf '%s' "$out" | grep -oE 'task\\?/[^/"\\]+\\?/[0-9a-f]{32}' | head -1 | grep -oE '[0-9a-f]{32}$')
  curl -s --unix-socket "$root/host.sock" "http://h/v1/tasks/$id/wait" >/dev/null
}
ns() { date +%s%N; }
: >"$work/cli.txt"; : >"$work/api.txt"; : >"$work/fg.txt"; : >"$work/runc.txt"
settle() { sleep 0.05; }
for i in $(seq 1 "$runs"); do
  settle; t0=$(ns); id=$("$bin" run -d --root "$root" "$work/task.json"); "$bin" wait --root "$root" "$id" >/dev/null; t1=$(ns)
  echo $(( (t1 - t0) / 1000 )) >>"$work/cli.txt"
  settle; t0=$(ns); api; t1=$(ns)
  echo $(( (t1 - t0) / 1000 )) >>"$work/api.txt"
  settle; t0=$(ns); "$bin" -q --root "$work/fgroot" "$work/task.json" >/dev/null 2>&1; t1=$(ns)
  echo $(( (t1 - t0) / 1000 )) >>"$work/fg.txt"
  settle; t0=$(ns); runc run --bundle "$work/bundle" "bench-$i" >/dev/null 2>&1; t1=$(ns)
  echo $(( (t1 - t0) / 1000 )) >>"$work/runc.txt"
done
stat() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%d %d", a[int((NR+1)/2)], a[int(NR*0.9+0.5)]}'; }
read -r cm cp <<<"$(stat "$work/cli.txt")"
read -r am ap <<<"$(stat "$work/api.txt")"
read -r fm fp <<<"$(stat "$work/fg.txt")"
read -r rm rp <<<"$(stat "$work/runc.txt")"
printf 'runs: %d interleaved\n' "$runs"
printf 'run -d + wait (CLI)     median %6.1f ms  p90 %6.1f ms\n' "$(echo "$cm/1000" | bc -l)" "$(echo "$cp/1000" | bc -l)"
printf 'host API (curl)         median %6.1f ms  p90 %6.1f ms\n' "$(echo "$am/1000" | bc -l)" "$(echo "$ap/1000" | bc -l)"
printf 'foreground run          median %6.1f ms  p90 %6.1f ms\n' "$(echo "$fm/1000" | bc -l)" "$(echo "$fp/1000" | bc -l)"
printf 'runc run                median %6.1f ms  p90 %6.1f ms\n' "$(echo "$rm/1000" | bc -l)" "$(echo "$rp/1000" | bc -l)"
printf 'ratio to runc, median: run -d + wait %.2f, API %.2f, foreground %.2f\n' "$(echo "$cm/$rm" | bc -l)" "$(echo "$am/$rm" | bc -l)" "$(echo "$fm/$rm" | bc -l)"
