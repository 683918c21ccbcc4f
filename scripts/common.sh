# shellcheck shell=bash
# Helpers shared by scripts/setup.sh and scripts/resources.sh. Sourced, not run.

# sha256 of a file (sha256sum on Linux, shasum on macOS).
sha256_file() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1 # macOS
  fi
}

# The cache root: $SIFT_CACHE_DIR, else ~/Library/Caches/sift (macOS) or $XDG_CACHE_HOME/sift (~/.cache/sift).
cache_root() {
  if [[ -n "${SIFT_CACHE_DIR:-}" ]]; then
    printf '%s\n' "$SIFT_CACHE_DIR"
  elif [[ "$(uname -s)" == "Darwin" ]]; then
    printf '%s\n' "$HOME/Library/Caches/sift"
  else
    printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/sift"
  fi
}
