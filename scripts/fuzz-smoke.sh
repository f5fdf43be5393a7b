#!/usr/bin/env bash
# A short libFuzzer run of the DICOM import path (node/imaging/fuzz_dicom_import), as CI does
# after the tests: clang build with ASan, a seed corpus of tiny phantom series in several
# encodings, then FUZZ_SECONDS of fuzzing. Any crash, leak or ASan report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD:-build-fuzz}
SECONDS_TO_FUZZ=${FUZZ_SECONDS:-20}
JOBS=${JOBS:-$(nproc)}
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DSCANCOV_FUZZ=ON -DSCANCOV_WITH_TORCH=OFF \
  -DSCANCOV_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target fuzz_dicom_import scancov-synth-ct
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
s=1
for e in "rle --localizer" "jpeg-ls --rescale-intercept 0" implicit jpeg-lossless explicit; do
  s=$((s + 1))
  # shellcheck disable=SC2086  # $e carries an encoding and its extra flags
  "$BUILD/sites/ct/scancov-synth-ct" --seed $s --out "$work/p$s" --rows 48 --columns 48 \
    --pixel-spacing 8 --slices 4 --encoding $e --log-level warn
  cp "$work/p$s"/dicom/* "$work/corpus/"
done
echo "fuzz-smoke: $(ls "$work/corpus" | wc -l) seed files, fuzzing for ${SECONDS_TO_FUZZ}s"
"$BUILD/node/imaging/fuzz_dicom_import" "$work/corpus" -max_total_time="$SECONDS_TO_FUZZ" \
  -rss_limit_mb=4096 -print_final_stats=1 2>&1 | tail -15
