#!/usr/bin/env bash
# make run-cluster: local services under .run/, migrate, then three bedbank nodes on loopback
# in the foreground — node-1 (gateway, engine, journal: the agent API on 8080, admin on 9090),
# node-2 (engine, journal) and node-3 (engine) — joined over CAF's middleman on the cluster
# ports 7101..7103. Each line of a node's output is prefixed with its name; the script's own
# lines start with the time and "run-cluster:". Extra arguments (--set ...) go to every node.
#
# The script supervises the nodes as systemd's Restart=on-failure would: a node that dies (a
# crash, kill -9, an escalation past its supervisor) is started again after a back-off
# (restart_delay, doubling up to restart_delay_max; back to restart_delay once the node has
# run for stable_after) while the others keep serving; it says which node died, how, when it
# was started again and when the cluster sees it up again. A node that exits 0 (stopped on
# purpose) or 2 (bad flags or configuration) is not restarted. Ctrl-C (or TERM) stops the
# nodes by PID, then the services this script started (services already running when it
# started, such as the test fixture's, are left running). BEDBANK_PG_DURABLE=1 (make
# run-cluster DURABLE=1): PostgreSQL durable (scripts/services.sh).
#
# Environment (the defaults are make run-cluster's):
#   BEDBANK_RUN_DIR         where the services live (.run)
#   BEDBANK_SERVICE_PORTS   "pg redis clickhouse" ports ("15432 16379 18123")
#   BEDBANK_CLUSTER_PORTS   the three nodes' cluster ports ("7101 7102 7103")
#   BEDBANK_ADMIN_URL       node-1's admin API, to see a restarted node rejoin
#                           (http://127.0.0.1:9090)
#   BEDBANK_ADMIN_TOKEN     its token (demo-admin-token, the development default)
#   BEDBANK_RESTART_DELAY   first restart delay in seconds (1); BEDBANK_RESTART_DELAY_MAX (30)
set -euo pipefail
bin=$1
config=$2
shift 2
extra=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

readonly nodes=(node-1 node-2 node-3)
readonly roles=(gateway,engine,journal engine,journal engine)
run_dir=${BEDBANK_RUN_DIR:-$root/.run}
read -r pg_port redis_port ch_port <<<"${BEDBANK_SERVICE_PORTS:-15432 16379 18123}"
read -r -a ports <<<"${BEDBANK_CLUSTER_PORTS:-7101 7102 7103}"
admin_url=${BEDBANK_ADMIN_URL:-http://127.0.0.1:9090}
admin_token=${BEDBANK_ADMIN_TOKEN:-demo-admin-token}
readonly restart_delay=${BEDBANK_RESTART_DELAY:-1}
readonly restart_delay_max=${BEDBANK_RESTART_DELAY_MAX:-30}
readonly stable_after=60  # seconds up after which a death restarts after restart_delay again
readonly rejoin_timeout=120 # seconds a restarted node has to show as up
readonly stop_timeout=20  # seconds a node has to exit after TERM before KILL
readonly exit_usage=2     # bedbank: bad flags or configuration
((${#ports[@]} == 3)) || { echo "run-cluster: BEDBANK_CLUSTER_PORTS needs three ports" >&2; exit 2; }
for knob in BEDBANK_RESTART_DELAY:"$restart_delay" BEDBANK_RESTART_DELAY_MAX:"$restart_delay_max"; do
  [[ "${knob#*:}" =~ ^[1-9][0-9]{0,4}$ ]] ||
    { echo "run-cluster: ${knob%%:*} must be whole seconds from 1 to 99999, got '${knob#*:}'" >&2; exit 2; }
done
((restart_delay <= restart_delay_max)) ||
  { echo "run-cluster: BEDBANK_RESTART_DELAY ($restart_delay) exceeds BEDBANK_RESTART_DELAY_MAX ($restart_delay_max)" >&2; exit 2; }

say() {
  printf '%s run-cluster: %s\n' "$(date -u +%H:%M:%S)" "$*"
}

# Services already running (all three) are someone else's: they are left running at the end.
own_services=1
if "$root/scripts/services.sh" status "$run_dir" >/dev/null 2>&1; then
  own_services=0
fi

declare -A owner=()   # pid → node:<i> | timer:<i> (a back-off) | watch:<i> (a rejoin watcher)
node_pid=() started=() delay=() restarts=()
stopping=0

stop_all() {
  stopping=1
  local p deadline
  say "stopping the nodes"
  for p in "${!owner[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  deadline=$((SECONDS + stop_timeout))
  for p in "${!owner[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
      say "pid $p ignored TERM for ${stop_timeout}s, sending KILL"
      kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
  done
  if ((own_services)); then
    "$root/scripts/services.sh" stop "$run_dir"
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# start_node <i>: node i in the background, its output prefixed with its name.
start_node() {
  local i=$1
  local args=(serve --config "$config" --role "${roles[$i]}" --node-id "${nodes[$i]}"
              --set "cluster.port=${ports[$i]}")
  if ((i > 0)); then
    local seeds="127.0.0.1:${ports[0]}"
    ((i > 1)) && seeds+=",127.0.0.1:${ports[1]}"
    args+=(--set "cluster.seeds=$seeds")
  fi
  # The prefixer ignores Ctrl-C's SIGINT, so the node's last lines still come out; it ends
  # when the node closes its output.
  "$bin" "${args[@]}" "${extra[@]}" > >(trap '' INT && exec sed -u "s/^/[${nodes[$i]}] /") 2>&1 &
  node_pid[i]=$!
  started[i]=$SECONDS
  owner[$!]=node:$i
}

# how_it_ended <exit status>: "exit status N" or "killed by SIGX (exit status N)".
how_it_ended() {
  local rc=$1
  if ((rc > 128)); then
    echo "killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo "$((rc - 128))") (exit status $rc)"
  else
    echo "exit status $rc"
  fi
}

# watch_rejoin <i> <pid>: waits until node-1's /admin/cluster shows node i up as <pid>; says so.
watch_rejoin() {
  local i=$1 pid=$2 t0=$SECONDS view
  while ((SECONDS - t0 < rejoin_timeout)); do
    view=$(curl -s --max-time 2 -H "Authorization: Bearer $admin_token" "$admin_url/admin/cluster" \
      2>/dev/null | jq -r --arg id "${nodes[$i]}" \
      '.nodes[]? | select(.id == $id) | "\(.state) \(.pid)"' 2>/dev/null || true)
    if [[ "$view" == "up $pid" ]]; then
      say "${nodes[$i]} is back in the cluster (pid $pid, up $((SECONDS - t0))s after its restart)"
      return 0
    fi
    sleep 0.5
  done
  say "${nodes[$i]} (pid $pid) does not show as up in $admin_url/admin/cluster after ${rejoin_timeout}s"
}

"$root/scripts/services.sh" start "$run_dir" "$pg_port" "$redis_port" "$ch_port"
((own_services)) || say "services were already running under $run_dir: they stay running at the end"
"$bin" migrate --config "$config" "${extra[@]}"
for i in 0 1 2; do
  delay[i]=$restart_delay
  restarts[i]=0
  start_node "$i"
done
echo "bedbank cluster: node-1 (gateway) agent API http://127.0.0.1:8080  admin http://127.0.0.1:9090"
echo "  nodes: curl -s -H 'Authorization: Bearer demo-admin-token' http://127.0.0.1:9090/admin/cluster"
echo "  (a node that dies is restarted; Ctrl-C stops all three)"
say "node-1 pid ${node_pid[0]}, node-2 pid ${node_pid[1]}, node-3 pid ${node_pid[2]}"

while ((${#owner[@]} > 0)); do
  done_pid=''
  rc=0
  wait -n -p done_pid "${!owner[@]}" || rc=$?
  if [[ -z "$done_pid" ]] || ((stopping)); then
    continue # a signal interrupted the wait; its trap stops everything
  fi
  what=${owner[$done_pid]}
  unset "owner[$done_pid]"
  i=${what#*:}
  name=${nodes[$i]}
  case $what in
  node:*)
    ran=$((SECONDS - started[i]))
    if ((rc == 0)); then
      say "$name (pid $done_pid) stopped with exit status 0 after ${ran}s; not restarted"
      continue
    fi
    if ((rc == exit_usage)); then
      say "$name (pid $done_pid) refused its flags or configuration (exit status 2); not restarted"
      continue
    fi
    if ((ran >= stable_after)); then
      delay[i]=$restart_delay
    fi
    say "$name (pid $done_pid) died: $(how_it_ended "$rc") after ${ran}s up; restarting it in ${delay[i]}s"
    sleep "${delay[i]}" &
    owner[$!]=timer:$i
    delay[i]=$((delay[i] * 2 > restart_delay_max ? restart_delay_max : delay[i] * 2))
    ;;
  timer:*)
    start_node "$i"
    restarts[i]=$((restarts[i] + 1))
    say "$name restarted (pid ${node_pid[i]}, restart ${restarts[i]})"
    watch_rejoin "$i" "${node_pid[i]}" &
    owner[$!]=watch:$i
    ;;
  watch:*) ;;
  esac
done
say "every node stopped on its own"
