#!/usr/bin/env bash
# A one-container /bin/true task started through a warm host until it is STOPPED, against
# `runc run` of the same rootfs, interleaved (Benchmarks/host-start/interleave.py says how
# each way is timed): through the host's API by a connected client, through the CLI
# (`run -d` + `wait`), in the foreground without a host, and runc.
# Usage: [TMPDIR=DIR] [BASELINE_BIN=OLD-BUILD] [WAYS=api,baseline] Benchmarks/host-start-latency.sh [RUNS]
#   WAYS=foreground: the foreground alone, no host running beside it.
#   as root, after: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run
#   BASELINE_BIN: a second host from another build (a copy of an earlier .build/release/
#   fargate-run) is timed beside this one's, interleaved: how a change moved the figure.
set -euo pipefail
runs=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v runc >/dev/null || { echo "runc is needed (apt-get install runc)" >&2; exit 1; }
. "$here/Benchmarks/host-start/common.sh"
root=$work/root
mkdir -p "$work/bundle/rootfs"
tar -xOf "$work/img/busybox.tar" "$(tar -tf "$work/img/busybox.tar" | grep layer.tar)" | tar -x -C "$work/bundle/rootfs"
(cd "$work/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' config.json)
# A warm host: image unpacked once, ledger created, page cache hot.
start_host() {  # BINARY ROOT; prints the host's pid
  "$1" serve --root "$2" --listen none --log-level error >/dev/null 2>>"$work/host.log" &
  local pid=$!
  for _ in $(seq 1 100); do [ -S "$2/host.sock" ] && break; sleep 0.05; done
  local id; id=$("$1" run -d --root "$2" "$work/task.json"); "$1" wait --root "$2" "$id" >/dev/null
  echo "$pid"
}
# A host keeps its network in the firewall table between its tasks, which a foreground run
# beside it finds there too: WAYS=foreground (without api, cli or baseline) runs no host, to
# time the foreground alone.
case ",${WAYS:-api,cli,foreground}," in
  *,api,*|*,cli,*|*,baseline,*) hosts+=("$(start_host "$bin" "$root")") ;;
esac
if [ -n "${BASELINE_BIN:-}" ]; then
  hosts+=("$(start_host "$BASELINE_BIN" "$work/baseline-root")")
  export BASELINE_ROOT=$work/baseline-root
fi
runc run --bundle "$work/bundle" bench-warm >/dev/null 2>&1
RUNS=$runs BIN=$bin ROOT=$root FGROOT=$work/fgroot TASK=$work/task.json BUNDLE=$work/bundle \
  python3 "$here/Benchmarks/host-start/interleave.py"
