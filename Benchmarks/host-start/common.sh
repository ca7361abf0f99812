# Sourced by host-start-latency.sh and host-cpu-per-task.sh (with $here set to the project):
# the release binary ($bin), a work directory ($work) removed on exit, with every host whose
# pid is added to $hosts stopped first (polled: a host started in $(...) is not this shell's
# child), and a one-container /bin/true task on the busybox image ($work/task.json).
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
work=$(mktemp -d)
hosts=()
cleanup() {
  for h in "${hosts[@]}"; do kill "$h" 2>/dev/null || true; done
  for h in "${hosts[@]}"; do while kill -0 "$h" 2>/dev/null; do sleep 0.05; done; done
  rm -rf "$work"
}
trap cleanup EXIT
"$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
cat >"$work/task.json" <<JSON
{"family": "bench-true", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "true", "image": "oci:$work/img/oci:latest", "command": ["/bin/true"]}]}
JSON
