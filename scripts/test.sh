#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (system packages, ONNX Runtime, the model,
# npm packages, tauri-driver), then runs format and lint checks, the Rust tests (engine on the real model and
# a real SQLite file, CLI, Tauri commands through the mock runtime), the UI unit tests, and the end-to-end
# test of the real app in a WebKit window under Xvfb.
#
# The UI is built first: the app crate embeds ui/dist when it compiles.
#
# Last, the .deb/.rpm are built and the .deb installed and tested (scripts/package.sh).
#
# Usage: scripts/test.sh [--no-setup] [--no-e2e] [--no-package]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

setup=1
e2e=1
package=1
for arg in "$@"; do
  case "$arg" in
    --no-setup) setup=0 ;;
    --no-e2e) e2e=0 ;;
    --no-package) package=0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

if [ "$setup" = 1 ]; then
  step "setup (system packages, ONNX Runtime, model)"
  bash scripts/setup.sh --test-tools
fi

step "UI: npm ci, typecheck, unit tests, build"
(cd ui && npm ci --no-audit --no-fund && npm test && npm run build)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (engine, CLI, app commands)"
cargo test --workspace

if [ "$e2e" = 1 ] && [ -f scripts/e2e.sh ]; then
  step "end-to-end: the real app under Xvfb"
  bash scripts/e2e.sh
fi

if [ "$package" = 1 ]; then
  step "packages: build the .deb and .rpm, install and test the .deb"
  bash scripts/package.sh
fi

printf '\nall test layers passed in %ss\n' "$(( $(date +%s) - started ))"
