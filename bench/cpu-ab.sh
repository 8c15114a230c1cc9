#!/usr/bin/env bash
# Side-by-side CPU bench of two builds (each with its own bundle), alternating, one run at a time:
#   bench/cpu-ab.sh OLD_RAIN_DLL OLD_BUNDLE NEW_RAIN_DLL NEW_BUNDLE [ROUNDS] [STEPS] [OUT_DIR]
# Each run is `/usr/bin/time -v dotnet RAIN_DLL bench --bundle B --warmup 0 --steps STEPS --gemm-seconds 1 --json …`;
# the summary prints per run the step mean and p50, the GEMM baseline, the UNet parts' share of it, the peak RSS
# (bench's VmHWM and time's maximum resident set) and the time to fuse the reference. Run it on a quiet machine.
set -euo pipefail
if [ $# -lt 4 ]; then sed -n 2,6p "$0"; exit 2; fi
old_dll=$1 old_bundle=$2 new_dll=$3 new_bundle=$4 rounds=${5:-2} steps=${6:-6} out=${7:-cpu-ab}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    if [ "$which" = old ]; then dll=$old_dll bundle=$old_bundle; else dll=$new_dll bundle=$new_bundle; fi
    echo "round $round $which: $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    /usr/bin/time -v dotnet "$dll" bench --bundle "$bundle" --warmup 0 --steps "$steps" --gemm-seconds 1 \
      --json "$out/$which-$round.json" > "$out/$which-$round.out" 2> "$out/$which-$round.err"
  done
done
printf '%-7s %10s %10s %9s %7s %9s %12s %10s\n' run mean_ms p50_ms gemm_gf unet_% peak_MB time_max_KiB ref_s
for f in "$out"/*.out; do
  run=$(basename "$f" .out)
  printf '%-7s %10s %10s %9s %7s %9s %12s %10s\n' "$run" \
    "$(grep -oP 'step time\s+n=\d+ mean=\K[\d.]+' "$f")" "$(grep -oP 'step time.*p50=\K[\d.]+' "$f")" \
    "$(grep -oP 'GEMM baseline.*?: \K[\d.]+' "$f")" "$(grep -oP 'UNet parts run at [\d.]+ GFLOP/s = \K[\d.]+' "$f")" \
    "$(grep -oP 'peak RSS \K\d+' "$f")" "$(grep -oP 'Maximum resident set size \(kbytes\): \K\d+' "${f%.out}.err")" \
    "$(grep -oP 'reference fused in \K[\d.]+' "$f")"
done
