#!/usr/bin/env bash
# Decode throughput per transfer syntax, the node's importer against pydicom in one run (issue
# 16): one synthetic series per syntax that scancov-synth-ct writes (512 x 512, `slices` slices),
# and the real JPEG 2000 series of ../shared/data when it is there; each decoded warm (files in
# the page cache, best of `repeat` after a warm-up) and cold (files evicted from the page cache
# before every run: posix_fadvise, no root needed). pydicom is Debian's python3-pydicom, with
# python3-gdcm for the compressed syntaxes (scripts/install-deps.sh bench).
#
#   bench/decode_by_syntax.sh [build-dir] [slices] [repeat]
set -euo pipefail
BUILD=${1:-build}
SLICES=${2:-200}
REPEAT=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "start: $(date -u '+%F %T') UTC, $(uptime | sed 's/.*load/load/')"
series=()
for e in explicit implicit rle jpeg-lossless jpeg-ls; do
  "$BUILD/sites/ct/scancov-synth-ct" --seed 5 --out "$work/$e" --rows 512 --columns 512 \
    --slices "$SLICES" --encoding "$e" --log-level warn
  series+=("$work/$e/dicom")
done
j2k="$here/../shared/data/totalsegmentator_ct/example_ct_dicom"
[[ -d "$j2k" ]] && series+=("$j2k")
sync
for dir in "${series[@]}"; do
  for cache in warm cold; do
    flag=()
    [[ $cache == cold ]] && flag=(--cold)
    echo "== $dir ($cache)"
    "$BUILD/bench/bench_dicom_decode" --dir "$dir" --repeat "$REPEAT" "${flag[@]}" \
      --pydicom "$here/bench/bench_pydicom.py" --python /usr/bin/python3 2>&1 |
      grep -E "series:|decode, 1 thread|scan\+decode|pydicom|speed-up|checksum" || true
  done
done
echo "end: $(date -u '+%F %T') UTC, $(uptime | sed 's/.*load/load/')"
