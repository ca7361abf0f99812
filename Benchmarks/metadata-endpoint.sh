#!/usr/bin/env bash
# The task metadata endpoint (169.254.170.2 inside each task, Docs/METADATA.md), three figures:
#  1. start   what the endpoint adds to a task's start: a one-container /bin/true task, run in
#             the foreground and through a warm host (run -d + wait), with the endpoint and
#             without it (FARGATE_RUN_BENCHMARK_NO_ENDPOINT=1, a switch for this script only),
#             interleaved, the order turned every other round; then phase marks (FARGATE_RUN_TIMING) of the endpoint's own steps.
#  2. latency GET .../task, .../stats, .../task/stats from inside a task's network namespace
#             (nsenter --net, a Python client on raw sockets), a new connection per request and
#             one kept alive, against busybox httpd serving the same bytes from a file in the
#             same task (connection per request: it does no keep-alive), interleaved. Paced
#             under the agent's rate limit (40 a second per caller address and path): three
#             caller addresses of the namespace, each path's bucket asked ~22 times a second.
#  3. memory  the runtime's memory (PSS of the host and every task's monitor, as
#             host-density.sh): its growth as a warm host starts N idle tasks, without the
#             endpoint (the switch) and with it, then as each task's endpoint answers once
#             (task, stats, task/stats); hosts alternate, ROUNDS times.
# Every request goes to addresses of the task's own namespace, checked first: the client
# binds to 169.254.170.2 there before it sends anything (a bind fails unless the address is
# the namespace's own), so nothing is ever sent to 169.254.0.0/16 outside a task.
# Usage: [TMPDIR=DIR] [PARTS="start latency memory"] Benchmarks/metadata-endpoint.sh [RUNS] [REQUESTS] [TASKS] [ROUNDS]
#   defaults 30 starts per variant, 2000 requests per path and way, 40 tasks, 2 memory rounds
#   as root, after: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run
set -euo pipefail
runs=${1:-30}
requests=${2:-2000}
tasks=${3:-40}
rounds=${4:-2}
parts=" ${PARTS:-start latency memory} "
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
py=/usr/bin/python3
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
[ -x "$py" ] || { echo "python3 is needed (apt-get install python3)" >&2; exit 1; }
work=$(mktemp -d)
hosts=()
stop_host() { # ROOT PID
  for id in $("$bin" ps --root "$1" | awk 'NR>1{print $1}'); do "$bin" stop --root "$1" "$id" >/dev/null 2>&1 || true; done
  for id in $("$bin" ps --root "$1" | awk 'NR>1{print $1}'); do timeout 60 "$bin" wait --root "$1" "$id" >/dev/null 2>&1 || true; done
  kill "$2" 2>/dev/null; wait "$2" 2>/dev/null || true
  "$bin" gc --root "$1" >/dev/null 2>&1 || true
}
cleanup() {
  for h in "${hosts[@]}"; do stop_host "${h%%:*}" "${h##*:}"; done
  "$bin" gc --root "$work/fg" >/dev/null 2>&1 || true
  "$bin" gc --root "$work/fgoff" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
start_host() { # ROOT [ENV...]: starts a host, sets $host_pid
  env "${@:2}" "$bin" serve --root "$1" --listen none --log-level error 2>>"$work/host.log" &
  host_pid=$!
  hosts+=("$1:$host_pid")
  for _ in $(seq 1 100); do [ -S "$1/host.sock" ] && return; sleep 0.05; done
  echo "host at $1 did not start" >&2; cat "$work/host.log" >&2; exit 1
}
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
image="oci:$work/img/oci:latest"
ns() { date +%s%N; }
stat() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%d %d %d", a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[int(NR*0.99+0.5)]}'; }
ms() { echo "$1/1000" | bc -l; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r)"

cat >"$work/true.json" <<JSON
{"family": "bench-true", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "true", "image": "$image", "command": ["/bin/true"]}]}
JSON
off=FARGATE_RUN_BENCHMARK_NO_ENDPOINT=1

# ---- 1. start ---------------------------------------------------------------------------
if [[ $parts == *" start "* ]]; then
start_host "$work/on"; on_root=$work/on
start_host "$work/off" "$off"; off_root=$work/off
# Warm up: image unpacked in every root, ledgers made, page cache hot.
for r in "$on_root" "$off_root"; do id=$("$bin" run -d --root "$r" "$work/true.json"); "$bin" wait --root "$r" "$id" >/dev/null; done
"$bin" -q --root "$work/fg" "$work/true.json" >/dev/null 2>&1
env "$off" "$bin" -q --root "$work/fgoff" "$work/true.json" >/dev/null 2>&1
# Without the endpoint a container gets no ECS_CONTAINER_METADATA_URI_V4: checked, so the
# switch is known to have taken effect.
cat >"$work/env.json" <<JSON
{"family": "bench-env", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "env", "image": "$image", "command": ["sh", "-c", "echo uri=\$ECS_CONTAINER_METADATA_URI_V4"]}]}
JSON
out=$("$bin" -q --root "$work/fg" "$work/env.json" 2>/dev/null)
[[ $out == *uri=http://169.254.170.2/v4/* ]] || { echo "no endpoint with it on: $out" >&2; exit 1; }
out=$(env "$off" "$bin" -q --root "$work/fgoff" "$work/env.json" 2>/dev/null)
[[ $out == *uri=* && $out != *uri=http* ]] || { echo "the switch did not take the endpoint off: $out" >&2; exit 1; }
hosted() { local id; id=$("$bin" run -d --root "$1" "$work/true.json"); "$bin" wait --root "$1" "$id" >/dev/null; }
for f in fg fgoff host hostoff; do : >"$work/$f.txt"; done
: >"$work/marks.txt"
settle() { sleep 0.05; }
variant() { # NAME: one timed start
  local t0 t1
  settle; t0=$(ns)
  case $1 in
    fg) "$bin" -q --root "$work/fg" "$work/true.json" >/dev/null 2>&1 ;;
    fgoff) env "$off" "$bin" -q --root "$work/fgoff" "$work/true.json" >/dev/null 2>&1 ;;
    host) hosted "$on_root" ;;
    hostoff) hosted "$off_root" ;;
  esac
  t1=$(ns); echo $(( (t1 - t0) / 1000 )) >>"$work/$1.txt"
}
for i in $(seq 1 "$runs"); do
  # Every other round the other way round: a run pays some of the one before's teardown.
  if (( i % 2 )); then order="fg fgoff host hostoff"; else order="fgoff fg hostoff host"; fi
  for v in $order; do variant "$v"; done
  # Marked runs are not timed: the marks' own writes would be in the time.
  settle; FARGATE_RUN_TIMING=$(ns) "$bin" -q --root "$work/fg" "$work/true.json" 2>&1 >/dev/null | grep '^timing' >>"$work/marks.txt"; echo "-- end" >>"$work/marks.txt"
done
stop_host "$on_root" "${hosts[0]##*:}"; stop_host "$off_root" "${hosts[1]##*:}"; hosts=()
printf '\n1. start, %d runs of each interleaved (ms)     median     p90\n' "$runs"
for v in "fg:foreground, endpoint" "fgoff:foreground, no endpoint" "host:run -d + wait, endpoint" "hostoff:run -d + wait, no endpoint"; do
  read -r m p _ <<<"$(stat "$work/${v%%:*}.txt")"
  printf '   %-40s %7.1f %7.1f\n' "${v#*:}" "$(ms "$m")" "$(ms "$p")"
done
read -r a _ <<<"$(stat "$work/fg.txt")"; read -r b _ <<<"$(stat "$work/fgoff.txt")"
read -r c _ <<<"$(stat "$work/host.txt")"; read -r d _ <<<"$(stat "$work/hostoff.txt")"
printf '   ratio with/without, median: foreground %.3f, hosted %.3f\n' "$(echo "$a/$b" | bc -l)" "$(echo "$c/$d" | bc -l)"
# Per marked run: the listener's making on its own thread (from the namespace's mark), what
# the start waited for it, and handing it to the server (from the mark before).
awk '
  /^-- end/ { if (made != "") { print made - netns, taken - waitm, served - before } made = ""; next }
  { t = $2; $1 = $2 = $3 = ""; sub(/^ +/, "")
    if ($0 == "netns") netns = t
    else if ($0 == "endpoint listener made") made = t
    else if ($0 == "endpoint wait") waitm = t
    else if ($0 == "endpoint listener taken") taken = t
    else if ($0 == "endpoint served") { served = t; before = last }
    if ($0 != "endpoint listener made") last = t }
' "$work/marks.txt" >"$work/steps.txt"
for col in 1 2 3; do awk -v c=$col '{printf "%d\n", $c * 1000}' "$work/steps.txt" >"$work/step$col.txt"; done
read -r s1 p1 _ <<<"$(stat "$work/step1.txt")"; read -r s2 p2 _ <<<"$(stat "$work/step2.txt")"; read -r s3 p3 _ <<<"$(stat "$work/step3.txt")"
printf '   phase marks, %d marked foreground runs (ms)  median     p90\n' "$(wc -l <"$work/steps.txt")"
printf '   %-40s %7.3f %7.3f\n' "listener made (its own thread)" "$(ms "$s1")" "$(ms "$p1")" \
  "start waited for it" "$(ms "$s2")" "$(ms "$p2")" "handed to the server" "$(ms "$s3")" "$(ms "$p3")"
echo "   one run's marks:"; awk '/^-- end/ {exit} {print "     " $0}' "$work/marks.txt"
fi

# The client of parts 2 and 3, run inside a task's namespace.
cat >"$work/client.py" <<'PY'
import json, math, socket, sys, time

EP = "169.254.170.2"

def local_check():
    # Binding to the address succeeds only if it is this namespace's own (ip_nonlocal_bind is 0
    # here): nothing is sent unless 169.254.170.2 is answered inside this namespace.
    s = socket.socket()
    try:
        s.bind((EP, 0))
    except OSError as e:
        sys.exit(f"169.254.170.2 is not an address of this namespace ({e}): nothing sent")
    finally:
        s.close()

def read_response(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise IOError("closed before the headers")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    if length is None:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, rest
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise IOError("closed in the body")
        rest += chunk
    return status, rest[:length]

def once(src, host, port, path, close=True):
    s = socket.socket()
    s.bind((src, 0))
    s.connect((host, port))
    conn = "Connection: close\r\n" if close else ""
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{conn}\r\n".encode())
    r = read_response(s)
    s.close()
    return r

class Kept:
    def __init__(self, src):
        self.src = src
        self.s = None
    def get(self, path):
        if self.s is None:
            self.s = socket.socket()
            self.s.bind((self.src, 0))
            self.s.connect((EP, 80))
        self.s.sendall(f"GET {path} HTTP/1.1\r\nHost: {EP}\r\n\r\n".encode())
        return read_response(self.s)

def pct(xs, p):
    # The nearest-rank percentile.
    xs = sorted(xs)
    return xs[max(0, math.ceil(len(xs) * p) - 1)]

def main():
    mode = sys.argv[1]
    local_check()
    status, body = once(EP, EP, 80, "/v2/metadata")
    assert status == 200, status
    meta = json.loads(body)
    c = meta["Containers"][0]
    base = "/v4/" + c["DockerId"]
    if mode == "query":  # memory: each document once
        for p in ("/task", "/stats", "/task/stats"):
            st, _ = once(EP, EP, 80, base + p)
            assert st == 200, (p, st)
        return
    n = int(sys.argv[2])
    ip = c["Networks"][0]["IPv4Addresses"][0]
    sources = [EP, "127.0.0.1", ip]
    paths = [("task", "/task"), ("stats", "/stats"), ("task/stats", "/task/stats")]
    peer_paths = {"task": "/task", "stats": "/stats", "task/stats": "/taskstats"}
    # The peer's copies must be there, and be the same kind of document.
    for name, p in paths:
        st, b = once("127.0.0.1", "127.0.0.1", 8080, peer_paths[name])
        assert st == 200 and b[:1] == b"{", (name, st)
    kept = {src: Kept(src) for src in sources}
    times = {(k, name): [] for k in ("new", "kept", "peer") for name, _ in paths}
    sizes = {}
    statuses = {}
    period = 1 / 45  # rounds a second: each (address, path) bucket gets 2 of ours every 3 rounds, ~30/s
    next_round = time.monotonic()
    jobs = [(k, name, p) for name, p in paths for k in ("new", "kept", "peer")]
    for r in range(n):
        src = sources[r % 3]
        # Each round in another order: none of the nine is always the first after the pause.
        for k, name, p in jobs[r % 9:] + jobs[:r % 9]:
            t0 = time.perf_counter_ns()
            if k == "new":
                st, b = once(src, EP, 80, base + p)
            elif k == "kept":
                st, b = kept[src].get(base + p)
            else:
                st, b = once("127.0.0.1", "127.0.0.1", 8080, peer_paths[name])
            t1 = time.perf_counter_ns()
            times[(k, name)].append(t1 - t0)
            if k == "peer":
                assert st == 200, st
                sizes["peer " + name] = len(b)
            else:
                statuses[st] = statuses.get(st, 0) + 1
                sizes[name] = len(b)
        next_round += period
        delay = next_round - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(f"   statuses of the endpoint's {sum(statuses.values())} answers: {statuses}")
    print(f"   body bytes: " + ", ".join(f"{k} {v}" for k, v in sorted(sizes.items())))
    print(f"   {'(ms)':46} {'median':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    for k, label in (("new", "endpoint, a connection each"), ("kept", "endpoint, kept alive"), ("peer", "busybox httpd, a connection each")):
        for name, _ in paths:
            xs = times[(k, name)]
            print(f"   {label + ' ' + name:46} {pct(xs, .5)/1e6:7.3f} {pct(xs, .9)/1e6:7.3f} {pct(xs, .99)/1e6:7.3f} {max(xs)/1e6:7.3f}")
    for name, _ in paths:
        a, b = times[("new", name)], times[("peer", name)]
        print(f"   ratio endpoint/httpd {name:11} median {pct(a, .5)/pct(b, .5):.2f}, p99 {pct(a, .99)/pct(b, .99):.2f}")

main()
PY

# ---- 2. latency -------------------------------------------------------------------------
if [[ $parts == *" latency "* ]]; then
# The container keeps a copy of each document in a file and serves it with busybox httpd: the
# peer, in the same namespace, answering the same bytes.
cat >"$work/serve.json" <<JSON
{"family": "bench-meta", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "app", "image": "$image", "stopTimeout": 2, "command": ["sh", "-c",
   "mkdir -p /www && sleep 1 && wget -qO /www/task \$ECS_CONTAINER_METADATA_URI_V4/task && wget -qO /www/stats \$ECS_CONTAINER_METADATA_URI_V4/stats && wget -qO /www/taskstats \$ECS_CONTAINER_METADATA_URI_V4/task/stats && exec httpd -f -p 8080 -h /www"]}]}
JSON
start_host "$work/lat"; lat_root=$work/lat
id=$("$bin" run -d --root "$lat_root" "$work/serve.json")
netns=/run/netns/fr-${id:0:16}
for _ in $(seq 1 100); do
  nsenter --net="$netns" "$py" -c 'import socket; socket.create_connection(("127.0.0.1", 8080), 1).close()' 2>/dev/null && break
  sleep 0.1
done
printf '\n2. latency from inside a task, %d requests per path and way, interleaved\n' "$requests"
nsenter --net="$netns" ip -o addr show dev lo | grep -c 'inet 169.254.170.2/32' >/dev/null || { echo "169.254.170.2 is not on the task's loopback: nothing sent" >&2; exit 1; }
nsenter --net="$netns" "$py" "$work/client.py" latency "$requests"
stop_host "$lat_root" "${hosts[0]##*:}"; hosts=()
fi

# ---- 3. memory --------------------------------------------------------------------------
cat >"$work/idle.json" <<JSON
{"family": "idle", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "a", "image": "$image", "command": ["sleep", "100000"], "stopTimeout": 2}]}
JSON
pss() { awk '/^Pss:/ {s+=$2} END {print s+0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
runtime_pss() { # ROOT HOSTPID: host PSS + its tasks' monitors' PSS, in KiB
  local total; total=$(pss "$2")
  for p in $(pgrep -f "fargate-monitor $1/tasks/"); do total=$(( total + $(pss "$p") )); done
  echo "$total"
}
fill() { # ROOT: TASKS idle tasks, running; their ids in $work/ids
  local left=$tasks n
  : >"$work/ids"
  while [ "$left" -gt 0 ]; do n=$(( left < 10 ? left : 10 )); "$bin" run -d --count "$n" --root "$1" "$work/idle.json" >>"$work/ids"; left=$(( left - n )); done
  local running; running=$("$bin" ps --root "$1" | awk 'NR>1 && $3=="RUNNING"' | wc -l)
  [ "$running" -eq "$tasks" ] || { echo "$running of $tasks tasks running" >&2; exit 1; }
}
warm() { # ROOT: one task run to its end, so that what every first task makes is in the baseline
  local id; id=$("$bin" run -d --root "$1" "$work/true.json"); "$bin" wait --root "$1" "$id" >/dev/null; sleep 1
}
threads() { ls "/proc/$1/task" | wc -l; }
quiet() { # PID LIMIT: until the host is down to LIMIT threads (the starts' own are gone), at most 30 s
  for _ in $(seq 1 60); do [ "$(threads "$1")" -le "$2" ] && break; sleep 0.5; done; sleep 2
}
row() { printf '   %-46s %9d %9d %+12.1f\n' "$1" "$2" "$3" "$(echo "($3-$2)/$tasks" | bc -l)"; }
if [[ $parts == *" memory "* ]]; then
printf '\n3. memory, %d idle tasks per host, %d rounds (host + monitors PSS, KiB)\n' "$tasks" "$rounds"
printf '   %-46s %9s %9s %12s\n' "" "before" "after" "per task"
for round in $(seq 1 "$rounds"); do
  start_host "$work/memoff$round" "$off"; mo_root=$work/memoff$round; mo_pid=$host_pid
  warm "$mo_root"; idle_threads=$(threads "$mo_pid"); off_base=$(runtime_pss "$mo_root" "$mo_pid")
  fill "$mo_root"; quiet "$mo_pid" "$idle_threads"
  off_kib=$(runtime_pss "$mo_root" "$mo_pid")
  stop_host "$mo_root" "$mo_pid"; hosts=()
  start_host "$work/mem$round"; m_root=$work/mem$round; m_pid=$host_pid
  warm "$m_root"; idle_threads=$(threads "$m_pid"); on_base=$(runtime_pss "$m_root" "$m_pid")
  fill "$m_root"; quiet "$m_pid" "$idle_threads"
  idle_kib=$(runtime_pss "$m_root" "$m_pid"); threads_before=$(threads "$m_pid")
  [ "$(grep -cE '^[0-9a-f]{32}$' "$work/ids")" -eq "$tasks" ] || { echo "run -d did not give $tasks task ids" >&2; exit 1; }
  for tid in $(cat "$work/ids"); do
    tns=/run/netns/fr-${tid:0:16}
    nsenter --net="$tns" ip -o addr show dev lo | grep -c 'inet 169.254.170.2/32' >/dev/null || { echo "169.254.170.2 is not on $tns's loopback: nothing sent" >&2; exit 1; }
    nsenter --net="$tns" "$py" "$work/client.py" query
  done
  quiet "$m_pid" $(( idle_threads + 1 ))  # + the endpoint's event loop thread
  asked_kib=$(runtime_pss "$m_root" "$m_pid"); threads_after=$(threads "$m_pid")
  stop_host "$m_root" "$m_pid"; hosts=()
  echo "   round $round"
  row "no endpoint (switch): $tasks tasks started" "$off_base" "$off_kib"
  row "endpoint: $tasks tasks started" "$on_base" "$idle_kib"
  row "endpoint: each task asked once (3 documents)" "$idle_kib" "$asked_kib"
  printf '   %-46s %9d %9d\n' "host threads" "$threads_before" "$threads_after"
done
fi
