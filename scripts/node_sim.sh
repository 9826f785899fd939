#!/usr/bin/env bash
# The main job: build the library and the node simulator, then run it (arguments go to node_sim).
#   bash scripts/node_sim.sh                 # 3 nets, 500 peers, ~30 s, status line every second
#   bash scripts/node_sim.sh --seconds 10 --json
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cmake >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake >/dev/null
fi
cmake -S . -B build/sim -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAP_LM_CARGO_TARGET_DIR="$PWD/target/cmake" >/dev/null
cmake --build build/sim -j"$(nproc 2>/dev/null || echo 2)" --target node_sim >/dev/null
exec build/sim/c_tests/sim/node_sim "$@"
