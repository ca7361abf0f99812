#!/usr/bin/env bash
# Reading and checking every valid file of the task definition corpus (Tests/ECSModelTests/
# Resources/corpus: API JSON and YAML, CloudFormation and CDK templates, Terraform) with the
# flags of its first valid case in expected.json: `fargate-run validate --repeat N`,
# in-process, from bytes in memory (validate refuses an invalid file before timing it).
# Prints microseconds per load; the 50-resource CDK template's figure is the one
# Docs/PERFORMANCE.md holds to "under 10 ms".
# Usage: Benchmarks/validate-corpus.sh [REPETITIONS]   (release build)
set -euo pipefail
n=${1:-2000}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
dir=$here/Tests/ECSModelTests/Resources/corpus
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
# One line per file with a valid case: the name, then that case's flags.
python3 - "$dir/expected.json" > /tmp/validate-corpus.$$ <<'PY'
import json, shlex, sys
flags = {"resource": "--resource", "family": "--family", "cpu": "--cpu", "memory": "--memory", "networkMode": "--network-mode",
         "executionRoleArn": "--execution-role-arn", "taskRoleArn": "--task-role-arn"}
for name, entry in sorted(json.load(open(sys.argv[1])).items()):
    case = next((c for c in entry["cases"] if "refused" not in c and "errors" not in c), None)
    if case is None: continue
    args = []
    for k, v in (case.get("options") or {}).items():
        if k == "parameters":
            for p, x in v.items(): args += ["--parameter", f"{p}={x}"]
        else:
            args += [flags[k], v]
    print(shlex.join([name] + args))
PY
trap 'rm -f /tmp/validate-corpus.$$' EXIT
printf '%-44s %8s %12s %9s\n' file bytes per-load problems
while read -r line; do
  eval "set -- $line"
  f=$1; shift
  out=$("$bin" validate --repeat "$n" "$dir/$f" "$@")
  us=$(echo "$out" | sed -E 's/.*: ([0-9.]+) µs each.*/\1/')
  problems=$(echo "$out" | sed -E 's/.* ([0-9]+) problems each.*/\1/')
  printf '%-44s %8d %9s µs %9s\n' "$f" "$(stat -c %s "$dir/$f")" "$us" "$problems"
done < /tmp/validate-corpus.$$
