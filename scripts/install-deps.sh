#!/usr/bin/env bash
# Installs what the build, the tests and the demo need from Debian 12's packages, and nothing
# else: no downloads besides apt. Safe to run again: it only installs what is missing.
set -euo pipefail

packages=(
  # toolchain
  cmake make g++ pkg-config
  # the design card
  libtorch-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev openssl libeigen3-dev libdcmtk-dev libopenjp2-7-dev libsqlitecpp-dev libsqlite3-dev
  libspdlog-dev libgtest-dev libgmock-dev
  # supporting libraries
  libabsl-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  # the coordinator's live page (scancov-coord ui) and the HTML study reports (issue 15)
  libcpp-httplib-dev libcmark-gfm-dev libcmark-gfm-extensions-dev
  # Debian's LibTorch calls whatever libblas.so.3 the machine has, and a fresh install has the
  # reference BLAS (6x slower U-Net inference, 2x slower training: issue 16). OpenBLAS registers
  # itself as the preferred libblas.so.3; `scancov-node check` and `run` say which one is used.
  libopenblas0-pthread
)
# `install-deps.sh test`: also what the test run needs (clang + libFuzzer for the fuzz smoke run).
if [[ "${1:-}" == "test" ]]; then
  packages+=(clang libclang-rt-14-dev)
  # headless Chromium renders the live page and the HTML reports in their tests
  packages+=(chromium)
fi
# `install-deps.sh bench`: also PyTorch-Python, for bench/unet_side_by_side.sh (issue 16), and
# pydicom with GDCM for bench/decode_by_syntax.sh: Debian's
# python3-torch runs on the same libtorch_cpu.so as the node.
if [[ "${1:-}" == "bench" ]]; then
  packages+=(python3-torch python3-pydicom python3-gdcm)
fi
if [[ "${SCANCOV_EXTRA_PACKAGES:-}" != "" ]]; then
  read -r -a extra <<<"${SCANCOV_EXTRA_PACKAGES}"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to apt-get install" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
