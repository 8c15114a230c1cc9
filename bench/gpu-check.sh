#!/usr/bin/env bash
# The GPU check, in one call on a lent GPU machine (x86-64, NVIDIA driver, no .NET, no network), in under 8 minutes:
#   1. the probe: without a usable GPU it exits 2 at once with the probe's reason;
#   2. every kernel against its CPU reference, graph replay against eager execution, handles, host-wait mode (PASS/FAIL);
#   3. one table of measurements: attention v1 and v2 against our transposes-plus-batched baseline and against PyTorch's
#      scaled_dot_product_attention at the same shapes (bench/sdpa_baseline.py, run with the device's own PyTorch when it
#      has one), the other kernels against the DRAM floor, the cost of a graph node at replay, the step driver with and
#      without its graph and the host CPU time per step with spinning and with blocking synchronisation;
#   4. the TensorRT section, only with a pack that has it (bash bench/gpu-pack.sh --tensorrt) and TensorRT on the machine.
# Prepare on a .NET machine:  bash bench/gpu-pack.sh   (writes artifacts/gpu-check/app.tar.xz, about 6 MB)
# Run on the GPU machine:     bash bench/gpu-check.sh [--checks-only | --bench-only]
# RAIN_GPU_CHECK_DIR=<folder> runs an unpacked or locally built app instead of the pack (the tests do).
# Exit code: 0 all checks passed, 1 a check failed, 2 no usable GPU or no app.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

app_dir=${RAIN_GPU_CHECK_DIR:-}
if [ -z "$app_dir" ]; then
  pack=artifacts/gpu-check/app.tar.xz
  if [ ! -f "$pack" ]; then
    echo "gpu-check: $pack not found. Make it on a .NET machine with: bash bench/gpu-pack.sh" >&2
    exit 2
  fi
  app_dir=${TMPDIR:-/tmp}/rain-gpu-check
  rm -rf "$app_dir" && mkdir -p "$app_dir" && tar -xJf "$pack" -C "$app_dir" || { echo "gpu-check: could not unpack $pack" >&2; exit 2; }
fi
app="$app_dir/Rain.Bench.Gpu"
if [ ! -f "$app" ]; then
  echo "gpu-check: $app not found" >&2
  exit 2
fi
chmod +x "$app" 2>/dev/null || true

# 1. The probe, before anything slow.
"$app" --probe
probe=$?
if [ "$probe" -ne 0 ]; then
  echo "gpu-check: no usable GPU (the line above says why); nothing was run" >&2
  exit 2
fi

echo "gpu-check: $(uname -m), $(nproc) CPUs"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null || echo "gpu-check: nvidia-smi not available"

# NVRTC is needed only when no embedded kernel image fits the GPU; on the lent machines it ships inside the Python
# environment (nvidia/cu13/lib for CUDA 13 wheels, nvidia/cuda_nvrtc/lib for older ones). The engine's resolver searches
# RAIN_CUDA_LIBRARY_DIRS before the system paths.
dirs=()
python=$(command -v python3 || true)
if [ -n "$python" ]; then
  base=$(timeout 30 "$python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__file__) if getattr(nvidia, "__file__", None) else list(nvidia.__path__)[0])' 2>/dev/null || true)
  if [ -n "$base" ]; then
    for d in "$base/cu13/lib" "$base/cuda_nvrtc/lib"; do [ -d "$d" ] && dirs+=("$d"); done
  fi
fi
if [ ${#dirs[@]} -gt 0 ]; then
  RAIN_CUDA_LIBRARY_DIRS=$(IFS=:; echo "${dirs[*]}")
  export RAIN_CUDA_LIBRARY_DIRS
  echo "gpu-check: NVRTC search directories: $RAIN_CUDA_LIBRARY_DIRS"
fi

# The PyTorch baseline for the attention rows (skipped with a line when there is no PyTorch with CUDA).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sdpa_args=()
if [[ " $* " != *" --checks-only "* ]] && [ -n "$python" ]; then
  if timeout 150 "$python" bench/sdpa_baseline.py > "$work/sdpa.json" 2> "$work/sdpa.err"; then
    sdpa_args=(--sdpa "$work/sdpa.json")
    echo "gpu-check: PyTorch SDPA baseline measured ($(wc -l < "$work/sdpa.json") shapes)"
  else
    echo "gpu-check: no PyTorch SDPA baseline: $(tail -1 "$work/sdpa.err")"
  fi
fi

# 2 and 3: the checks and the measurements, in one process.
budget=$((440 - (SECONDS - started)))
status=0
timeout "$budget" "$app" "$@" "${sdpa_args[@]}" || status=$?
[ "$status" -ne 124 ] || echo "gpu-check: stopped after $budget s" >&2

# 4. TensorRT, where the pack has it and the machine has TensorRT (no lent machine has had it so far).
if [ -z "${RAIN_TENSORRT_DIR:-}" ] && [[ " $* " != *" --checks-only "* ]] && "$app" --has-tensorrt; then
  trt=$(timeout 30 find / -xdev \( -path '*site-packages/tensorrt_libs*' -o -path '*/TensorRT*/lib*' \) -name 'libnvinfer.so.1[01]*' 2>/dev/null | sort -r | head -1)
  if [ -n "$trt" ]; then RAIN_TENSORRT_DIR=$(dirname "$trt"); export RAIN_TENSORRT_DIR; fi
fi
left=$((470 - (SECONDS - started)))
if [[ " $* " == *" --checks-only "* ]]; then
  echo "gpu-check: TensorRT section not run (--checks-only)"
elif ! "$app" --has-tensorrt; then
  echo "gpu-check: TensorRT section not in this pack (the device-only build; bash bench/gpu-pack.sh --tensorrt has it)"
elif [ -z "${RAIN_TENSORRT_DIR:-}" ]; then
  echo "gpu-check: TensorRT section not run: no libnvinfer on this machine"
elif [ "$left" -lt 60 ]; then
  echo "gpu-check: TensorRT section not run: $left s left of the 8 minutes"
else
  echo "gpu-check: TensorRT section (RAIN_TENSORRT_DIR=$RAIN_TENSORRT_DIR)"
  trt_status=0
  timeout "$left" "$app" --tensorrt --steps "${RAIN_TRT_STEPS:-30}" || trt_status=$?
  [ "$trt_status" -ne 124 ] || echo "gpu-check: the TensorRT section stopped after $left s" >&2
  [ "$status" -ne 0 ] || status=$trt_status
fi
echo "gpu-check: $((SECONDS - started)) s"
exit "$status"
