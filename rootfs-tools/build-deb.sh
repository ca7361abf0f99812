#!/usr/bin/env bash
# Builds the Debian package fargate-run_<version>_amd64.deb: the release binary with the static
# Swift runtime, its man page, bash/zsh/fish completions and the systemd unit for `serve`
# (staged by install.sh --prefix /usr), with the runtime libraries and tools it uses as
# dependencies. The version is the VERSION file's (rootfs-tools/build-info.sh).
#   build-deb.sh [OUTDIR]      (default: out/; prints the package's path last)
# Root or not; needs dpkg-dev (dpkg-shlibdeps) and what install.sh's build needs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
outdir=${1:-$repo/out}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
version=$("$here/build-info.sh" --version)
# Debian's variables for who packages, as dch reads them.
maintainer="${DEBFULLNAME:-fargate-run maintainers} <${DEBEMAIL:-maintainers@fargate-run.invalid}>"
arch=$(dpkg --print-architecture)
command -v dpkg-shlibdeps >/dev/null || { echo "build-deb.sh: dpkg-shlibdeps is needed (apt-get install dpkg-dev)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
"$here/install.sh" --prefix /usr --destdir "$root" >/dev/null
# As dh_strip does: the symbol table is half the binary's 160 MB. (A crash's backtrace then
# shows addresses, not names; install.sh keeps them.)
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/fargate-run"

# The shared libraries the binary links, as Debian package dependencies (libc6, libseccomp2,
# libsqlite3-0, ...), from their packages' shlibs files.
mkdir -p "$work/src/debian"
printf 'Source: fargate-run\n\nPackage: fargate-run\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/fargate-run" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies for the binary" >&2; exit 1; }
# Loaded with dlopen, so no ELF dependency names them: libarchive (every layer is unpacked
# with it) and libnftables (the host policy; the nft program where it does not load), which
# nftables depends on and which also brings nft.
depends="$shlibs, libarchive13, nftables"
# Used where present: iptables, whose FORWARD policy is opened for the task subnet where
# another firewall set it to DROP; CNI plugins, for a --network-config conflist.
recommends="iptables, containernetworking-plugins"

doc=$root/usr/share/doc/fargate-run
install -d -m 0755 "$doc"
install -m 0644 "$here/debian/copyright" "$doc/copyright"
install -D -m 0644 "$here/debian/lintian-overrides" "$root/usr/share/lintian/overrides/fargate-run"
date=$(git -C "$repo" log -1 --format=%aD 2>/dev/null || date -R)
commit=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
{
  echo "fargate-run ($version) unstable; urgency=medium"
  echo
  echo "  * Built from commit $commit. See the project's git history."
  echo
  echo " -- $maintainer  $date"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

install -d -m 0755 "$root/DEBIAN"
for script in postinst prerm postrm; do install -m 0755 "$here/debian/$script" "$root/DEBIAN/$script"; done
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: fargate-run
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Recommends: $recommends
Section: admin
Priority: optional
Description: run Amazon ECS task definitions locally, as AWS Fargate does
 fargate-run runs an ECS task definition on one Linux machine the way AWS
 Fargate runs it: OCI images unpacked once, one network namespace per task
 with its own IP, each container in its own namespaces under the task's
 cgroup limits, the ECS task lifecycle, and per-second billing into a
 SQLite ledger that reports what the tasks would have cost on Fargate.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb=$outdir/fargate-run_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
