#!/usr/bin/env bash
# Sets up everything and serves the app at http://127.0.0.1:8080 (rebuilding on change). The page opens
# with the example host of libvirt's real-time guide loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
exec scripts/trunk.sh serve --release "$@"
