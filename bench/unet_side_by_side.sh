#!/usr/bin/env bash
# The node's 2D U-Net (32-64-128-256-512, 4 classes, 256 x 256, training batch 4) against the same
# network in PyTorch-Python (issue 16), in one run: the C++ bench (bench_unet_side_by_side, the
# node's models/nn entry points) and bench/unet_pytorch.py (Debian's python3-torch, the same
# libtorch_cpu.so) alternate, C++ then Python, `rounds` times per BLAS, so that load drift on a
# shared machine falls on both sides. Same data (written once by the C++ side), same initial
# weights, same OMP / MKL thread settings, same libblas.so.3 (each side prints what it maps).
#
#   bench/unet_side_by_side.sh [build-dir] [threads] [rounds] [blas ...]
#   bench/unet_side_by_side.sh build 2 2 openblas reference
#
# BLAS: "openblas" is whatever libblas.so.3 the system selects (update-alternatives; the project
# installs libopenblas0-pthread); "reference" puts Debian's reference BLAS and LAPACK first on
# LD_LIBRARY_PATH for both processes, without changing the system. Needs python3-torch
# (scripts/install-deps.sh bench). BENCH_ARGS adds options to both sides' data (e.g. --iters 3).
# PRECISIONS="fp32 bf16" also runs both sides' inference in bfloat16 (the node's
# SegPredictOptions::precision, Python's torch.autocast on the CPU), interleaved with fp32.
set -euo pipefail

build=${1:-build}
threads=${2:-2}
rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
blas_modes=(openblas reference)
[[ $# -gt 0 ]] && blas_modes=("$@")

here=$(cd "$(dirname "$0")" && pwd)
bench="$build/bench/bench_unet_side_by_side"
python=/usr/bin/python3  # Debian's interpreter: python3-torch, not a virtualenv's torch
data=$(mktemp -d /tmp/unet_side_by_side.XXXXXX)
results="$data/results.jsonl"
trap 'rm -rf "$data"' EXIT

[[ -x "$bench" ]] || { echo "unet_side_by_side: build $bench first" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null ||
  { echo "unet_side_by_side: $python has no torch (scripts/install-deps.sh bench)" >&2; exit 1; }

export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
read -r -a extra <<<"${BENCH_ARGS:-}"
read -r -a precisions <<<"${PRECISIONS:-fp32}"
"$bench" --data-dir "$data" --write --threads "$threads" "${extra[@]}"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "start:  $(date -u '+%F %T UTC'), uptime:$(uptime | sed 's/.*up/ up/')"
echo "threads: OMP_NUM_THREADS=$OMP_NUM_THREADS, --threads $threads on both sides"
for mode in "${blas_modes[@]}"; do
  case "$mode" in
    openblas) libpath=${LD_LIBRARY_PATH:-} ;;
    reference) libpath=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack ;;
    *) echo "unet_side_by_side: unknown BLAS $mode" >&2; exit 1 ;;
  esac
  for round in $(seq "$rounds"); do
    for precision in "${precisions[@]}"; do
      for side in cpp python; do
        if [[ $side == cpp ]]; then
          line=$(LD_LIBRARY_PATH=$libpath "$bench" --data-dir "$data" --threads "$threads" \
            --precision "$precision" "${extra[@]}")
        else
          line=$(LD_LIBRARY_PATH=$libpath "$python" "$here/unet_pytorch.py" --data-dir "$data" \
            --threads "$threads" --precision "$precision")
        fi
        echo "{\"blas_mode\": \"$mode\", \"precision\": \"$precision\", \"round\": $round, \"run\": $line}" >>"$results"
        echo "  $mode $precision round $round $side done, load $(cut -d' ' -f1-3 /proc/loadavg)"
      done
    done
  done
done
echo "end:    $(date -u '+%F %T UTC'), uptime:$(uptime | sed 's/.*up/ up/')"

"$python" - "$results" <<'EOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print()
print("| BLAS | inference precision | side | round | train slices/s | infer slices/s | labels as fp32 | loss_start | load (1/5/15 min) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in runs:
    x = r["run"]
    same = x.get("infer_labels_as_fp32")
    print(f"| {r['blas_mode']} | {r['precision']} | {x['side']} | {r['round']} | "
          f"{x['train_slices_per_s']:.3f} | {x['infer_slices_per_s']:.3f} | "
          f"{'' if same is None else f'{same:.5f}'} | {x['loss_start']:.6f} | {x['load']} |")
print()
print("| BLAS | inference precision | train C++ / Python | infer C++ / Python | (medians over the rounds) |")
print("|---|---|---|---|---|")
for mode, precision in dict.fromkeys((r["blas_mode"], r["precision"]) for r in runs):
    side = lambda cpp, key: statistics.median(
        r["run"][key] for r in runs if (r["blas_mode"], r["precision"]) == (mode, precision)
        and r["run"]["side"].startswith("c++") == cpp)
    t = (side(True, "train_slices_per_s"), side(False, "train_slices_per_s"))
    i = (side(True, "infer_slices_per_s"), side(False, "infer_slices_per_s"))
    print(f"| {mode} | {precision} | {t[0]:.3f} / {t[1]:.3f} = {t[0] / t[1]:.2f}x | "
          f"{i[0]:.3f} / {i[1]:.3f} = {i[0] / i[1]:.2f}x | |")
print()
for mode in dict.fromkeys(r["blas_mode"] for r in runs):
    for x in {r["run"]["side"]: r["run"] for r in runs if r["blas_mode"] == mode}.values():
        print(f"{mode}: {x['side']} maps {', '.join(x['blas'])}; {x['parameters']} parameters, "
              f"{x['state_tensors']} state tensors, threads {x['threads']}")
EOF
