#!/usr/bin/env bash
# Set up everything Sift needs on this machine (system packages, ONNX Runtime, the embedding model, the UI),
# build it, and launch the desktop app. With --cli, index FOLDER with the command-line tool and run QUERY.
#
# Usage: scripts/run.sh                     # launch the desktop app
#        scripts/run.sh --cli FOLDER QUERY  # index FOLDER and search it from the terminal
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

if [ "${1:-}" = "--cli" ]; then
  folder="${2:?usage: scripts/run.sh --cli FOLDER QUERY}"
  query="${3:?usage: scripts/run.sh --cli FOLDER QUERY}"
  cargo build --release -p sift-cli
  ./target/release/sift index "$folder"
  ./target/release/sift search "$query"
  exit 0
fi

(cd ui && npm ci --no-audit --no-fund && npm run build)
cargo build --release -p sift-app
exec ./target/release/sift-app
