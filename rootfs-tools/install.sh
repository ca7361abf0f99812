#!/usr/bin/env bash
# Builds fargate-run for release with the Swift runtime linked in (Docs/PERFORMANCE.md: a start
# no longer loads the runtime's shared libraries) and installs it as a system tool: the binary,
# its man page and bash, zsh and fish completions (generated from its ArgumentParser
# definitions) and the systemd unit for `fargate-run serve`.
#
#   install.sh [--prefix DIR] [--no-deps]   build and install (default prefix /usr/local);
#                                           installs the system packages first unless --no-deps
#   install.sh --uninstall [--prefix DIR]   remove what install.sh installed (the state root,
#                                           /var/lib/fargate-run, and the ledger in it stay)
#   install.sh --destdir DIR [--prefix DIR] stage the files under DIR instead (no packages, no
#                                           systemctl): what build-deb.sh packages; with
#                                           --uninstall, remove them from DIR
#
# Root, on Debian 12, with Swift on PATH. The release build goes to .build/static (its own
# scratch directory, so that it can run while `swift test` holds .build's lock).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
prefix=/usr/local destdir="" deps=1 action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --destdir) destdir=${2:?--destdir needs a directory}; deps=0; shift 2 ;;
    --no-deps) deps=0; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be absolute: $prefix" >&2; exit 2 ;; esac
prefix=${prefix%/}
# Absolute, since the build below runs from the repository.
if [ -n "$destdir" ]; then destdir=$(mkdir -p "$destdir" && cd "$destdir" && pwd); fi
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then echo "install.sh: run as root (or stage with --destdir DIR)" >&2; exit 1; fi

# Where each file goes. Debian's own packages use /usr/share/zsh/vendor-completions and
# /lib/systemd/system; for /usr/local, zsh's site-functions and systemd's /usr/local unit path.
bin=$prefix/bin/fargate-run
man=$prefix/share/man/man1/fargate-run.1.gz
bash_completion=$prefix/share/bash-completion/completions/fargate-run
fish_completion=$prefix/share/fish/vendor_completions.d/fargate-run.fish
if [ "$prefix" = /usr ]; then
  zsh_completion=/usr/share/zsh/vendor-completions/_fargate-run
  unit=/lib/systemd/system/fargate-run.service
else
  zsh_completion=$prefix/share/zsh/site-functions/_fargate-run
  unit=$prefix/lib/systemd/system/fargate-run.service
fi
files=("$bin" "$man" "$bash_completion" "$zsh_completion" "$fish_completion" "$unit")
systemd_running() { [ -z "$destdir" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

if [ "$action" = uninstall ]; then
  if [ -z "$destdir" ] && [ "$prefix" = /usr ] && dpkg-query -W -f '${Status}' fargate-run 2>/dev/null | grep -q 'install ok installed'; then
    echo "install.sh: /usr/bin/fargate-run belongs to the fargate-run package: apt remove fargate-run" >&2; exit 1
  fi
  # Stopping the host leaves its tasks running (KillMode=process); they finish on their own.
  if systemd_running && [ -e "$unit" ]; then systemctl disable --now fargate-run.service 2>/dev/null || true; fi
  for f in "${files[@]}"; do
    if [ -e "$destdir$f" ]; then rm -f "$destdir$f"; echo "removed $destdir$f"; fi
  done
  if systemd_running; then systemctl daemon-reload; fi
  echo "install.sh: fargate-run uninstalled from $destdir$prefix; the state root (/var/lib/fargate-run by default) is kept"
  exit 0
fi

if [ "$deps" = 1 ]; then "$here/install-deps.sh" --build; fi
command -v swift >/dev/null || { echo "install.sh: swift is not on PATH (e.g. export PATH=/opt/swift/usr/bin:\$PATH)" >&2; exit 1; }

scratch=$repo/.build/static
cd "$repo"
echo "install.sh: building fargate-run for release with the static Swift runtime (a few minutes the first time)"
# --disable-local-rpath: no RUNPATH $ORIGIN, so the loader of this root binary searches only the
# system's library directories, never the one it is installed in (and makes no failed lookups there).
swift build -c release --static-swift-stdlib --disable-local-rpath --product fargate-run --scratch-path "$scratch"
# The man page comes from swift-argument-parser's generate-manual, the tool its generate-manual
# plugin runs: `swift package generate-manual` would first rebuild every product for release
# without the static runtime and relink this binary, so the tool is built and run on it here
# (with the same flags: other flags would rebuild what both share at every install).
swift build -c release --static-swift-stdlib --disable-local-rpath --product generate-manual --scratch-path "$scratch"
built=$scratch/release/fargate-run

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The man page's date is the commit's, so that the same commit gives the same page.
date=$(git -C "$repo" log -1 --format=%cs 2>/dev/null || date -u +%F)
"$scratch/release/generate-manual" "$built" --date "$date" --output-directory "$work"
gzip -9n "$work/fargate-run.1"
# Completion scripts are sourced, not run: no "#!" line (ArgumentParser's bash one has one).
for shell in bash zsh fish; do "$built" --generate-completion-script "$shell" | sed '1{/^#!/d}' >"$work/completion.$shell"; done
sed "s|@BINDIR@|$prefix/bin|g" "$here/systemd/fargate-run.service" >"$work/fargate-run.service"

install -D -m 0755 "$built" "$destdir$bin"
install -D -m 0644 "$work/fargate-run.1.gz" "$destdir$man"
install -D -m 0644 "$work/completion.bash" "$destdir$bash_completion"
install -D -m 0644 "$work/completion.zsh" "$destdir$zsh_completion"
install -D -m 0644 "$work/completion.fish" "$destdir$fish_completion"
install -D -m 0644 "$work/fargate-run.service" "$destdir$unit"
for f in "${files[@]}"; do echo "installed $destdir$f"; done
[ -n "$destdir" ] && exit 0

# A running host is restarted on the new binary; its tasks keep running (KillMode=process).
if systemd_running; then systemctl daemon-reload; systemctl try-restart fargate-run.service || true; fi
# An earlier /usr/bin/fargate-run (the .deb) stays behind this one on PATH.
if [ "$prefix" != /usr ] && [ -x /usr/bin/fargate-run ]; then
  echo "install.sh: note: /usr/bin/fargate-run (the Debian package) is also installed; $bin comes first on PATH"
fi
echo "install.sh: $("$bin" --version | sed 's/^/fargate-run /') installed in $prefix"
echo "install.sh: the host service: systemctl enable --now fargate-run (see README); to remove: rootfs-tools/install.sh --uninstall"
