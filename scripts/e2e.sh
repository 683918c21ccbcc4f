#!/usr/bin/env bash
# End-to-end test of the desktop app: builds the UI and the debug app if needed, then drives the real binary
# under Xvfb through tauri-driver + WebKitWebDriver (e2e/app.test.mjs). Exits non-zero on failure.
#
#   scripts/e2e.sh                        # run the e2e test; artefacts (screenshots, logs) in test-output/e2e/
#   scripts/e2e.sh --update-screenshots   # also refresh docs/screenshots/*.png
#
# Needs (Debian/Ubuntu): libwebkit2gtk-4.1-dev and friends (see docs), webkit2gtk-driver xvfb xauth xdotool
# python3-gi gir1.2-gtk-3.0 dbus; Node 20+; the model from scripts/setup.sh. Env: SIFT_APP to test another binary
# (e.g. target/release/sift-app; with SIFT_E2E_INSTALLED=1 for an installed package, which then gets none of
# ORT_DYLIB_PATH/SIFT_MODEL_DIR/PDFIUM_DYLIB_PATH), SIFT_E2E_NO_DND=1 to add the folder through IPC instead
# of drag-and-drop.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for arg in "$@"; do
  case "$arg" in
    --update-screenshots) export SIFT_E2E_DOCS_SCREENSHOTS=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
missing=()
for tool in WebKitWebDriver xvfb-run xdotool dbus-run-session node npm cargo; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${SIFT_E2E_NO_DND:-}" != 1 ] && ! /usr/bin/python3 -c 'import gi; gi.require_version("Gtk", "3.0")' 2>/dev/null; then
  missing+=("python3-gi + gir1.2-gtk-3.0 (or set SIFT_E2E_NO_DND=1)")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "missing: ${missing[*]}" >&2
  echo "apt-get install -y --no-install-recommends webkit2gtk-driver xvfb xauth xdotool dbus python3-gi gir1.2-gtk-3.0" >&2
  exit 1
fi

cache="${SIFT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sift}"
if [ "${SIFT_E2E_INSTALLED:-}" != 1 ] && [ ! -f "$cache/models/all-MiniLM-L6-v2/model_int8.onnx" ] &&
  [ -z "${SIFT_MODEL_DIR:-}" ]; then
  echo "warning: the default model is not in $cache (run scripts/setup.sh); the test will fail" >&2
fi

driver="${TAURI_DRIVER:-}"
if [ -z "$driver" ]; then
  if command -v tauri-driver >/dev/null 2>&1; then driver="$(command -v tauri-driver)"
  else driver="$HOME/.cargo/bin/tauri-driver"; fi
fi
if [ ! -x "$driver" ]; then
  step "installing tauri-driver (cargo install tauri-driver --locked, about 40 s)"
  cargo install tauri-driver --locked
  driver="$HOME/.cargo/bin/tauri-driver"
fi
export TAURI_DRIVER="$driver"

step "e2e dependencies (npm ci)"
if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  (cd e2e && npm ci --no-audit --no-fund)
else
  echo "up to date"
fi

step "UI (ui/dist)"
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
npm --prefix ui run build --silent

if [ -z "${SIFT_APP:-}" ]; then
  step "debug app and CLI (cargo build -p sift-app -p sift-cli; the About check compares with sift --version)"
  cargo build -p sift-app -p sift-cli
fi

step "e2e test under Xvfb"
start=$(date +%s)
set +e
# A private D-Bus session: single instance (tauri-plugin-single-instance) and the tray find each other over it.
(cd e2e && dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" node --test --test-concurrency=1 app.test.mjs)
rc=$?
set -e
echo "e2e: exit $rc after $(( $(date +%s) - start )) s; artefacts in ${SIFT_E2E_OUT:-test-output/e2e}/"
exit $rc
