#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages bedbank needs to build, test and run.
# Idempotent: silent when everything is installed; otherwise one apt-get update and one
# apt-get install of the missing packages. Must run as root (or with sudo available).
set -euo pipefail

# Build tools, libraries, servers and tools; keep in step with docs and CMakeLists.txt.
readonly build_tools=(cmake ninja-build g++ pkg-config ccache clang-format)
readonly libraries=(libcaf-dev libboost-dev libboost-system-dev libpqxx-dev libhiredis-dev
  nlohmann-json3-dev libyaml-cpp-dev libssl-dev)
readonly servers=(postgresql redis-server clickhouse-server clickhouse-client)
readonly tools=(curl jq wrk nginx-light python3 procps chromium)

missing=()
for pkg in "${build_tools[@]}" "${libraries[@]}" "${servers[@]}" "${tools[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq >/dev/null
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
