#!/usr/bin/env bash
# Developer build of a private copy of the addon from a chosen subset of kernel files,
# so several people can work on native/ at once without sharing build/:
#   scripts/dev-build.sh /tmp/me/addon.node native/src/matmul.cc [more.cc ...]
#   LLMFORGE_ADDON=/tmp/me/addon.node npx vitest run test/kernels-matmul.test.ts
# The core files (addon, cpu, pool) are always included. Release builds use node-gyp.
set -euo pipefail
out=$1; shift
cd "$(dirname "$0")/.."
mkdir -p "$(dirname "$out")"
nodeinc=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
napiinc=$(node -p "require('node-addon-api').include_dir")
g++ -std=c++17 -O3 -fno-math-errno -fno-trapping-math -pthread -fPIC -shared -Wall -Wno-unused-function \
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED \
  -I"$nodeinc" -I"$napiinc" -Inative/src \
  native/src/addon.cc native/src/cpu.cc native/src/pool.cc "$@" -o "$out"
