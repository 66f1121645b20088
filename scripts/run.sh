#!/usr/bin/env bash
# make run: local services under .run/, migrate, then one bedbank node with
# every role in the foreground. Ctrl-C (or TERM) stops bedbank, then the services it started
# (services already running, e.g. from `make services-up`, are left running).
# BEDBANK_PG_DURABLE=1 (make run DURABLE=1): PostgreSQL durable (scripts/services.sh).
set -euo pipefail
bin=$1
config=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

own_services=1
if "$root/scripts/services.sh" status "$root/.run" >/dev/null 2>&1; then
  own_services=0
fi
"$root/scripts/services.sh" start "$root/.run" 15432 16379 18123
stop_all() {
  if [[ -n "${pid:-}" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if ((own_services)); then
    "$root/scripts/services.sh" stop "$root/.run"
  fi
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
