#!/usr/bin/env bash
# Soak run at the demo size: the tiny preset's bundle (the one `rain demo` uses, seed 42), one session streaming the
# demo scene through the public API for MINUTES (default 60), RSS, managed heap, step time and frame latency sampled
# every 10 s, the drift reported; writes soak.json and soak.png into OUT (default artifacts/soak).
#   bash bench/soak.sh [MINUTES] [OUT]
set -euo pipefail
minutes="${1:-60}"
out="${2:-artifacts/soak}"
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
dotnet build "$root/src/Rain.Cli" -c Release -nologo -v q -clp:NoSummary
rain="$root/src/Rain.Cli/bin/Release/net10.0/rain"
bundle="$out/bundle"
[ -f "$bundle/bundle.json" ] || "$rain" export --preset tiny --seed 42 --out "$bundle"
"$rain" bench --bundle "$bundle" --soak "$minutes" --json "$out/soak.json" --chart "$out/soak.png" | tee "$out/soak.txt"
