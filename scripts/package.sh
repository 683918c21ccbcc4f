#!/usr/bin/env bash
# Build the installable packages (.deb and .rpm) with the Tauri CLI from npm, then check the .deb: its metadata,
# that the app's shared libraries all resolve, and — as root (CI) — that it installs with apt, that the
# installed app passes the end-to-end test, and that it uninstalls cleanly.
#
# Usage: scripts/package.sh [--no-install]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

install=1
[ "${1:-}" = "--no-install" ] && install=0
step() { printf '\n==> %s\n' "$*"; }

step "npm packages (Tauri CLI, UI)"
npm ci --no-audit --no-fund
[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund)

step "release build and bundles (npx tauri build --bundles deb,rpm)"
npx tauri build --bundles deb,rpm

deb=$(ls -t target/release/bundle/deb/*.deb | head -n 1)
rpm=$(ls -t target/release/bundle/rpm/*.rpm | head -n 1)
step "checking $deb"
dpkg-deb --info "$deb" | sed -n '1,20p'
# (Output is captured before grep -q: an early-exiting grep would SIGPIPE dpkg-deb under pipefail.)
[ "$(dpkg-deb --field "$deb" Package)" = "sift" ] || { echo "unexpected package name" >&2; exit 1; }
contents=$(dpkg-deb --contents "$deb")
grep -Eq ' (\./)?usr/bin/sift-app$' <<<"$contents" || { echo "no /usr/bin/sift-app in the package" >&2; exit 1; }
grep -q '\.desktop$' <<<"$contents" || { echo "no .desktop entry in the package" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dpkg-deb -x "$deb" "$scratch"
if ldd "$scratch/usr/bin/sift-app" | grep -q 'not found'; then
  ldd "$scratch/usr/bin/sift-app" | grep 'not found' >&2
  echo "the packaged app needs libraries that are not installed" >&2
  exit 1
fi
ls -l "$deb" "$rpm"

if [ "$install" = 1 ] && [ "$(id -u)" = 0 ]; then
  step "installing $deb with apt, testing the installed app, removing it"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb"
  SIFT_APP=/usr/bin/sift-app bash scripts/e2e.sh
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq sift
fi
echo "packages OK"
