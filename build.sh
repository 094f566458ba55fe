#!/usr/bin/env bash
# One entry point for a fresh machine. Everything the build and tests need is installed here.
#   ./build.sh run    build and run the main job on embedded defaults (SQLite, local directory)
#   ./build.sh test   install tools, build, run every test
#   ./build.sh bench SUITE [args]   run a benchmark suite (Release)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

apt_tools() {
  # Debian packages the tests use as peers and data (ONNX checker cross-check, Fashion-MNIST, chromium); benchmarks add
  # PyTorch (train peer) and wrk (the serve suite's load generator).
  local missing=()
  /usr/bin/python3 -c 'import onnx' 2>/dev/null || missing+=(python3-onnx)
  /usr/bin/python3 -c 'import pandas' 2>/dev/null || missing+=(python3-pandas)
  [ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
  [ -x /usr/bin/chromium ] || missing+=(chromium)   # the dashboard's browser tests (Playwright drives Debian's chromium)
  if [ "${1:-}" = bench ]; then
    /usr/bin/python3 -c 'import torch' 2>/dev/null || missing+=(python3-torch)
    [ -x /usr/bin/wrk ] || missing+=(wrk)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

tools() {
  # npm packages: Azurite (storage emulator). --ignore-scripts: nothing may download at install time.
  # ONNX Runtime comes from NuGet (Microsoft.ML.OnnxRuntime), restored by dotnet like every other package.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
}

case "${1:-}" in
  run)
    shift
    # The main job runs on the embedded SQLite provider and needs no Node.js; Azurite is installed when npm is present so
    # that storageProvider.type AzureStorage with UseDevelopmentStorage=true is one setting away.
    if command -v npm >/dev/null 2>&1; then tools; fi
    dotnet run --project functions/Serverless.Cli -c Release -- sample "$@"
    ;;
  test)
    shift
    tools
    apt_tools
    dotnet build Serverless.sln -c Debug -warnaserror
    log=$(mktemp)
    set +e
    dotnet test Serverless.sln -c Debug --no-build "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # The Azurite outage test stops and restarts the emulator mid-run: it runs alone, after the others (with other test
    # assemblies running beside it, the restarted Azurite lost queue messages it had acknowledged; see
    # shared/Serverless.Hosting/README.md). It is outside Serverless.sln for that reason.
    outage=tests/Serverless.Hosting.OutageTests/Serverless.Hosting.OutageTests.csproj
    dotnet build "$outage" -c Debug -warnaserror 2>&1 | tail -3
    dotnet test "$outage" -c Debug --no-build "$@" 2>&1 | tee -a "$log"
    orc=${PIPESTATUS[0]}
    [ "$rc" -ne 0 ] || rc=$orc
    set -e
    # One closing line over all test assemblies ("Failed: F, Passed: P, Skipped: S" per assembly).
    grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tr -d ' ' | tr ':,' '  ' |
      awk '{f+=$2; p+=$4; s+=$6} END {printf "tests: %d passed, %d failed, %d skipped\n", p, f, s}'
    rm -f "$log"
    exit "$rc"
    ;;
  bench)
    shift
    tools
    apt_tools bench
    dotnet run -c Release --project tests/Benchmarks -- "$@"
    ;;
  *)
    echo "usage: ./build.sh run | test | bench SUITE [--quick]" >&2
    exit 2
    ;;
esac
