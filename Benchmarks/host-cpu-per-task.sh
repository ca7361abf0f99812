#!/usr/bin/env bash
# The host's own CPU per task: two hosts, one of this build and one of another, side by side,
# each starting a one-container /bin/true task until STOPPED in turn (run -d + wait), N each;
# the utime + stime each host spent meanwhile (/proc/PID/stat), divided by N. How a change
# moved the host's work per task, which the start's latency shows only in part (much of it
# runs beside the critical path, on another core).
# Usage: [TMPDIR=DIR] Benchmarks/host-cpu-per-task.sh BASELINE-BINARY [N]
#   as root, after: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run
#   BASELINE-BINARY: a copy of an earlier build's fargate-run.
# Both hosts serve the default network, so what one keeps of it the other finds too: a change
# to that (a host keeping its network between tasks) is timed with each host alone in turn.
set -euo pipefail
baseline=${1:?usage: host-cpu-per-task.sh BASELINE-BINARY [N]}
n=${2:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/Benchmarks/host-start/common.sh"
"$bin" serve --root "$work/new" --listen none --log-level error >/dev/null 2>&1 & hosts+=($!)
"$baseline" serve --root "$work/old" --listen none --log-level error >/dev/null 2>&1 & hosts+=($!)
for r in new old; do for _ in $(seq 1 100); do [ -S "$work/$r/host.sock" ] && break; sleep 0.05; done; done
one() { local id; id=$("$1" run -d --root "$2" "$work/task.json"); "$1" wait --root "$2" "$id" >/dev/null; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Warm: the image unpacked, the ledger made, page cache hot.
for _ in 1 2 3; do one "$bin" "$work/new"; one "$baseline" "$work/old"; done
new0=$(cpu "${hosts[0]}"); old0=$(cpu "${hosts[1]}")
for _ in $(seq 1 "$n"); do one "$bin" "$work/new"; one "$baseline" "$work/old"; done
new1=$(cpu "${hosts[0]}"); old1=$(cpu "${hosts[1]}")
tck=$(getconf CLK_TCK)
awk -v a=$((new1 - new0)) -v b=$((old1 - old0)) -v t="$tck" -v n="$n" 'BEGIN {
  printf "host CPU per task, %d tasks each: this build %.1f ms, baseline %.1f ms (%d and %d ticks of 1/%d s)\n", n, a * 1000 / t / n, b * 1000 / t / n, a, b, t }'
