#!/usr/bin/env bash
# make run: local services under .run/, migrate, then one bedbank node with
# every role in the foreground. Ctrl-C (or TERM) stops bedbank, then the services.
set -euo pipefail
bin=$1
config=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/scripts/services.sh" start "$root/.run" 15432 16379 18123
stop_all() {
  if [[ -n "${pid:-}" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  "$root/scripts/services.sh" stop "$root/.run"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$bin" migrate --config "$config" "$@"
echo "bedbank: agent API http://127.0.0.1:8080  admin http://127.0.0.1:9090  (Ctrl-C stops)"
echo "try: curl -s -H 'Authorization: Bearer demo-key-a' -H 'Content-Type: application/json' \\"
echo "       -d '{\"city\":\"SHA\",\"check_in\":\"$(date -u -d '+30 days' +%F)\",\"check_out\":\"$(date -u -d '+32 days' +%F)\",\"rooms\":[{\"adults\":2}]}' \\"
echo "       http://127.0.0.1:8080/api/search"
"$bin" serve --config "$config" "$@" &
pid=$!
wait "$pid"
