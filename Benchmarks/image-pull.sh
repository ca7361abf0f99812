#!/usr/bin/env bash
# Pulling the ~240 MB one-layer image from Debian's docker-registry on 127.0.0.1:
# `fargate-run images pull` (download, digest checks, unpack) against `skopeo copy` to an OCI
# directory (download and digest checks, no unpack), interleaved. Then what a cached image adds
# to a task's start: the "pull" phase of a task whose image is already here, from
# fargate-run's phase marks, for a local oci: image and for the registry image (--pull always
# asks the registry for the manifest; --pull missing does not).
# Usage: Benchmarks/image-pull.sh [RUNS]   (root; release build; docker-registry, skopeo)
set -euo pipefail
runs=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FARGATE_RUN_BIN:-$here/.build/release/fargate-run}
[ -x "$bin" ] || { echo "build first: swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run" >&2; exit 1; }
img=${FR_BENCH_IMAGE:-/var/tmp/fargate-run-bench/big}
[ -f "$img/summary" ] || "$here/rootfs-tools/build-dir-image.sh" "$img" /usr/lib/x86_64-linux-gnu >/dev/null
work=$(mktemp -d /var/tmp/fr-pull.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/config.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$work/config.yml" >/dev/null 2>&1 &
regpid=$!
trap 'kill $regpid 2>/dev/null; wait $regpid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do busybox wget -q -O /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null && break; sleep 0.1; done
skopeo copy --dest-tls-verify=false "oci:$img/oci:latest" "docker://127.0.0.1:$port/big:1" >/dev/null
ms() { echo $(( ($2 - $1) / 1000000 )); }
: >"$work/fr"; : >"$work/skopeo"
for i in $(seq 1 "$runs"); do
  sync
  t0=$(date +%s%N); "$bin" images pull -q --root "$work/r$i" "127.0.0.1:$port/big:1" >/dev/null; sync; t1=$(date +%s%N)
  ms "$t0" "$t1" >>"$work/fr"
  [ "$i" -lt "$runs" ] && rm -rf "$work/r$i"
  sync
  t0=$(date +%s%N); skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$port/big:1" "oci:$work/s$i:1" >/dev/null; sync; t1=$(date +%s%N)
  ms "$t0" "$t1" >>"$work/skopeo"; rm -rf "$work/s$i"
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
f=$(med "$work/fr"); s=$(med "$work/skopeo")
printf 'fargate-run images pull (download+unpack)  median %6d ms\nskopeo copy to oci: (download only)        median %6d ms\nratio fargate-run/skopeo: %.2f\n' "$f" "$s" "$(echo "$f/$s" | bc -l)"

# A cached image at task start: the pull phase ("provisioned" to "images ready") of
# /bin/true tasks whose image is already unpacked in the root.
root="$work/r$runs"
phase() {  # IMAGE PULLPOLICY -> median ms of the pull phase over 10 runs
  printf '{"family":"cached","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"c","image":"%s","command":["/bin/true"]}]}' "$1" >"$work/t.json"
  : >"$work/phase"
  for _ in $(seq 1 10); do
    FARGATE_RUN_TIMING=1 "$bin" -q --root "$root" --network none --pull "$2" "$work/t.json" 2>&1 >/dev/null \
      | awk '/ provisioned$/{p=$2} / images ready$/{r=$2} END{printf "%.2f\n", r-p}' >>"$work/phase"
  done
  sort -n "$work/phase" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
"$bin" images pull -q --root "$root" "oci:$img/oci:latest" >/dev/null
echo "pull phase with the image cached (median of 10):"
echo "  oci: layout                  $(phase "oci:$img/oci:latest" always) ms"
echo "  registry, --pull always      $(phase "127.0.0.1:$port/big:1" always) ms"
echo "  registry, --pull missing     $(phase "127.0.0.1:$port/big:1" missing) ms"
