#!/usr/bin/env bash
# Starts Azurite (the Azure Storage emulator, from the project's npm packages) on its default loopback ports
# (blob 10000, queue 10001, table 10002) with its data under .home/azurite. Point the app at it with the
# connection string `UseDevelopmentStorage=true`. Stop it with Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/azurite ] || npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
mkdir -p .home/azurite
exec node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 --location .home/azurite "$@"
