#!/bin/bash
# report and advise over a big ledger: TASKS billed tasks over 30 days (20 families, 5
# services, a team tag), each sampled, SAMPLES usage samples in all (Docs/PERFORMANCE.md).
#   Benchmarks/usage-reports.sh [FARGATE-RUN] [TASKS] [SAMPLES]
set -euo pipefail
bin=${1:-.build/release/fargate-run}
tasks=${2:-100000}
samples=${3:-1000000}
root=$(mktemp -d /tmp/fr-usage-bench.XXXXXX)
trap 'rm -rf "$root"' EXIT
"$bin" report --root "$root" >/dev/null   # makes and migrates the ledger
per=$(( samples / tasks ))
start=$(( $(date +%s) - 30 * 86400 ))
sqlite3 "$root/ledger.sqlite" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $tasks)
INSERT INTO billing_records (task_arn, family, revision, cpu, memory, ephemeral_storage_gib, architecture, price_platform, region,
    billing_start_us, billing_end_us, billed_seconds, cost_nanos, vcpu_hour_nanos, gb_hour_nanos, stop_code, cluster, started_by, task_group)
SELECT printf('arn:aws:ecs:us-east-1:000000000000:task/bench/%032x', i), 'family-' || (i % 20), 1 + i % 3, 256 << (i % 3), 1024 << (i % 3), 20,
       'X86_64', 'linux/x86_64', 'us-east-1',
       ($start + i * (30 * 86400 / $tasks)) * 1000000, ($start + i * (30 * 86400 / $tasks) + 600 + i % 3000) * 1000000,
       600 + i % 3000,
       ((600 + i % 3000) * ((256 << (i % 3)) * 40480000 + (1024 << (i % 3)) * 4445000) * 2 + 3686400) / (3686400 * 2),
       40480000, 4445000, 'EssentialContainerExited', 'cluster-' || (i % 2), 'ci',
       CASE WHEN i % 4 = 0 THEN 'service:svc-' || (i % 5) ELSE 'family:family-' || (i % 20) END
FROM n;
INSERT INTO task_tags (task_arn, key, value) SELECT task_arn, 'team', 'team-' || (id % 7) FROM billing_records;
INSERT INTO usage_tasks (task_arn, family, revision, cpu, memory, start_us, service, cluster, containers)
SELECT task_arn, family, revision, cpu, memory, billing_start_us,
       CASE WHEN task_group LIKE 'service:%' THEN substr(task_group, 9) END, cluster, '[{"name":"app"}]' FROM billing_records;
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j + 1 < $per)
INSERT INTO usage_samples (task, container, t, span_ms, cpu_ns, mem, pids)
SELECT u.id, 0, u.start_us / 1000000 + 1 + k.j * 60, 60000, (u.id * 7919 + k.j * 104729) % (u.cpu * 60000000 / 1024),
       (u.id * 31 + k.j * 17) % (u.memory * 1048576), 3
FROM usage_tasks u, k;
COMMIT;
SQL
echo "ledger: $(sqlite3 "$root/ledger.sqlite" 'SELECT count(*) FROM billing_records') tasks, $(sqlite3 "$root/ledger.sqlite" 'SELECT count(*) FROM usage_samples') samples, $(du -h "$root/ledger.sqlite" | cut -f1)"
run() {
    local best=999
    for _ in 1 2 3; do
        local t0 t1
        t0=$(date +%s.%N)
        "$bin" "$@" --root "$root" >/dev/null
        t1=$(date +%s.%N)
        best=$(echo "$t1 - $t0" | bc -l | awk -v b="$best" '{ print ($1 < b) ? $1 : b }')
    done
    printf '%-70s %6.3f s\n' "$*" "$best"
}
run report --group-by family
run report --group-by family,day
run report --group-by tag:team
run report --group-by service,tag:team --since 7d --price-as arm64 --price-as spot
run report --format csv
run advise --min-data 1h
run advise --family family-3 --min-data 1h
