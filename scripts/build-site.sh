#!/usr/bin/env bash
# Builds the release site into dist/: static files that work under any path of any web server, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
scripts/trunk.sh build --release
echo "dist/ is ready:"
ls -l dist
