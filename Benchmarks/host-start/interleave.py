"""A /bin/true task until STOPPED, four ways, interleaved (Benchmarks/host-start-latency.sh runs this).

  api         a client already connected to the host, as the ECS API's clients, the service
              scheduler or any program using the host are: POST /v1/tasks without waiting
              for RUNNING, then GET /v1/tasks/ID/wait, on the host's unix socket. No process
              is started per task: this is what the host itself costs.
  cli         `fargate-run run -d` then `fargate-run wait`: two process starts of fargate-run.
  foreground  `fargate-run task.json`, no host.
  runc        `runc run` of the same rootfs (the peer).

  baseline    with BASELINE_ROOT set: `api` on a second host there, started from another
              build (BASELINE_BIN in host-start-latency.sh), to compare two builds in one run:
              a change of a millisecond is lost between separate runs on a shared machine.

WAYS (comma-separated) picks some of them. Each way is timed from the caller's side; the
order rotates each round so that none always follows another. Prints median and p90 per way
and each way's median as a ratio to runc's.
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

BIN, ROOT, FGROOT, TASK, BUNDLE = (os.environ[k] for k in ("BIN", "ROOT", "FGROOT", "TASK", "BUNDLE"))
RUNS = int(os.environ.get("RUNS", "30"))
SOCKET = ROOT + "/host.sock"
BODY = json.dumps({"definitionPath": TASK, "workingDirectory": os.path.dirname(TASK), "count": 1,
                   "waitUntilStarted": False}).encode()


def request(method, path, body=b"", sock=SOCKET):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sock)
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: host\r\nContent-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n".encode() + body)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    finally:
        s.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit(f"{method} {path}: {head.decode(errors='replace')} {payload[:300]!r}")
    return payload


def api(i, sock=SOCKET):
    task_id = re.search(rb"task\\?/[^/\"\\]+\\?/([0-9a-f]{32})", request("POST", "/v1/tasks", BODY, sock)).group(1).decode()
    ended = json.loads(request("GET", f"/v1/tasks/{task_id}/wait", sock=sock))
    if ended["exitCode"] != 0:
        sys.exit(f"api: task {task_id} exited {ended['exitCode']}")


def baseline(i):
    api(i, os.environ["BASELINE_ROOT"] + "/host.sock")


def run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def cli(i):
    task_id = subprocess.run([BIN, "run", "-d", "--root", ROOT, TASK], check=True, capture_output=True, text=True).stdout.strip()
    run([BIN, "wait", "--root", ROOT, task_id])


def foreground(i):
    run([BIN, "-q", "--root", FGROOT, TASK])


def runc(i):
    run(["runc", "run", "--bundle", BUNDLE, f"bench-{os.getpid()}-{i}"])


WAYS = {"api": api, "cli": cli, "foreground": foreground, "runc": runc}
LABELS = {"api": "host API (a connected client)", "cli": "run -d + wait (two CLI processes)",
          "foreground": "foreground fargate-run task.json", "runc": "runc run",
          "baseline": "host API, baseline build"}
if "BASELINE_ROOT" in os.environ:
    WAYS["baseline"] = baseline
if os.environ.get("WAYS"):
    WAYS = {name: WAYS[name] for name in os.environ["WAYS"].split(",")}
    WAYS.setdefault("runc", runc)

times = {name: [] for name in WAYS}
names = list(WAYS)
for i in range(RUNS):
    for k in range(len(names)):
        name = names[(i + k) % len(names)]
        time.sleep(0.05)
        t0 = time.monotonic()
        WAYS[name](i)
        times[name].append((time.monotonic() - t0) * 1000)


def p90(values):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


base = statistics.median(times["runc"])
print(f"runs: {RUNS} of each, interleaved")
for name in names:
    m = statistics.median(times[name])
    print(f"{LABELS[name]:36} median {m:6.1f} ms  p90 {p90(times[name]):6.1f} ms  ratio to runc {m / base:.2f}")
