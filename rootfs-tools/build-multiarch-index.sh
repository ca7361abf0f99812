#!/usr/bin/env bash
# Builds a multi-platform OCI image layout: an image index (tag "latest") listing a
# linux/amd64 and a linux/arm64 manifest, for testing platform selection.
#   OUT/oci      the layout (use as oci:OUT/oci:latest, or push with skopeo copy --all)
#   OUT/digests  "index sha256:..", "amd64 sha256:..", "arm64 sha256:.."
# The amd64 image is the busybox test image. The arm64 entry is a placeholder: the same
# busybox-static files (Debian's amd64 build) labelled arm64, plus /etc/fargate-run-test-arch
# saying so. It is for selecting and unpacking, not for running.
# Usage: build-multiarch-index.sh OUT
set -euo pipefail
out=${1:?usage: build-multiarch-index.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo arm64-placeholder >"$work/arch-marker"
"$here/build-busybox-image.sh" "$work/amd64" --arch amd64 >/dev/null
"$here/build-busybox-image.sh" "$work/arm64" --arch arm64 --add "$work/arch-marker:/etc/fargate-run-test-arch" >/dev/null
rm -rf "$out/oci"
mkdir -p "$out/oci/blobs/sha256"
cp -n "$work"/amd64/oci/blobs/sha256/* "$work"/arm64/oci/blobs/sha256/* "$out/oci/blobs/sha256/"
desc() {  # the manifest descriptor of one single-platform layout, with its platform
  python3 - "$1" "$2" <<'PY'
import json, sys
idx = json.load(open(sys.argv[1] + "/oci/index.json"))
m = idx["manifests"][0]
print(json.dumps({"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
                  "platform": {"architecture": sys.argv[2], "os": "linux"}}, separators=(",", ":")))
PY
}
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
  "$(desc "$work/amd64" amd64)" "$(desc "$work/arm64" arm64)" >"$work/index.json"
index_digest=$(sha256sum "$work/index.json" | cut -d' ' -f1)
cp "$work/index.json" "$out/oci/blobs/sha256/$index_digest"
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$index_digest" "$(stat -c %s "$work/index.json")" >"$out/oci/index.json"
printf 'index sha256:%s\namd64 %s\narm64 %s\n' "$index_digest" \
  "$(awk '/^manifest/{print $2}' "$work/amd64/digests")" "$(awk '/^manifest/{print $2}' "$work/arm64/digests")" >"$out/digests"
echo "multi-platform index sha256:$index_digest: oci:$out/oci:latest"
