#!/usr/bin/env bash
# make run-cluster: local services under .run/, migrate, then three bedbank nodes on loopback
# in the foreground — node-1 (gateway, engine, journal: the agent API on 8080, admin on 9090),
# node-2 (engine, journal) and node-3 (engine) — joined over CAF's middleman on the cluster
# ports 7101..7103. Each line of output is prefixed with its node. Ctrl-C (or TERM) stops the
# nodes by PID, then the services. Extra arguments (--set ...) go to every node.
set -euo pipefail
bin=$1
config=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

readonly nodes=(node-1 node-2 node-3)
readonly roles=(gateway,engine,journal engine,journal engine)
readonly ports=(7101 7102 7103)
readonly seeds=("" 127.0.0.1:7101 127.0.0.1:7101,127.0.0.1:7102)

"$root/scripts/services.sh" start "$root/.run" 15432 16379 18123
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  "$root/scripts/services.sh" stop "$root/.run"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$bin" migrate --config "$config" "$@"
for i in 0 1 2; do
  args=(serve --config "$config" --role "${roles[$i]}" --node-id "${nodes[$i]}"
        --set "cluster.port=${ports[$i]}")
  [[ -n "${seeds[$i]}" ]] && args+=(--set "cluster.seeds=${seeds[$i]}")
  "$bin" "${args[@]}" "$@" > >(sed -u "s/^/[${nodes[$i]}] /") 2>&1 &
  pids+=($!)
done
echo "bedbank cluster: node-1 (gateway) agent API http://127.0.0.1:8080  admin http://127.0.0.1:9090"
echo "  nodes: curl -s -H 'Authorization: Bearer demo-admin-token' http://127.0.0.1:9090/admin/cluster"
echo "  (Ctrl-C stops all three)"
# Stop everything as soon as one node exits.
wait -n "${pids[@]}"
