#!/usr/bin/env bash
# Validation of a task definition: fargate-run's whole check (strict JSON, the API model,
# Fargate's rules) against Python's json.loads of the same bytes (parsing only, no checks),
# both in-process over many repetitions, for every valid test definition. Prints
# microseconds per definition and the ratio.
# Usage: Benchmarks/validate.sh [REPETITIONS]   (release build)
set -euo pipefail
n=${1:-20000}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
printf '%-40s %8s %12s %12s %7s\n' definition bytes fargate-run json.loads ratio
for f in "$here"/Tests/ECSModelTests/Resources/valid/*.json; do
  fr=$("$bin" validate --repeat "$n" "$f" | sed -E 's/.*: ([0-9.]+) µs each.*/\1/')
  py=$(python3 -c 'import json,sys,timeit; d=open(sys.argv[1],"rb").read(); n=int(sys.argv[2]); print("%.1f" % (timeit.timeit(lambda: json.loads(d), number=n)/n*1e6))' "$f" "$n")
  printf '%-40s %8d %9s µs %9s µs %6.1fx\n' "$(basename "$f")" "$(stat -c %s "$f")" "$fr" "$py" "$(echo "$fr/$py" | bc -l)"
done
