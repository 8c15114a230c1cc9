#!/usr/bin/env bash
# Runs every test of the solution (Release build, warnings are errors). GPU tests report Skipped without a GPU.
# Extra arguments go to `dotnet test` (for example --filter ... or --logger "console;verbosity=detailed").
set -uo pipefail
cd "$(dirname "$0")"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet build Rain.Engine.sln -c Release -nologo -clp:NoSummary || exit 1
dotnet test Rain.Engine.sln -c Release --no-build -nologo --results-directory "$results" \
  --logger "trx" --logger "console;verbosity=normal" "$@"
status=$?

# One closing line over all projects, summed from the TRX counters.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
