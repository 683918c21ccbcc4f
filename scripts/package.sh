#!/usr/bin/env bash
# Build the installable packages (.deb and .rpm) with the Tauri CLI from npm, carrying everything Sift needs
# offline: ONNX Runtime, PDFium, the default model (laid out by scripts/resources.sh, taken from
# src-tauri/bundle/linux.json), the `sift` CLI as /usr/bin/sift and the licences in /usr/share/doc/sift. Then
# check the .deb: its metadata and contents (every bundled file against the layout's checksums), that the
# app's and the CLI's shared libraries resolve, and, as root (CI): install it with apt; as a fresh non-root
# user with an empty home, a clean environment and no network, `sift index` + `sift search` find the right
# files by meaning; the installed app passes the end-to-end test with no project environment variables; and
# `apt-get purge` leaves nothing of it behind.
#
# Needs scripts/setup.sh to have run (it builds the model the package carries).
# Usage: scripts/package.sh [--no-install]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

install=1
[ "${1:-}" = "--no-install" ] && install=0
step() { printf '\n==> %s\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }
target_dir="${CARGO_TARGET_DIR:-target}"
case "$(uname -m)" in
  x86_64) res_target=linux-x86_64 ;;
  aarch64) res_target=linux-aarch64 ;;
  *) die "no resource layout for $(uname -m)" ;;
esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

step "npm packages (Tauri CLI, UI)"
npm ci --no-audit --no-fund
[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund)

step "the sift CLI (cargo build -p sift-cli --release)"
cargo build -p sift-cli --release

step "resources for $res_target (scripts/resources.sh)"
bash scripts/resources.sh --target "$res_target" --cli "$target_dir/release/sift"
# One Linux bundle config serves both architectures (paths are relative to src-tauri/).
sed "s|resources/linux-x86_64/|resources/$res_target/|g" src-tauri/bundle/linux.json >"$scratch/bundle.json"

step "release build and bundles (npx tauri build --bundles deb,rpm --config src-tauri/bundle/linux.json)"
npx tauri build --bundles deb,rpm --config "$scratch/bundle.json"

deb=$(ls -t "$target_dir"/release/bundle/deb/*.deb | head -n 1)
rpm=$(ls -t "$target_dir"/release/bundle/rpm/*.rpm | head -n 1)
step "checking $deb"
dpkg-deb --info "$deb" | sed -n '1,20p'
# (Output is captured before grep -q: an early-exiting grep would SIGPIPE dpkg-deb under pipefail.)
[ "$(dpkg-deb --field "$deb" Package)" = "sift" ] || { echo "unexpected package name" >&2; exit 1; }
contents=$(dpkg-deb --contents "$deb")
grep -Eq ' (\./)?usr/bin/sift-app$' <<<"$contents" || { echo "no /usr/bin/sift-app in the package" >&2; exit 1; }
grep -q '\.desktop$' <<<"$contents" || { echo "no .desktop entry in the package" >&2; exit 1; }
for f in usr/bin/sift usr/lib/Sift/onnxruntime/libonnxruntime.so usr/lib/Sift/pdfium/libpdfium.so \
  usr/lib/Sift/models/all-MiniLM-L6-v2/model_int8.onnx usr/lib/Sift/models/all-MiniLM-L6-v2/tokenizer.json \
  usr/share/doc/sift/README.txt usr/share/doc/sift/onnxruntime/LICENSE usr/share/doc/sift/all-MiniLM-L6-v2/LICENSE; do
  grep -Eq " (\./)?$f\$" <<<"$contents" || die "no /$f in the package"
done
root="$scratch/root"
dpkg-deb -x "$deb" "$root"
# A desktop entry that launchers can find by keyword, and its icon in the standard hicolor sizes.
icon_sizes=(16 24 32 48 64 128 256 512)
desktop_file=$(find "$root/usr/share/applications" -name '*.desktop' | head -n 1)
[ -n "$desktop_file" ] || die "no desktop entry in the package"
grep -q '^Keywords=.*search' "$desktop_file" || die "the desktop entry has no Keywords"
icon_name=$(sed -n 's/^Icon=//p' "$desktop_file" | head -n 1)
[ -n "$icon_name" ] || die "the desktop entry names no icon"
for size in "${icon_sizes[@]}"; do
  [ -f "$root/usr/share/icons/hicolor/${size}x${size}/apps/$icon_name.png" ] || die "no ${size}x${size} $icon_name icon in the package"
done
if command -v desktop-file-validate >/dev/null 2>&1; then desktop-file-validate "$desktop_file"; fi
# One version everywhere: the package, `sift --version` and the app's About (the e2e checks the app's).
pkg_version=$(dpkg-deb --field "$deb" Version)
cli_version=$("$root/usr/bin/sift" --version)
[ "$cli_version" = "sift $pkg_version" ] || die "sift --version says '$cli_version', the package is $pkg_version"
# Every laid-out file went into the package unchanged (SHA256SUMS lists them relative to the layout).
layout="src-tauri/resources/$res_target"
# Where a file of the layout is installed.
installed_path() {
  case "$1" in
    bin/sift) echo usr/bin/sift ;;
    licenses/*) echo "usr/share/doc/sift/${1#licenses/}" ;;
    *) echo "usr/lib/Sift/$1" ;;
  esac
}
while read -r sum rel; do
  dest=$(installed_path "$rel")
  [ -f "$root/$dest" ] || die "/$dest missing from the package"
  [ "$(sha256sum "$root/$dest" | cut -d' ' -f1)" = "$sum" ] || die "/$dest differs from $layout/$rel"
done <"$layout/SHA256SUMS"
echo "all $(wc -l <"$layout/SHA256SUMS") bundled files present and unchanged"
for bin in sift-app sift; do
  if ldd "$root/usr/bin/$bin" | grep -q 'not found'; then
    ldd "$root/usr/bin/$bin" | grep 'not found' >&2
    die "the packaged $bin needs libraries that are not installed"
  fi
done
# The .rpm carries the same files (rpm --dump lists each path with its size and sha256).
if command -v rpm >/dev/null 2>&1; then
  step "checking $rpm"
  [ "$(rpm -qp --qf '%{VERSION}' "$rpm")" = "$pkg_version" ] || die "the .rpm's version is not $pkg_version"
  dump=$(rpm -qp --dump "$rpm")
  while read -r sum rel; do
    dest=$(installed_path "$rel")
    # Fields: path size mtime digest …; compared as strings (paths hold regex characters like "++").
    awk -v p="/$dest" -v s="$sum" '$1 == p && $4 == s { ok = 1 } END { exit !ok }' <<<"$dump" ||
      die "/$dest missing from the .rpm or different"
  done <"$layout/SHA256SUMS"
  grep -Eq "^/usr/bin/sift-app " <<<"$dump" || die "no /usr/bin/sift-app in the .rpm"
  grep -Eq "^/usr/share/applications/[^ /]+\.desktop " <<<"$dump" || die "no desktop entry in the .rpm"
  for size in "${icon_sizes[@]}"; do
    grep -Eq "^/usr/share/icons/hicolor/${size}x${size}/apps/$icon_name\.png " <<<"$dump" || die "no ${size}x${size} icon in the .rpm"
  done
  echo "the .rpm carries the same $(wc -l <"$layout/SHA256SUMS") bundled files, the app, its desktop entry and icons"
else
  echo "rpm is not installed: the .rpm's contents were not checked"
fi
ls -l "$deb" "$rpm"
echo "installed size: $(dpkg-deb --field "$deb" Installed-Size) KiB"

if [ "$install" = 1 ] && [ "$(id -u)" = 0 ]; then
  step "installing $deb with apt, testing the installed app, removing it"
  case "$deb" in /*) ;; *) deb="./$deb" ;; esac
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb"
  bash scripts/package-check.sh installed
  # The app under Xvfb, with none of the project's variables: it must find everything in /usr/lib/Sift.
  SIFT_APP=/usr/bin/sift-app SIFT_E2E_INSTALLED=1 bash scripts/e2e.sh
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sift
  bash scripts/package-check.sh removed
fi
echo "packages OK"
