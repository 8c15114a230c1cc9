#!/usr/bin/env bash
# GPU check for a lent GPU machine (x86-64, NVIDIA driver, no .NET, no network): runs the GPU tests' checks and the
# kernel benchmarks in one process (under 10 minutes) and prints a table. Prepare on a .NET machine first:
#   dotnet publish bench/Rain.Bench.Gpu -c Release -r linux-x64 -o artifacts/gpu-check
# then carry artifacts/gpu-check (about 36 MB, self-contained and trimmed) with the work tree and run
#   bash bench/gpu-check.sh [--checks-only | --bench-only]
# TensorRT section: when a bundle is carried in artifacts/trt-bundle (or RAIN_TRT_BUNDLE) and libnvinfer is found
# (RAIN_TENSORRT_DIR, the Python environment's tensorrt_libs, or the loader path), the same app then builds the
# bundle's FP16 plans on this GPU, runs the UNet plan and the whole stream on them against the CPU engine, then the
# TensorRT backend through the public API against a CPU session (frame differences reported). Prepare the bundle with
#   dotnet run --project src/Rain.Cli -c Release -- export --preset tiny --seed 1 --out artifacts/trt-bundle
# (about 27 MB; with the 36 MB app the carry stays under 64 MiB).
# Exit code: 0 all checks passed, 1 a check failed, 2 no usable GPU or no published app.
set -euo pipefail
cd "$(dirname "$0")/.."
app=${RAIN_GPU_CHECK_DIR:-artifacts/gpu-check}
if [ ! -f "$app/Rain.Bench.Gpu" ]; then
  echo "gpu-check: $app/Rain.Bench.Gpu not found. Publish it on a .NET machine:" >&2
  echo "  dotnet publish bench/Rain.Bench.Gpu -c Release -r linux-x64 -o artifacts/gpu-check" >&2
  exit 2
fi
chmod +x "$app/Rain.Bench.Gpu" 2>/dev/null || true

# NVRTC is needed only when no embedded kernel image fits the GPU; on the lent machines it ships inside the Python
# environment (nvidia/cu13/lib for CUDA 13 wheels, nvidia/cuda_nvrtc/lib for older ones). The engine's resolver
# searches RAIN_CUDA_LIBRARY_DIRS before the system paths.
dirs=()
if command -v python3 >/dev/null 2>&1; then
  base=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__file__) if getattr(nvidia, "__file__", None) else list(nvidia.__path__)[0])' 2>/dev/null || true)
  if [ -n "$base" ]; then
    for d in "$base/cu13/lib" "$base/cuda_nvrtc/lib"; do [ -d "$d" ] && dirs+=("$d"); done
  fi
fi
if [ ${#dirs[@]} -eq 0 ]; then
  while IFS= read -r lib; do dirs+=("$(dirname "$lib")"); done < <(find / -xdev -path '*site-packages/nvidia*' -name 'libnvrtc.so*' 2>/dev/null | sort -r | head -2)
fi
if [ ${#dirs[@]} -gt 0 ]; then
  RAIN_CUDA_LIBRARY_DIRS=$(IFS=:; echo "${dirs[*]}")
  export RAIN_CUDA_LIBRARY_DIRS
  echo "gpu-check: NVRTC search directories: $RAIN_CUDA_LIBRARY_DIRS"
fi

echo "gpu-check: $(uname -m), $(nproc) CPUs"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null || echo "gpu-check: nvidia-smi not available"
status=0
bundle=${RAIN_TRT_BUNDLE:-artifacts/trt-bundle}
budget=560
[ ! -f "$bundle/bundle.json" ] || budget=300 # leave time for the TensorRT section
timeout "$budget" "$app/Rain.Bench.Gpu" "$@" || status=$?
[ "$status" -ne 124 ] || echo "gpu-check: stopped after $budget s" >&2

if [ -f "$bundle/bundle.json" ]; then
  if [ -z "${RAIN_TENSORRT_DIR:-}" ]; then
    trt=$(find / -xdev \( -path '*site-packages/tensorrt_libs*' -o -path '*/TensorRT*/lib*' \) -name 'libnvinfer.so.1[01]*' 2>/dev/null | sort -r | head -1)
    if [ -n "$trt" ]; then RAIN_TENSORRT_DIR=$(dirname "$trt"); export RAIN_TENSORRT_DIR; fi
  fi
  echo "gpu-check: TensorRT section (bundle $bundle, RAIN_TENSORRT_DIR=${RAIN_TENSORRT_DIR:-unset})"
  trt_status=0
  timeout 250 "$app/Rain.Bench.Gpu" --tensorrt "$bundle" --steps "${RAIN_TRT_STEPS:-30}" || trt_status=$?
  [ "$trt_status" -ne 124 ] || echo "gpu-check: the TensorRT section stopped after 250 s" >&2
  [ "$status" -ne 0 ] || status=$trt_status
else
  echo "gpu-check: no bundle at $bundle: TensorRT section not run"
fi
exit "$status"
