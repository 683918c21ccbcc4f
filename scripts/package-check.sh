#!/usr/bin/env bash
# Checks of the installed Sift package, run as root by scripts/package.sh after `apt-get install ./sift.deb`:
#
#   installed  As a fresh non-root user (useradd -m: an empty home) with a clean environment (env -i: none of
#              the project's variables, no ~/.cache/sift) and no network (unshare -n, when the kernel allows
#              it): `sift index` a copy of tests/fixtures/notes plus tests/fixtures/formats/field-notes.pdf in
#              its home, then `sift search --json` must rank the right file first for paraphrases sharing no
#              content word with it (the PDF on page 2), and `sift status --json` must show the model and ONNX
#              Runtime were taken from the package. Also records the package's file list for `removed`.
#   removed    After `apt-get purge sift`: none of the package's files is left in /usr/bin, /usr/lib or
#              /usr/share.
#
# Env: SIFT_PREFIX (default /usr) checks a package unpacked elsewhere (`installed` only; e.g. a copy of the
# .deb's usr/ tree), SIFT_CHECK_STATE (default /tmp/sift-package-files.txt) where the file list is kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

prefix="${SIFT_PREFIX:-/usr}"
state="${SIFT_CHECK_STATE:-/tmp/sift-package-files.txt}"
die() { echo "error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it creates and removes a user)"

check_installed() {
  local sift="$prefix/bin/sift" user home net=() out
  [ -x "$sift" ] || die "$sift is not installed"
  if [ "$prefix" = /usr ]; then
    dpkg -L sift >"$state" || die "dpkg does not know the sift package"
  fi
  user="sift-check-$$"
  useradd -m -s /bin/sh "$user"
  # shellcheck disable=SC2064 # expand $user now, on purpose
  trap "userdel -r '$user' 2>/dev/null || true" EXIT
  home="$(getent passwd "$user" | cut -d: -f6)"
  [ -d "$home" ] && [ -z "$(ls -A "$home" | grep -v '^\.' || true)" ] || die "$home is not a fresh home"

  mkdir -p "$home/Documents/reports"
  cp -R tests/fixtures/notes/. "$home/Documents/"
  cp tests/fixtures/formats/field-notes.pdf "$home/Documents/reports/"
  chown -R "$user:" "$home/Documents"

  if unshare -n true 2>/dev/null; then
    net=(unshare -n)
  else
    echo "note: unshare -n is not permitted here; running with the network (Sift makes no requests)" >&2
  fi
  # as_user ARGS...: sift ARGS as the new user, in a clean environment, without network.
  as_user() {
    ${net[@]+"${net[@]}"} runuser -u "$user" -- env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 \
      "$sift" "$@"
  }

  echo "indexing $home/Documents as $user (env -i${net[*]:+, ${net[*]}})"
  as_user index "$home/Documents"
  out="$(mktemp -d)"
  chmod 755 "$out"
  as_user search --json "boat crossing halted by freezing weather so youngsters glided to lessons" \
    >"$out/pdf.json"
  as_user search --json "how can I get out of the contract before it ends" >"$out/contract.json"
  as_user search --json "quick dinner to cook after work" >"$out/dinner.json"
  as_user status --json >"$out/status.json"

  python3 - "$out" "$home/Documents" "$prefix" <<'PY'
import json, os, sys

out, docs, prefix = sys.argv[1:4]

def first(name, rel, page=None):
    with open(os.path.join(out, name + ".json"), encoding="utf-8") as f:
        results = json.load(f)["results"]
    if not results:
        sys.exit(f"error: search '{name}' found nothing")
    top = results[0]
    want = os.path.join(docs, rel)
    if top["path"] != want:
        sys.exit(f"error: search '{name}' ranked {top['path']} first, expected {want}")
    if page is not None and top["passage"].get("page") != page:
        sys.exit(f"error: search '{name}' showed page {top['passage'].get('page')}, expected {page}")
    print(f"ok: '{name}' -> {rel}" + (f" (page {page})" if page else ""))

first("pdf", "reports/field-notes.pdf", page=2)
first("contract", "legal/service-agreement.txt")
first("dinner", "kitchen/weeknight-pasta.md")

with open(os.path.join(out, "status.json"), encoding="utf-8") as f:
    status = json.load(f)["status"]
if status.get("model_source") != "bundled with Sift":
    sys.exit(f"error: the model came from {status.get('model_source')!r}, not the package")
runtime = status.get("runtime_library") or ""
if not os.path.realpath(runtime).startswith(os.path.realpath(os.path.join(prefix, "lib", "Sift")) + "/"):
    sys.exit(f"error: ONNX Runtime was loaded from {runtime!r}, not the package")
print(f"ok: model bundled ({status.get('model')} {status.get('precision')}), ONNX Runtime from {runtime}")
PY
  rm -rf "$out"
  # Nothing was fetched or built into the user's cache.
  [ ! -e "$home/.cache/sift" ] || die "sift wrote $home/.cache/sift: $(ls -A "$home/.cache/sift")"
  echo "installed package OK as a fresh user"
}

check_removed() {
  [ -f "$state" ] || die "no file list at $state (run '$0 installed' first)"
  if dpkg -s sift >/dev/null 2>&1; then
    die "dpkg still lists sift: $(dpkg -s sift | grep '^Status')"
  fi
  local left=() path
  while IFS= read -r path; do
    case "$path" in
      /usr/bin/* | /usr/lib/* | /usr/share/*)
        # Directories the package shares with others (/usr/share/applications, ...) stay.
        if [ -e "$path" ] && { [ ! -d "$path" ] || [[ "$path" == *[Ss]ift* ]]; }; then left+=("$path"); fi
        ;;
    esac
  done <"$state"
  [ ${#left[@]} = 0 ] || die "left after purge: ${left[*]}"
  echo "package removed cleanly ($(wc -l <"$state") paths checked)"
  rm -f "$state"
}

case "${1:-}" in
  installed) check_installed ;;
  removed) check_removed ;;
  *) die "usage: $0 installed|removed" ;;
esac
