#!/usr/bin/env bash
# Builds a single-layer OCI image (tag "latest") from directories of this machine, with a
# gzip layer: the large image the unpack and pull benchmarks use.
# Usage: build-dir-image.sh OUT DIR...      e.g. build-dir-image.sh /tmp/big /usr/share /usr/lib/x86_64-linux-gnu
set -euo pipefail
out=${1:?usage: build-dir-image.sh OUT DIR...}
shift
[ $# -gt 0 ] || { echo "build-dir-image.sh: name at least one directory" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rels=()
for d in "$@"; do rels+=("${d#/}"); done
tar --sort=name --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --numeric-owner -C / -cf "$work/layer.tar" "${rels[@]}"
gzip -n -6 -c "$work/layer.tar" >"$work/layer.tar.gz"
sha() { sha256sum "$1" | cut -d' ' -f1; }
diff_id=$(sha "$work/layer.tar"); layer=$(sha "$work/layer.tar.gz")
arch=$(dpkg --print-architecture)
printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$arch" "$diff_id" >"$work/config.json"
config=$(sha "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$(stat -c %s "$work/config.json")" "$layer" "$(stat -c %s "$work/layer.tar.gz")" >"$work/manifest.json"
manifest=$(sha "$work/manifest.json")
rm -rf "$out"
mkdir -p "$out/oci/blobs/sha256"
mv "$work/layer.tar.gz" "$out/oci/blobs/sha256/$layer"
cp "$work/config.json" "$out/oci/blobs/sha256/$config"
cp "$work/manifest.json" "$out/oci/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$manifest" "$(stat -c %s "$work/manifest.json")" >"$out/oci/index.json"
echo "layer sha256:$layer $(stat -c %s "$out/oci/blobs/sha256/$layer") bytes (gzip), $(stat -c %s "$work/layer.tar") bytes (tar)" | tee "$out/summary"
