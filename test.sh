#!/usr/bin/env bash
# Runs every test of the solution (Release build, warnings are errors). GPU tests report Skipped without a GPU.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Rain.Engine.sln -c Release -nologo -clp:NoSummary
dotnet test Rain.Engine.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
