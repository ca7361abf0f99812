#!/bin/bash
# What usage sampling costs: the sampler's CPU share of one core for 1, 50 and 500 tasks
# (a task cgroup and one container cgroup each, a sleeping process in its own network
# namespace), then 500 whose process wakes every second (busy: every second's rows written),
# and the ledger's growth per task-hour (Docs/PERFORMANCE.md). Root.
#   Benchmarks/usage-sampling.sh [SECONDS]
set -euo pipefail
seconds=${1:-30}
swift build -c release --product usage-bench >/dev/null
for run in "1" "50" "500" "500 busy"; do
    dir=$(mktemp -d /tmp/fr-sampling.XXXXXX)
    set -- $run
    .build/release/usage-bench "$1" "$seconds" "$dir" ${2:-}
    rm -rf "$dir"
done
