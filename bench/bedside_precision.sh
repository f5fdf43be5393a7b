#!/usr/bin/env bash
# The bedside score with the federation's learned lung U-Net in float32 and in bfloat16, patient
# by patient (issue 16): how far bf16 moves what a clinician reads (lung volumes, lesion extent,
# the 0-5 extent score) and the lung network's time. Uses a finished demo run (make demo: its
# lungs.ckpt, trained by the demo's federated lung study, and site kb's exported CT folders).
#
#   bench/bedside_precision.sh [build-dir] [demo-run-dir] [patients]
#   bench/bedside_precision.sh build demo-run 20
set -euo pipefail

build=${1:-build}
run=${2:-demo-run}
patients=${3:-20}
score="$build/node/bedside/scancov-score"
[[ -x "$score" && -f "$run/lungs.ckpt" ]] ||
  { echo "bedside_precision: needs $score and a finished demo run in $run" >&2; exit 1; }
out=$(mktemp -d /tmp/bedside_precision.XXXXXX)
trap 'rm -rf "$out"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), bf16 flags: $(grep -o -m1 -w 'avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "start:  $(date -u '+%F %T UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for patient in $(ls "$run/sites/kb/export/ct" | head -n "$patients"); do
  for precision in fp32 bf16; do
    # Fixed admission values: only the CT part is compared.
    "$score" --log-level warn --dicom "$run/sites/kb/export/ct/$patient/dicom" --age 60 --sex M \
      --spo2 92 --platelets 200 --urea 6 --config "$run/sites/kb/site.json" \
      --lung-model "$run/lungs.ckpt" --threads 2 --precision "$precision" \
      --json "$out/$patient.$precision.json" >/dev/null || true
  done
done
/usr/bin/python3 - "$out" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
rows = []
for fp32 in sorted(glob.glob(os.path.join(out, "*.fp32.json"))):
    bf16 = fp32.replace(".fp32.json", ".bf16.json")
    if not os.path.exists(bf16):
        continue
    a, b = json.load(open(fp32)), json.load(open(bf16))
    la, lb = a["lungs"], b["lungs"]
    rows.append({
        "volume": max(abs(lb[s]["volume_ml"] - la[s]["volume_ml"]) / la[s]["volume_ml"]
                      for s in ("right", "left")),
        "extent": abs(lb["both"]["extent_percent"] - la["both"]["extent_percent"]),
        "score_same": all(lb[s]["extent_score"] == la[s]["extent_score"]
                          for s in ("right", "left", "both")),
        "t32": a["timings_s"]["lung mask"], "t16": b["timings_s"]["lung mask"],
    })
print(f"patients scored both ways: {len(rows)}")
print(f"largest lung volume change: {100 * max(r['volume'] for r in rows):.3f} % "
      f"(median {100 * statistics.median(r['volume'] for r in rows):.3f} %)")
print(f"largest lesion extent change: {max(r['extent'] for r in rows):.3f} percentage points "
      f"(median {statistics.median(r['extent'] for r in rows):.3f})")
print(f"extent scores (right, left, both) identical: {sum(r['score_same'] for r in rows)} / {len(rows)}")
print(f"lung network stage, median s: fp32 {statistics.median(r['t32'] for r in rows):.3f}, "
      f"bf16 {statistics.median(r['t16'] for r in rows):.3f}")
PY
