#!/usr/bin/env bash
# Builds Rain.Engine for native and .NET consumers into one folder (default: dist/):
#   include/rain.h                      the C ABI
#   lib/librain.so (+ the native libraries it loads from its own folder: ONNX Runtime, SkiaSharp)
#   lib/pkgconfig/rain.pc               pkg-config --cflags --libs rain
#   lib/cmake/Rain/RainConfig.cmake     find_package(Rain) → Rain::rain
#   nuget/Rain.Engine.<v>.nupkg, Rain.Kernels.<v>.nupkg   the managed API (with README and XML docs)
#   nuget/Rain.Engine.Native.<v>.nupkg  runtimes/<rid>/native/librain.so + include/rain.h
# Usage: tools/dist.sh [OUT] [RID]   (RID defaults to linux-x64; win-x64 is built the same way on Windows, giving rain.dll)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
rid=${2:-linux-x64}
cd "$root"

version=$(dotnet msbuild src/Rain.Engine/Rain.Engine.csproj -nologo -getProperty:Version)
echo "Rain.Engine $version → $out ($rid)"
rm -rf "$out/include" "$out/lib" "$out/nuget"
mkdir -p "$out/include" "$out/lib/pkgconfig" "$out/lib/cmake/Rain" "$out/nuget"
publish=$(mktemp -d)
trap 'rm -rf "$publish"' EXIT

dotnet publish src/Rain.Native -c Release -r "$rid" -o "$publish" -nologo -clp:NoSummary
find "$publish" -maxdepth 1 -type f \( -name '*.so' -o -name '*.dll' -o -name '*.lib' \) -exec cp {} "$out/lib/" \;
cp include/rain.h "$out/include/"
sed "s/@VERSION@/$version/g" packaging/pkgconfig/rain.pc.in > "$out/lib/pkgconfig/rain.pc"
sed "s/@VERSION@/$version/g" packaging/cmake/RainConfig.cmake.in > "$out/lib/cmake/Rain/RainConfig.cmake"
sed "s/@VERSION@/$version/g" packaging/cmake/RainConfigVersion.cmake.in > "$out/lib/cmake/Rain/RainConfigVersion.cmake"

dotnet pack src/Rain.Kernels -c Release -o "$out/nuget" -nologo -clp:NoSummary
dotnet pack src/Rain.Engine -c Release -o "$out/nuget" -nologo -clp:NoSummary
dotnet pack packaging/Rain.Engine.Native -c Release -o "$out/nuget" -nologo -clp:NoSummary -p:NativeDir="$out/lib" -p:RuntimeId="$rid"
echo "done: $out"
ls -l "$out/lib" "$out/nuget"
