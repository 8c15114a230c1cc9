#!/usr/bin/env bash
# Packs the GPU check for a lent GPU machine (x86-64 Linux, NVIDIA driver, no .NET, no network, 64 MiB for everything
# that travels) into artifacts/gpu-check/app.tar.xz: Rain.Bench.Gpu published self-contained and trimmed, as its
# device-only build (the kernel checks and the measurements; no TensorRT section, no ONNX Runtime or Skia natives, no
# debug files), compressed. bench/gpu-check.sh unpacks it on the device. Nothing else is carried: the checks make their
# own inputs there.
#   bash bench/gpu-pack.sh              # then carry artifacts/gpu-check with the work tree
#   bash bench/gpu-pack.sh --tensorrt   # the full build instead: with the TensorRT section (it exports its bundle and
#                                       # builds the plans on the device), ONNX Runtime included: larger
# It prints the pack's size and the tracked tree's, and fails when both together exceed 62 MiB (the carry limit is
# 64 MiB; the rest is headroom).
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/gpu-check
stage=artifacts/gpu-check-publish
rm -rf "$out" "$stage"
mkdir -p "$out"
device_only=true
[ "${1:-}" != "--tensorrt" ] || device_only=false
dotnet publish bench/Rain.Bench.Gpu -c Release -r linux-x64 -p:RainDeviceOnly=$device_only -o "$stage" -nologo -clp:NoSummary
# Files the check never uses on the device: symbols, API docs, the crash dumper and the debugger and tracing shims.
(cd "$stage" && rm -f ./*.pdb ./*.xml createdump libmscordaccore.so libmscordbi.so libcoreclrtraceptprovider.so)
tar -C "$stage" -cJf "$out/app.tar.xz" .
rm -rf "$stage"

pack=$(stat -c %s "$out/app.tar.xz")
tracked=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
limit=$((62 * 1024 * 1024))
echo "gpu-pack: $out/app.tar.xz $((pack / 1024)) KiB; tracked tree $((tracked / 1024)) KiB; together $(((pack + tracked) / 1024)) KiB of $((limit / 1024)) KiB"
if [ $((pack + tracked)) -gt "$limit" ]; then
  echo "gpu-pack: the tracked tree and the pack exceed 62 MiB together; the device run could not carry them" >&2
  exit 1
fi
