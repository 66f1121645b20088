#!/usr/bin/env bash
# bench/run.sh: `make bench` — bedbank's seven benchmarks, figures into docs/benchmarks.md.
#
#   bench/run.sh <build dir> [fanout|cache|journal|orders|traces|cluster|durability ...]
#
#   fanout   search latency with ten mock suppliers at a fixed 50 ms each and no cache
#            (bench/fanout.yaml): wrk p50/p99 minus 50 ms = bedbank's fan-out overhead.
#   cache    requests/s of cache-hit searches (config/bedbank.yaml, 3 mock suppliers) against
#            nginx serving the same JSON body as a static file.
#   journal  build/<preset>/bench/journal_bench: spans/s through the journal actor against a
#            raw COPY of the same rows, and that no span is lost.
#   orders   build/<preset>/bench/order_bench against bench/orders.yaml (mock suppliers at a
#            fixed 0 ms, scenario ok): 50 bookings one at a time, then confirmed orders/s end
#            to end (trial + create from 16 keep-alive connections) and the create call's
#            p50/p99 ("platform time per booking"); then, with bedbank stopped, pgbench's default TPC-B-like script on the
#            same PostgreSQL server with as many clients: its transactions/s as the baseline.
#   traces   bench/traces.yaml (as bench/orders.yaml, the archiver actor idle): real bookings
#            through the API (order_bench for a few seconds, a few held then confirmed), copied
#            by SQL into 20 000 orders with 9–12 spans each, search spans up to 5 000 000 spans
#            over the last 20 days plus 1 000 000 spans 40 days old, indexes rebuilt, VACUUM
#            ANALYZE (timed); then GET /api/traces/by-order/{id} for random orders, 50 one at a
#            time and wrk -c4 with bench/by_order.lua (p50/p99), the plans the server runs for a
#            report (auto_explain); then `bedbank archive` moves the old million to ClickHouse
#            (rows/s) and the same rows, dumped from the archive, go into an identical empty
#            schema with one raw INSERT over HTTP (blocks of the archive's batch size): its
#            rows/s as the baseline.
#
#   cluster  bench/cluster.sh: build/<preset>/bench/cluster_bench (an order read between two
#            actors of one process against two processes over the middleman: p50/p99 and the
#            difference), then searches with bench/cluster.yaml (3 suppliers at 20 ms, no cache)
#            with wrk against one `--role all` node and against a gateway node in front of three
#            engine nodes: requests/s, p50/p99 of both.
#
#   durability  the journal and orders benchmarks (pgbench included) again with the bench's
#            PostgreSQL durable (fsync, synchronous_commit and full_page_writes on, as in
#            production; scripts/services.sh with BEDBANK_PG_DURABLE=1), beside the figures of
#            the throwaway server the other benchmarks use (all three off), and pg_test_fsync's
#            rate of this disk. The server goes back to throwaway at the end.
#
# Everything runs on 127.0.0.1 with its own ports (PostgreSQL 35432, Redis 36379, ClickHouse
# 38123, bedbank 38080/39090, nginx 38081) and its own run dir <build dir>/bench-run (wiped at
# start), so it never collides with `make run` or the tests. Every process it starts is stopped
# by PID on exit. Load is bounded: wrk, order_bench and pgbench run for fixed durations, the
# journal bench sends a fixed number of spans, the traces bench loads a fixed number. Targets are goals printed beside the figures, not assertions: the exit code
# is 0 when every benchmark ran (targets met or not) and 1 when one could not run. With no
# benchmark named, all six run and docs/benchmarks.md gets the new figures (between its
# `bench:begin`/`bench:end` markers; the text around them is kept). Naming some runs only those
# and leaves the document alone.
# shellcheck disable=SC2317,SC2154 # benchmarks run as "bench_$1"; results are set by printf -v
set -euo pipefail

readonly pg_port=35432
readonly redis_port=36379
readonly ch_port=38123
readonly agent_port=38080
readonly admin_port=39090
readonly nginx_port=38081
readonly host=127.0.0.1
readonly api_key=demo-key-a
readonly supplier_latency_ms=50   # bench/fanout.yaml: every supplier answers after 50 ms
readonly fanout_suppliers=10      # bench/fanout.yaml: ten suppliers
readonly fanout_wrk_args="-t1 -c4 -d15s --latency"
readonly fanout_serial_requests=20 # one at a time before wrk: latency without queueing
readonly cache_wrk_args="-t2 -c64 -d10s"
readonly rate_limit=1000000000
readonly journal_spans=200000
readonly journal_threads=2
readonly journal_rounds=3
readonly journal_timeout_s=900     # the whole journal bench; normally well under two minutes
readonly target_p99_overhead_ms=5
readonly target_cache_ratio=0.7
readonly target_journal_ratio=0.8
readonly orders_connections=16     # order_bench connections = pgbench clients
readonly orders_warmup_s=3
readonly orders_duration_s=20      # the measured window, after the warm-up
readonly orders_serial=50          # bookings one at a time before the load (no queueing)
readonly orders_verify=16          # confirmed orders read back with GET /api/orders/{id}
readonly orders_timeout_s=300      # the whole order_bench run; normally warm-up + duration + ~5 s
readonly pgbench_db=pgbench_bench
readonly pgbench_scale=10
readonly pgbench_jobs=2
readonly pgbench_seconds=15
readonly pgbench_timeout_s=600     # pgbench -i plus the run
readonly pg_bin=/usr/lib/postgresql/15/bin
readonly target_orders_ratio=0.3   # confirmed orders/s ≥ this × pgbench tps
readonly target_create_p99_ms=20
readonly traces_orders=20000       # generated orders, copies of real ones
readonly traces_hot_spans=5000000  # spans of the last traces_hot_days days (orders' and searches')
readonly traces_old_spans=1000000  # spans traces_old_days days old: what the archive moves
readonly traces_hot_days=20
readonly traces_old_days=40
readonly traces_cutoff_days=30     # bench/traces.yaml trace.hot_days
readonly traces_agent=demo-a       # bench/traces.yaml: the agent of demo-key-a
readonly traces_seed_connections=4 # order_bench for the real orders that are copied
readonly traces_seed_s=3
readonly traces_held_orders=6      # real orders held first, then confirmed
readonly traces_index_mem=1GB      # maintenance_work_mem of each index build
readonly traces_serial_requests=50 # reports one at a time before wrk
readonly traces_wrk_args="-t1 -c4 -d15s --latency"
readonly traces_explain_requests=12 # reports under auto_explain; the last one's plans are kept
readonly traces_archive_batch=10000
readonly traces_load_timeout_s=600 # each step of the load
readonly traces_archive_timeout_s=600
readonly traces_ch_timeout_s=300   # each ClickHouse call, the dump and the raw insert included
readonly target_by_order_p99_ms=50
readonly target_archive_ratio=0.5  # archive rows/s ≥ this × a raw INSERT of the same rows
readonly start_timeout_s=30        # bedbank / nginx must answer within this
readonly stop_timeout_s=15         # before KILL
readonly curl_timeout_s=10
readonly cache_warm_attempts=5
readonly pg_test_fsync_s=2         # pg_test_fsync seconds per method
readonly all_benchmarks="fanout cache journal orders traces cluster durability"

die() {
  echo "bench: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 <build dir> [fanout|cache|journal|orders|traces|cluster|durability ...]" >&2
  exit 2
}

(($# >= 1)) || usage
root=$(cd "$(dirname "$0")/.." && pwd)
build_arg=$1
shift
[[ -d "$build_arg" ]] || die "no build directory $build_arg (cmake --preset release && cmake --build --preset release)"
build=$(cd "$build_arg" && pwd)
cd "$root"
bin=$build/apps/bedbank
journal_bin=$build/bench/journal_bench
order_bin=$build/bench/order_bench
run_dir=$build/bench-run
results=$run_dir/results
doc=$root/docs/benchmarks.md
base_url=http://$host:$agent_port
search_body=$(printf '{"city":"SHA","check_in":"%s","check_out":"%s","rooms":[{"adults":2}]}' \
  "$(date -u -d '+30 days' +%F)" "$(date -u -d '+32 days' +%F)")

# -- helpers used by every benchmark ------------------------------------------------------

# alive <pid>: the process exists.
alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null
}

# stop_pid <pid> <name>: TERM, wait, then KILL; only that PID.
stop_pid() {
  local pid=$1 name=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < stop_timeout_s * 10; ++i)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "bench: $name (pid $pid) ignored TERM, sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# port_free <port>: nothing listens on 127.0.0.1:<port>.
port_free() {
  ! (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
}

# record <file> <key> <value>: appends key=value (shell-quoted) to a results file.
record() {
  printf '%s=%q\n' "$2" "$3" >>"$1"
}

# wrk_ms <wrk output> <percent>: a latency percentile of `wrk --latency` in milliseconds.
wrk_ms() {
  awk -v p="$2%" '$1 == p {
    v = $2; unit = v; sub(/^[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
    f = (unit == "us") ? 0.001 : (unit == "ms") ? 1 : (unit == "s") ? 1000 : (unit == "m") ? 60000 : -1
    if (f < 0) exit 1
    printf "%.2f", v * f; found = 1; exit
  } END { if (!found) exit 1 }' "$1"
}

# wrk_rps <wrk output>: requests/s.
wrk_rps() {
  awk '/^Requests\/sec:/ { printf "%.0f", $2; found = 1 } END { if (!found) exit 1 }' "$1"
}

# wrk_requests <wrk output>: total requests.
wrk_requests() {
  awk '/ requests in / { print $1; found = 1 } END { if (!found) exit 1 }' "$1"
}

# wrk_non2xx <wrk output>: "Non-2xx or 3xx responses" (0 when wrk prints none).
wrk_non2xx() {
  awk '/^  Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$1"
}

# wrk_socket_errors <wrk output>: "connect a, read b, write c, timeout d" or "none".
wrk_socket_errors() {
  local line
  line=$(grep -E '^  Socket errors:' "$1" || true)
  if [[ -z "$line" ]]; then
    echo none
  else
    echo "${line#  Socket errors: }"
  fi
}

# post_search <url> <body file>: POSTs the bench search; prints the HTTP status.
post_search() {
  curl -sS --max-time "$curl_timeout_s" -o "$2" -w '%{http_code}' \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $api_key" \
    --data-binary "$search_body" "$1/api/search"
}

bedbank_pid=
nginx_pid=

# start_bedbank <log> <args...>: starts `bedbank serve` in the background and waits until
# both of its APIs accept requests.
start_bedbank() {
  local log=$1 i code
  shift
  port_free "$agent_port" || die "127.0.0.1:$agent_port is in use"
  port_free "$admin_port" || die "127.0.0.1:$admin_port is in use"
  "$bin" serve "$@" >"$log" 2>&1 &
  bedbank_pid=$!
  for ((i = 0; i < start_timeout_s * 10; ++i)); do
    alive "$bedbank_pid" || {
      tail -n 20 "$log" >&2
      die "bedbank exited during start-up (log: $log)"
    }
    # Probe /metrics (admin API, no token) and a bare TCP connect to the agent API, so
    # the probe does not show up in the agent API's request counters.
    code=$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "http://$host:$admin_port/metrics" || true)
    [[ "$code" == 200 ]] && ! port_free "$agent_port" && return 0
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  die "bedbank does not answer on $base_url within ${start_timeout_s}s"
}

stop_bedbank() {
  [[ -n "$bedbank_pid" ]] && stop_pid "$bedbank_pid" bedbank
  bedbank_pid=
}

stop_nginx() {
  [[ -n "$nginx_pid" ]] && stop_pid "$nginx_pid" nginx
  nginx_pid=
}

# metrics_snapshot <file>: the admin API's /metrics (best effort, for the report).
metrics_snapshot() {
  curl -s --max-time "$curl_timeout_s" "http://$host:$admin_port/metrics" >"$1" 2>/dev/null || true
}

# metrics_summary <file> [regex]: the lines of a /metrics snapshot that show trouble under
# load: HTTP requests by status, rate limiting, the journal's counters, supplier outcomes
# summed over all suppliers, and the metrics whose line matches <regex> (if given).
metrics_summary() {
  awk -v extra="${2:-}" '
    /^#/ { next }
    /^bedbank_http_(requests_total|rate_limited_total)/ || /^bedbank_journal_/ { print; next }
    extra != "" && $0 ~ extra { print; next }
    /^bedbank_supplier_(calls|errors|timeouts|rejected)_total/ {
      name = $1; sub(/\{.*/, "", name); sum[name] += $NF; next
    }
    END { for (n in sum) printf "%s (all suppliers) %s\n", n, sum[n] }
  ' "$1" 2>/dev/null | head -n 40 || true
}

# -- benchmark 6: the cluster (bench/cluster.sh) ------------------------------------------

# shellcheck source=bench/cluster.sh
. "$root/bench/cluster.sh"

# -- benchmark 1: fan-out overhead --------------------------------------------------------

bench_fanout() {
  local out=$results/fanout.env config=bench/fanout.yaml
  local log=$run_dir/fanout-bedbank.log wrk_out=$run_dir/fanout-wrk.txt body=$run_dir/fanout-response.json
  : >"$out"
  "$bin" migrate --config "$config" >"$run_dir/fanout-migrate.log" 2>&1 ||
    die "bedbank migrate failed (log: $run_dir/fanout-migrate.log)"
  start_bedbank "$log" --config "$config"

  local code ok total i
  code=$(post_search "$base_url" "$body") || die "fanout: the check search failed (curl)"
  [[ "$code" == 200 ]] || die "fanout: the check search answered HTTP $code: $(head -c 300 "$body")"
  total=$(jq '.suppliers | length' "$body")
  ok=$(jq '[.suppliers[] | select(.status == "ok")] | length' "$body")
  if ((total != fanout_suppliers || ok != fanout_suppliers)); then
    die "fanout: expected $fanout_suppliers suppliers with status ok, got $ok ok of $total: $(jq -c .suppliers "$body")"
  fi
  echo "fanout: check search 200, $ok/$total suppliers ok, cache $(jq -r .cache "$body"), $(jq '.results | length' "$body") hotels, $(wc -c <"$body") bytes"

  # One request at a time: the latency without queueing behind other searches.
  local times=() t serial_p50
  for ((i = 0; i < fanout_serial_requests; ++i)); do
    t=$(curl -sS --max-time "$curl_timeout_s" -o /dev/null -w '%{time_total}' \
      -H 'Content-Type: application/json' -H "Authorization: Bearer $api_key" \
      --data-binary "$search_body" "$base_url/api/search") || die "fanout: serial search failed"
    times+=("$t")
  done
  serial_p50=$(printf '%s\n' "${times[@]}" | sort -n |
    awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] * 1000 }')
  echo "fanout: $fanout_serial_requests searches one at a time: median ${serial_p50} ms"

  # The same for one hotel (a small answer): the fan-out machinery without the big response.
  local hotel one_body one_p50
  hotel=$(jq -r '.results[0].hotel_id' "$body")
  one_body=$(printf '{"hotel_ids":["%s"],"check_in":"%s","check_out":"%s","rooms":[{"adults":2}]}' \
    "$hotel" "$(date -u -d '+30 days' +%F)" "$(date -u -d '+32 days' +%F)")
  times=()
  for ((i = 0; i < fanout_serial_requests; ++i)); do
    t=$(curl -sS --max-time "$curl_timeout_s" -o "$run_dir/fanout-one-hotel.json" -w '%{time_total}' \
      -H 'Content-Type: application/json' -H "Authorization: Bearer $api_key" \
      --data-binary "$one_body" "$base_url/api/search") || die "fanout: one-hotel search failed"
    times+=("$t")
  done
  one_p50=$(printf '%s\n' "${times[@]}" | sort -n |
    awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] * 1000 }')
  echo "fanout: $fanout_serial_requests one-hotel searches one at a time: median ${one_p50} ms ($(wc -c <"$run_dir/fanout-one-hotel.json") bytes)"

  local cmd="wrk $fanout_wrk_args -s bench/search.lua $base_url"
  echo "fanout: $cmd"
  # shellcheck disable=SC2086 # the argument list is meant to split
  wrk $fanout_wrk_args -s bench/search.lua "$base_url" >"$wrk_out" 2>&1 ||
    die "fanout: wrk failed: $(cat "$wrk_out")"
  cat "$wrk_out"
  metrics_snapshot "$run_dir/fanout-metrics.txt"

  # One more search after the load: still 200 with every supplier ok?
  local after_code after_ok
  after_code=$(post_search "$base_url" "$run_dir/fanout-after.json" || echo 000)
  after_ok=$(jq '[.suppliers[]? | select(.status == "ok")] | length' "$run_dir/fanout-after.json" 2>/dev/null || echo 0)
  stop_bedbank

  local p50 p99
  p50=$(wrk_ms "$wrk_out" 50) || die "fanout: no p50 in the wrk output"
  p99=$(wrk_ms "$wrk_out" 99) || die "fanout: no p99 in the wrk output"
  record "$out" cmd_config "bedbank migrate --config $config && bedbank serve --config $config"
  record "$out" cmd_check "curl -H 'Authorization: Bearer $api_key' -H 'Content-Type: application/json' -d '<search>' $base_url/api/search"
  record "$out" cmd_wrk "$cmd"
  record "$out" p50_ms "$p50"
  record "$out" p99_ms "$p99"
  record "$out" p75_ms "$(wrk_ms "$wrk_out" 75 || echo ?)"
  record "$out" p90_ms "$(wrk_ms "$wrk_out" 90 || echo ?)"
  record "$out" p50_overhead_ms "$(awk -v x="$p50" -v b="$supplier_latency_ms" 'BEGIN { printf "%.2f", x - b }')"
  record "$out" p99_overhead_ms "$(awk -v x="$p99" -v b="$supplier_latency_ms" 'BEGIN { printf "%.2f", x - b }')"
  record "$out" rps "$(wrk_rps "$wrk_out" || echo ?)"
  record "$out" requests "$(wrk_requests "$wrk_out" || echo ?)"
  record "$out" non2xx "$(wrk_non2xx "$wrk_out")"
  record "$out" socket_errors "$(wrk_socket_errors "$wrk_out")"
  record "$out" check_bytes "$(wc -c <"$body")"
  record "$out" check_hotels "$(jq '.results | length' "$body")"
  record "$out" check_rates "$(jq '[.results[].rates[]] | length' "$body")"
  record "$out" serial_p50_ms "$serial_p50"
  record "$out" one_hotel_p50_ms "$one_p50"
  record "$out" one_hotel_overhead_ms "$(awk -v x="$one_p50" -v b="$supplier_latency_ms" 'BEGIN { printf "%.2f", x - b }')"
  record "$out" one_hotel_bytes "$(wc -c <"$run_dir/fanout-one-hotel.json")"
  record "$out" one_hotel_rates "$(jq '[.results[].rates[]] | length' "$run_dir/fanout-one-hotel.json")"
  record "$out" one_hotel_suppliers_ok "$(jq '[.suppliers[] | select(.status == "ok")] | length' "$run_dir/fanout-one-hotel.json")"
  record "$out" serial_overhead_ms "$(awk -v x="$serial_p50" -v b="$supplier_latency_ms" 'BEGIN { printf "%.2f", x - b }')"
  record "$out" after_status "$after_code"
  record "$out" after_ok "$after_ok"
  record "$out" metrics "$(metrics_summary "$run_dir/fanout-metrics.txt")"
  record "$out" log_warnings "$(grep -cE '"level":"(warn|error)"' "$log" || true)"
  record "$out" log_warning_sample "$(grep -E '"level":"(warn|error)"' "$log" | head -n 3 || true)"
}

# -- benchmark 2: cache-hit throughput against nginx --------------------------------------

write_nginx_conf() {
  local dir=$1 user_line=""
  ((EUID == 0)) && user_line="user root root;"
  mkdir -p "$dir/html/api" "$dir/tmp"
  cat >"$dir/nginx.conf" <<NGINX
# Generated by bench/run.sh: nginx serving one JSON file, the cache-hit baseline.
$user_line
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
  worker_connections 1024;
}
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen $host:$nginx_port;
    root $dir/html;
    location = /api/search {
      default_type application/json;
      # The static module refuses POST with 405; answer it with the file instead.
      error_page 405 =200 \$uri;
    }
  }
}
NGINX
}

start_nginx() {
  local dir=$1 i code
  port_free "$nginx_port" || die "127.0.0.1:$nginx_port is in use"
  nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -t >"$dir/check.log" 2>&1 ||
    die "nginx config test failed: $(cat "$dir/check.log")"
  nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
  nginx_pid=$!
  for ((i = 0; i < start_timeout_s * 10; ++i)); do
    alive "$nginx_pid" || die "nginx exited during start-up: $(cat "$dir/nginx.out" "$dir/error.log" 2>/dev/null)"
    code=$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "http://$host:$nginx_port/api/search" || true)
    [[ "$code" == 200 ]] && return 0
    sleep 0.1
  done
  die "nginx does not answer on http://$host:$nginx_port within ${start_timeout_s}s"
}

bench_cache() {
  local out=$results/cache.env config=config/bedbank.yaml
  local log=$run_dir/cache-bedbank.log nginx_dir=$run_dir/nginx body=$run_dir/cache-response.json
  local -a sets=(--set "server.port=$agent_port" --set "server.admin_port=$admin_port"
    --set "database.port=$pg_port" --set "redis.port=$redis_port"
    --set "clickhouse.port=$ch_port" --set "risk.rate_limit_per_minute=$rate_limit")
  : >"$out"
  "$bin" migrate --config "$config" "${sets[@]}" >"$run_dir/cache-migrate.log" 2>&1 ||
    die "bedbank migrate failed (log: $run_dir/cache-migrate.log)"
  start_bedbank "$log" --config "$config" "${sets[@]}"

  # Warm: the first search fans out (miss), the next ones must be hits.
  local i code cache='' first_cache=''
  for ((i = 1; i <= cache_warm_attempts; ++i)); do
    code=$(post_search "$base_url" "$body") || die "cache: warm-up search failed (curl)"
    [[ "$code" == 200 ]] || die "cache: warm-up search answered HTTP $code: $(head -c 300 "$body")"
    cache=$(jq -r .cache "$body")
    [[ -n "$first_cache" ]] || first_cache=$cache
    echo "cache: warm-up search $i: 200, cache $cache, $(wc -c <"$body") bytes"
    [[ "$cache" == hit ]] && break
    sleep 0.2
  done
  [[ "$cache" == hit ]] || die "cache: no cache hit after $cache_warm_attempts searches"

  write_nginx_conf "$nginx_dir"
  cp "$body" "$nginx_dir/html/api/search"
  chmod 644 "$nginx_dir/html/api/search"
  start_nginx "$nginx_dir"
  code=$(post_search "http://$host:$nginx_port" "$run_dir/nginx-response.json") || die "cache: nginx check failed"
  [[ "$code" == 200 ]] || die "cache: nginx answered HTTP $code to the search POST"
  cmp -s "$body" "$run_dir/nginx-response.json" || die "cache: nginx serves a different body"

  local nginx_cmd="wrk $cache_wrk_args -s bench/search.lua http://$host:$nginx_port"
  local bedbank_cmd="wrk $cache_wrk_args -s bench/search.lua $base_url"
  echo "cache: $nginx_cmd"
  # shellcheck disable=SC2086 # the argument list is meant to split
  wrk $cache_wrk_args -s bench/search.lua "http://$host:$nginx_port" >"$run_dir/nginx-wrk.txt" 2>&1 ||
    die "cache: wrk against nginx failed: $(cat "$run_dir/nginx-wrk.txt")"
  cat "$run_dir/nginx-wrk.txt"
  stop_nginx
  echo "cache: $bedbank_cmd"
  # shellcheck disable=SC2086
  wrk $cache_wrk_args -s bench/search.lua "$base_url" >"$run_dir/cache-wrk.txt" 2>&1 ||
    die "cache: wrk against bedbank failed: $(cat "$run_dir/cache-wrk.txt")"
  cat "$run_dir/cache-wrk.txt"
  metrics_snapshot "$run_dir/cache-metrics.txt"
  local after_code after_cache
  after_code=$(post_search "$base_url" "$run_dir/cache-after.json" || echo 000)
  after_cache=$(jq -r .cache "$run_dir/cache-after.json" 2>/dev/null || echo "?")
  stop_bedbank

  local nginx_rps bedbank_rps
  nginx_rps=$(wrk_rps "$run_dir/nginx-wrk.txt") || die "cache: no requests/s in nginx's wrk output"
  bedbank_rps=$(wrk_rps "$run_dir/cache-wrk.txt") || die "cache: no requests/s in bedbank's wrk output"
  record "$out" cmd_config "bedbank serve --config $config ${sets[*]}"
  record "$out" cmd_nginx "nginx -p $nginx_dir -c $nginx_dir/nginx.conf (worker_processes 2, the warm search's body as a static file)"
  record "$out" cmd_wrk_nginx "$nginx_cmd"
  record "$out" cmd_wrk_bedbank "$bedbank_cmd"
  record "$out" nginx_rps "$nginx_rps"
  record "$out" bedbank_rps "$bedbank_rps"
  record "$out" ratio "$(awk -v a="$bedbank_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')"
  record "$out" body_bytes "$(wc -c <"$body")"
  record "$out" body_hotels "$(jq '.results | length' "$body")"
  record "$out" body_rates "$(jq '[.results[].rates[]] | length' "$body")"
  record "$out" first_cache "$first_cache"
  record "$out" nginx_non2xx "$(wrk_non2xx "$run_dir/nginx-wrk.txt")"
  record "$out" nginx_socket_errors "$(wrk_socket_errors "$run_dir/nginx-wrk.txt")"
  record "$out" bedbank_non2xx "$(wrk_non2xx "$run_dir/cache-wrk.txt")"
  record "$out" bedbank_socket_errors "$(wrk_socket_errors "$run_dir/cache-wrk.txt")"
  record "$out" bedbank_p50_ms "$(awk '$1 == "Latency" { print $2; exit }' "$run_dir/cache-wrk.txt")"
  record "$out" after_status "$after_code"
  record "$out" after_cache "$after_cache"
  record "$out" metrics "$(metrics_summary "$run_dir/cache-metrics.txt")"
  record "$out" log_warnings "$(grep -cE '"level":"(warn|error)"' "$log" || true)"
  record "$out" log_warning_sample "$(grep -E '"level":"(warn|error)"' "$log" | head -n 3 || true)"
}

# -- benchmark 3: journal ingest ----------------------------------------------------------

# bench_journal [name]: results in $results/<name>.env (default journal).
bench_journal() {
  local name=${1:-journal}
  local out=$results/$name.env log=$run_dir/$name-bench.txt
  local cmd="journal_bench --pg 'host=$host port=$pg_port user=bedbank' --spans $journal_spans --threads $journal_threads --rounds $journal_rounds"
  : >"$out"
  [[ -x "$journal_bin" ]] || die "no $journal_bin (cmake --build --preset release --target journal_bench)"
  echo "journal: $cmd"
  timeout "$journal_timeout_s" "$journal_bin" --pg "host=$host port=$pg_port user=bedbank" \
    --spans "$journal_spans" --threads "$journal_threads" --rounds "$journal_rounds" 2>&1 |
    tee "$log" || die "journal: journal_bench failed (log: $log)"
  local line
  line=$(grep '^RESULT ' "$log") || die "journal: no RESULT line from journal_bench"
  record "$out" cmd "$cmd"
  local kv
  for kv in ${line#RESULT }; do
    record "$out" "${kv%%=*}" "${kv#*=}"
  done
  record "$out" rounds_text "$(grep -E '^round ' "$log")"
}

# -- benchmark 4: orders end to end against pgbench ---------------------------------------

# pg_sql <database> <sql>: runs one statement on the bench's PostgreSQL server.
pg_sql() {
  PGOPTIONS="-c client_min_messages=warning" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$pg_port" -U bedbank -d "$1" -c "$2"
}

# bench_orders [name]: results in $results/<name>.env (default orders).
bench_orders() {
  local name=${1:-orders}
  local out=$results/$name.env config=bench/orders.yaml
  local log=$run_dir/$name-bedbank.log bench_log=$run_dir/$name-bench.txt
  local pgb_init=$run_dir/$name-pgbench-init.txt pgb_out=$run_dir/$name-pgbench.txt
  : >"$out"
  [[ -x "$order_bin" ]] || die "no $order_bin (cmake --build --preset release --target order_bench)"
  [[ -x "$pg_bin/pgbench" ]] || die "no $pg_bin/pgbench (Debian package postgresql-15)"
  "$bin" migrate --config "$config" >"$run_dir/$name-migrate.log" 2>&1 ||
    die "bedbank migrate failed (log: $run_dir/$name-migrate.log)"
  start_bedbank "$log" --config "$config"

  local cmd="order_bench --host $host --port $agent_port --key $api_key --connections $orders_connections --warmup $orders_warmup_s --duration $orders_duration_s --serial $orders_serial --verify $orders_verify"
  echo "orders: $cmd"
  timeout "$orders_timeout_s" "$order_bin" --host "$host" --port "$agent_port" --key "$api_key" \
    --connections "$orders_connections" --warmup "$orders_warmup_s" \
    --duration "$orders_duration_s" --serial "$orders_serial" --verify "$orders_verify" 2>&1 |
    tee "$bench_log" || die "orders: order_bench failed (log: $bench_log, bedbank log: $log)"
  metrics_snapshot "$run_dir/$name-metrics.txt"
  stop_bedbank
  local line
  line=$(grep '^RESULT ' "$bench_log") || die "orders: no RESULT line from order_bench"

  # pgbench on the same server, right after (bedbank stopped): the database's own ceiling for
  # small write transactions from as many clients.
  local init_cmd="pgbench -i -q -s $pgbench_scale -h $host -p $pg_port -U bedbank $pgbench_db"
  local pgb_cmd="pgbench -c $orders_connections -j $pgbench_jobs -T $pgbench_seconds -h $host -p $pg_port -U bedbank $pgbench_db"
  pg_sql postgres "DROP DATABASE IF EXISTS $pgbench_db" >/dev/null ||
    die "orders: could not drop database $pgbench_db"
  pg_sql postgres "CREATE DATABASE $pgbench_db OWNER bedbank" >/dev/null ||
    die "orders: could not create database $pgbench_db"
  echo "orders: $init_cmd"
  timeout "$pgbench_timeout_s" "$pg_bin/pgbench" -i -q -s "$pgbench_scale" -h "$host" -p "$pg_port" \
    -U bedbank "$pgbench_db" >"$pgb_init" 2>&1 || die "orders: pgbench -i failed: $(tail -n 5 "$pgb_init")"
  echo "orders: $pgb_cmd"
  timeout "$pgbench_timeout_s" "$pg_bin/pgbench" -c "$orders_connections" -j "$pgbench_jobs" \
    -T "$pgbench_seconds" -h "$host" -p "$pg_port" -U bedbank "$pgbench_db" >"$pgb_out" 2>&1 ||
    die "orders: pgbench failed: $(tail -n 5 "$pgb_out")"
  cat "$pgb_out"
  local tps
  tps=$(awk '/^tps = / { printf "%.0f", $3; found = 1; exit } END { if (!found) exit 1 }' "$pgb_out") ||
    die "orders: no tps in pgbench's output"
  pg_sql postgres "DROP DATABASE IF EXISTS $pgbench_db" >/dev/null || true

  record "$out" cmd_config "bedbank migrate --config $config && bedbank serve --config $config"
  record "$out" cmd "$cmd"
  record "$out" cmd_pgbench_init "$init_cmd"
  record "$out" cmd_pgbench "$pgb_cmd"
  local kv
  for kv in ${line#RESULT }; do
    record "$out" "${kv%%=*}" "${kv#*=}"
  done
  record "$out" outcomes "$(grep '^OUTCOME ' "$bench_log" | sed 's/^OUTCOME //')"
  record "$out" examples "$(grep '^EXAMPLE ' "$bench_log" | sed 's/^EXAMPLE //' | head -n 12)"
  record "$out" readback "$(grep '^order_bench: read back' "$bench_log")"
  record "$out" pgbench_tps "$tps"
  record "$out" pgbench_text "$(grep -E '^(scaling factor|query mode|number of clients|number of threads|duration|number of transactions|number of failed|latency average|initial connection time|tps)[ :]' "$pgb_out")"
  record "$out" ratio "$(awk -v a="$(grep -o 'orders_per_s=[0-9.]*' <<<"$line" | cut -d= -f2)" -v b="$tps" \
    'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')"
  record "$out" metrics "$(metrics_summary "$run_dir/$name-metrics.txt" '^bedbank_(order|orders|credit|booking|outbox|trial)')"
  record "$out" log_warnings "$(grep -cE '"level":"(warn|error)"' "$log" || true)"
  record "$out" log_warning_sample "$(grep -E '"level":"(warn|error)"' "$log" | head -n 3 || true)"
}

# -- benchmark 7: durability -----------------------------------------------------------------

# pg_mode durable|throwaway: the bench's PostgreSQL in that mode (scripts/services.sh applies it
# to the running server and prints it).
pg_mode() {
  local durable=0
  [[ "$1" == durable ]] && durable=1
  BEDBANK_PG_DURABLE=$durable "$root/scripts/services.sh" start "$run_dir" "$pg_port" "$redis_port" "$ch_port" |
    grep '^services: postgresql fsync=' || die "durability: could not put PostgreSQL in $1 mode"
}

bench_durability() {
  local out=$results/durability.env fsync_log=$run_dir/pg_test_fsync.txt
  : >"$out"
  trap 'pg_mode throwaway >/dev/null; stop_nginx; stop_bedbank' EXIT
  pg_mode durable
  record "$out" settings "$("$pg_bin/psql" -X -tA -h "$host" -p "$pg_port" -U bedbank -d postgres \
    -c "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')")"
  # How fast this disk makes a write durable: the ceiling of one-at-a-time commits.
  [[ -x "$pg_bin/pg_test_fsync" ]] || die "no $pg_bin/pg_test_fsync (Debian package postgresql-15)"
  "$pg_bin/pg_test_fsync" -s "$pg_test_fsync_s" -f "$run_dir/pg_test_fsync.tmp" >"$fsync_log" 2>&1 ||
    die "durability: pg_test_fsync failed: $(tail -n 5 "$fsync_log")"
  rm -f "$run_dir/pg_test_fsync.tmp"
  record "$out" fsync_text "$(grep -A6 'one 8kB write' "$fsync_log" | grep -E '^ +(fdatasync|fsync) ')"
  record "$out" fdatasync_ops "$(awk '/one 8kB write/ { f = 1 } f && /^ +fdatasync/ { print $2; exit }' "$fsync_log")"
  echo "durability: journal on a durable server"
  bench_journal journal_durable
  echo "durability: orders and pgbench on a durable server"
  bench_orders orders_durable
}

# -- benchmark 5: trace reports over millions of spans, and the archive ----------------------

# The loader's SQL (psql scripts with -v variables). Every generated row is a function of its
# number, so a run loads the same data; `trace_bench` is a scratch schema dropped at the end.

# traces_sql_setup: the generated orders (copies of the real ones booked through the API,
# written to orders, order_events and inventory_holds as the order store writes them), the
# span templates, and the secondary indexes of trace_events dropped for the load.
traces_sql_setup() {
  cat <<'SQL'
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off;
DROP SCHEMA IF EXISTS trace_bench CASCADE;
CREATE SCHEMA trace_bench;

-- Hot spans spread evenly over the last :hot_days days; old ones over one day, :old_days
-- to :old_days + 1 days ago.
CREATE TABLE trace_bench.params AS
SELECT now() - make_interval(days => :hot_days) AS hot_first,
       now() - make_interval(days => :old_days + 1) AS old_first,
       make_interval(secs => :hot_days * 86400.0 / :hot_spans) AS hot_step,
       make_interval(secs => 86400.0 / :old_spans) AS old_step;

-- The real orders booked through the API: generated order b copies seed b % seeds.
CREATE TABLE trace_bench.seed AS
SELECT (row_number() OVER (ORDER BY created_at, order_id) - 1)::bigint AS k, o.*
FROM orders o WHERE o.status = 'confirmed' AND o.agent_id = :'agent';

-- Order b's spans take the first 9 to 12 rows of block b (:block rows); its trial starts at
-- the block's first instant and it is created 800 ms later.
CREATE TABLE trace_bench.clone AS
SELECT b, b % (SELECT count(*) FROM trace_bench.seed) AS k,
       'ord_' || substr(md5('ord:' || b), 1, 16) AS order_id,
       'TRACE-BENCH-' || b AS client_reference,
       'tri_' || md5('tri:' || b) AS trial_id,
       md5('o:' || b || ':1') AS create_trace,
       p.hot_first + (b * :block) * p.hot_step AS trial_at,
       p.hot_first + (b * :block) * p.hot_step + interval '800 ms' AS created_at
FROM generate_series(0::bigint, :orders - 1) b, trace_bench.params p;

INSERT INTO orders (order_id, agent_id, client_reference, status, status_reason, supplier,
  supplier_ref, hotel_id, hotel_code, room_code, room_name, board, check_in, check_out, rooms,
  guests, contact, price_minor, currency, net_minor, net_currency, credit_minor, credit_currency,
  refundable, policies, hold_only, penalty_minor, refund_minor, scenario, version, trace_id,
  trace_ids, created_at, updated_at)
SELECT c.order_id, s.agent_id, c.client_reference, s.status, s.status_reason, s.supplier,
  split_part(s.supplier_ref, '-', 1) || '-' || upper(substr(md5('ref:' || c.b), 1, 10)),
  s.hotel_id, s.hotel_code, s.room_code, s.room_name, s.board, s.check_in, s.check_out, s.rooms,
  s.guests, s.contact, s.price_minor, s.currency, s.net_minor, s.net_currency, s.credit_minor,
  s.credit_currency, s.refundable, s.policies, s.hold_only, s.penalty_minor, s.refund_minor,
  s.scenario, s.version, c.create_trace, ARRAY[c.create_trace], c.created_at,
  c.created_at + (s.updated_at - s.created_at)
FROM trace_bench.clone c JOIN trace_bench.seed s ON s.k = c.k ORDER BY c.b;

INSERT INTO order_events (order_id, from_status, to_status, event, reason, trace_id, created_at)
SELECT c.order_id, e.from_status, e.to_status, e.event, e.reason, c.create_trace,
  c.created_at + (e.created_at - s.created_at)
FROM trace_bench.clone c JOIN trace_bench.seed s ON s.k = c.k
JOIN order_events e ON e.order_id = s.order_id ORDER BY c.b, e.id;

INSERT INTO inventory_holds (order_id, supplier, status, expires_at, created_at, updated_at)
SELECT c.order_id, h.supplier, h.status, c.created_at + (h.expires_at - s.created_at),
  c.created_at + (h.created_at - s.created_at), c.created_at + (h.updated_at - s.created_at)
FROM trace_bench.clone c JOIN trace_bench.seed s ON s.k = c.k
JOIN inventory_holds h ON h.order_id = s.order_id ORDER BY c.b;

-- An order's spans by seed k, trace count t (3..5) and position p (0..11), shaped as the
-- journal records a booking: the trial's trace (HTTP request, trial, the supplier's
-- availability check), the create's (HTTP request, create, book, the supplier's booking,
-- confirm), then outbox relay passes, each its own trace (positions after a pass's first
-- re-book under it). Text with placeholders @ORD@ (order id), @TRI@ (trial id), @CREF@
-- (client reference), @SREF@ (supplier's reference), @OBX@ (outbox row).
CREATE TABLE trace_bench.otpl AS
WITH s AS (
  SELECT k, agent_id, supplier, hotel_id, hotel_code, room_code, board, hold_only::text AS hold_only,
    guests::text AS guests,
    json_build_object('amount', to_char(price_minor / 100.0, 'FM9999999990.00'), 'currency', currency)::text AS price,
    json_build_object('amount', to_char(net_minor / 100.0, 'FM9999999990.00'), 'currency', net_currency)::text AS net,
    replace(encode(convert_to(json_build_object('s', supplier, 'hc', hotel_code, 'h', hotel_id,
      'rc', room_code, 'b', board, 'ci', check_in - date '1970-01-01',
      'co', check_out - date '1970-01-01', 'r', rooms, 'n', net_minor, 'c', net_currency)::text,
      'UTF8'), 'base64'), E'\n', '') AS rate_key
  FROM trace_bench.seed),
pos AS (
  SELECT t, p, CASE WHEN p < 3 THEN 0 WHEN p < 8 THEN 1 ELSE 2 + LEAST(p - 8, t - 3) END AS slot
  FROM generate_series(3, 5) t, generate_series(0, 11) p),
x AS (
  SELECT t, p, slot, p - min(p) OVER (PARTITION BY t, slot) AS rn,
         p >= 8 AND p = min(p) OVER (PARTITION BY t, slot) AS relay
  FROM pos)
SELECT s.k * 64 + (x.t - 3) * 16 + x.p AS key, x.slot,
  CASE WHEN x.p IN (0, 3, 5, 7) OR x.relay THEN NULL ELSE x.p - 1 END AS parent_p,
  CASE WHEN x.p IN (0, 3) THEN 'http_request' WHEN x.p = 1 THEN 'trial'
       WHEN x.p = 2 THEN 'supplier_check_availability' WHEN x.p = 4 THEN 'create'
       WHEN x.p = 5 THEN 'book' WHEN x.p = 6 THEN 'supplier_create_booking'
       WHEN x.p = 7 THEN 'confirm' WHEN x.relay THEN 'outbox_relay'
       WHEN x.rn % 2 = 1 THEN 'book' ELSE 'supplier_create_booking' END AS event_type,
  CASE WHEN x.p IN (0, 3) THEN 'api_gateway' WHEN x.p IN (2, 6) THEN 'supplier_adapter'
       WHEN x.p >= 8 AND NOT x.relay AND x.rn % 2 = 0 THEN 'supplier_adapter'
       ELSE 'order_engine' END AS service,
  s.agent_id, s.supplier,
  CASE x.p
    WHEN 0 THEN '{"body": {"rooms": ' || s.guests || ', "rate_key": "' || s.rate_key || '", "expected_price": ' || s.price || '}, "path": "/api/orders/trial", "agent": "' || s.agent_id || '", "method": "POST"}'
    WHEN 1 THEN '{"board": "' || s.board || '", "expected": ' || s.price || ', "hotel_id": "' || s.hotel_id || '", "supplier": "' || s.supplier || '", "trial_id": "@TRI@", "room_code": "' || s.room_code || '"}'
    WHEN 2 THEN '{"hotel": "' || s.hotel_code || '"}'
    WHEN 3 THEN '{"body": {"trial_id": "@TRI@", "hold_only": ' || s.hold_only || ', "client_reference": "@CREF@"}, "path": "/api/orders", "agent": "' || s.agent_id || '", "method": "POST"}'
    WHEN 4 THEN '{"trial_id": "@TRI@", "hold_only": ' || s.hold_only || ', "client_reference": "@CREF@"}'
    WHEN 5 THEN '{"attempt": 1, "idempotency_key": "@ORD@"}'
    WHEN 6 THEN '{"idempotency_key": "@ORD@"}'
    WHEN 7 THEN '{"source": "supplier"}'
    ELSE CASE WHEN x.relay THEN '{"kind": "book", "attempts": ' || (x.p - 6) || ', "outbox_id": @OBX@, "max_attempts": 5}'
              WHEN x.rn % 2 = 1 THEN '{"attempt": ' || (x.p - 6) || ', "idempotency_key": "@ORD@"}'
              ELSE '{"idempotency_key": "@ORD@"}' END
  END AS req,
  CASE x.p
    WHEN 0 THEN '{"status": 200}'
    WHEN 1 THEN '{"net": ' || s.net || ', "price": ' || s.price || ', "status": "available"}'
    WHEN 2 THEN '{"circuit": "closed", "available": true}'
    WHEN 3 THEN '{"status": 201}'
    WHEN 4 THEN '{"price": ' || s.price || ', "replay": false, "status": "booking"}'
    WHEN 5 THEN '{"status": "confirmed", "supplier_booking_ref": "@SREF@"}'
    WHEN 6 THEN '{"ref": "@SREF@", "circuit": "closed"}'
    WHEN 7 THEN '{"status": "confirmed", "supplier_booking_ref": "@SREF@"}'
    ELSE CASE WHEN x.relay THEN '{"last_error": "supplier timeout after 5000 ms"}'
              WHEN x.rn % 2 = 1 THEN '{"status": "confirmed", "supplier_booking_ref": "@SREF@"}'
              ELSE '{"ref": "@SREF@", "circuit": "closed"}' END
  END AS res,
  (CASE WHEN x.p < 3 THEN x.p * 150 WHEN x.p < 8 THEN 800000 + (x.p - 3) * 200
        ELSE (x.p - 7) * 15000000 END)::bigint AS offset_us,
  (ARRAY[1967, 974, 193, 129758, 85194, 6661, 6519, 37199, 2400, 6100, 5800, 2200])[x.p + 1]::bigint AS dur_us
FROM s CROSS JOIN x;
ANALYZE trace_bench.otpl;

-- Search traces of five spans (the HTTP request, the search, three supplier queries; one in
-- four a search by hotels whose last span is the first hotel's rates), 199 variants.
CREATE TABLE trace_bench.ftpl AS
SELECT q * 256 + v AS key,
  CASE WHEN q = 0 THEN 'http_request' WHEN q = 1 THEN 'search'
       WHEN q = 4 AND by_hotel THEN 'hotel_rates' ELSE 'supplier_query' END AS event_type,
  CASE WHEN q = 0 THEN 'api_gateway' WHEN q = 1 OR (q = 4 AND by_hotel) THEN 'query_engine'
       ELSE 'supplier_adapter' END AS service,
  CASE WHEN q = 0 THEN 'agent' WHEN q = 1 THEN NULL WHEN q = 4 AND by_hotel THEN 'hotel'
       ELSE 'supplier' END AS related_type,
  CASE WHEN q = 0 THEN agent WHEN q = 1 THEN NULL WHEN q = 4 AND by_hotel THEN hotel
       ELSE (ARRAY['dida', 'hotelbeds', 'expedia'])[q - 1] END AS related_id,
  agent,
  (CASE q
    WHEN 0 THEN '{"body": {' || CASE WHEN by_hotel THEN '"hotel_ids": ' || hotels ELSE '"city": "' || city || '"' END
      || ', "rooms": ' || rooms || ', "check_in": "' || ci || '", "check_out": "' || co || '"'
      || CASE WHEN v % 3 = 0 THEN ', "currency": "CNY", "max_results": 50' ELSE '' END
      || '}, "path": "/api/search", "agent": "' || agent || '", "method": "POST"}'
    WHEN 1 THEN '{' || CASE WHEN by_hotel THEN '"hotel_ids": ' || hotels ELSE '"city": "' || city || '"' END
      || ', "rooms": ' || (1 + v % 5 / 4) || ', "check_in": "' || ci || '", "check_out": "' || co || '"}'
    WHEN 4 THEN CASE WHEN by_hotel THEN '{"hotel_id": "' || hotel || '"}'
      ELSE '{"rooms": ' || (1 + v % 5 / 4) || ', "hotels": ' || (24 + v % 9) || ', "check_in": "' || ci || '", "check_out": "' || co || '"}' END
    ELSE '{"rooms": ' || (1 + v % 5 / 4) || ', "hotels": ' || CASE WHEN by_hotel THEN 3 ELSE 24 + (v + q) % 9 END
      || ', "check_in": "' || ci || '", "check_out": "' || co || '"}'
  END)::jsonb AS req,
  (CASE q
    WHEN 0 THEN '{"status": 200}'
    WHEN 1 THEN '{"cache": "' || CASE WHEN v % 3 = 0 THEN 'hit' ELSE 'miss' END || '", "hotels": '
      || CASE WHEN by_hotel THEN 3 ELSE 30 + v % 10 END || ', "source": "'
      || CASE WHEN v % 3 = 0 THEN 'cache' ELSE 'suppliers' END || '", "suppliers": 3}'
    WHEN 4 THEN CASE WHEN by_hotel
      THEN '{"cache": "miss", "rates": ' || (3 + v % 12) || ', "suppliers": ["dida", "expedia", "hotelbeds"], "cheapest_net_minor": ' || (38000 + v * 731 % 90000) || '}'
      ELSE '{"rates": ' || (150 + v * 7 % 90) || ', "circuit": "closed"}' END
    ELSE '{"rates": ' || CASE WHEN by_hotel THEN 4 + v % 9 ELSE 150 + (v + q) * 7 % 90 END || ', "circuit": "closed"}'
  END)::jsonb AS res,
  (ARRAY[84403, 17903, 2552, 2850, 2721])[q + 1] + (v * 373) % 4000 AS dur_us
FROM (SELECT q, v, v % 4 = 0 AS by_hotel,
        CASE WHEN v % 10 < 7 THEN 'demo-a' ELSE 'demo-b' END AS agent,
        c.city, 'H-' || c.city || '-' || lpad((1 + v % 40)::text, 4, '0') AS hotel,
        '["H-' || c.city || '-' || lpad((1 + v % 40)::text, 4, '0') || '", "H-' || c.city || '-'
          || lpad((1 + (v + 7) % 40)::text, 4, '0') || '", "H-' || c.city || '-'
          || lpad((1 + (v + 19) % 40)::text, 4, '0') || '"]' AS hotels,
        CASE WHEN v % 5 = 4 THEN '[{"adults": 2, "children_ages": [' || (3 + v % 9) || ']}, {"adults": 1}]'
             ELSE '[{"adults": ' || (1 + v % 3) || '}]' END AS rooms,
        to_char(date '2026-12-01' + v % 90, 'YYYY-MM-DD') AS ci,
        to_char(date '2026-12-01' + v % 90 + 1 + v % 4, 'YYYY-MM-DD') AS co
      FROM generate_series(0, 4) q, generate_series(0, 198) v,
        LATERAL (SELECT (ARRAY['SHA', 'PEK', 'CAN', 'SZX', 'HGH', 'CTU'])[v % 6 + 1] AS city) c) x;
ANALYZE trace_bench.ftpl;

-- The secondary indexes of trace_events, dropped for the load and built again afterwards.
CREATE TABLE trace_bench.idx AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename = 'trace_events' AND indexname <> 'trace_events_pkey';
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM trace_bench.idx LOOP
    EXECUTE 'DROP INDEX ' || quote_ident(r.indexname);
  END LOOP;
END $$;
SQL
}

# traces_sql_hot: hot spans :from .. :to - 1 (whole blocks): block b opens with the 9 to 12
# spans of order b over 3 to 5 traces, then search traces fill it. Hash joins only, so the
# rows go in in time order, as the journal writes them.
traces_sql_hot() {
  cat <<'SQL'
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off;
SET jit = off;
SET enable_mergejoin = off;
SET enable_sort = off;
SELECT hot_first, hot_step FROM trace_bench.params \gset
INSERT INTO trace_events (trace_id, span_id, parent_span_id, event_type, service, related_type,
  related_id, request_data, response_data, duration_ms, status, created_at, started_at,
  duration_us, agent_id, node)
SELECT
  CASE WHEN r.own THEN md5('o:' || r.b || ':' || o.slot) ELSE md5('h:' || r.b || ':' || r.g) END,
  substr(md5('s:' || r.i), 1, 16),
  CASE WHEN r.own THEN substr(md5('s:' || (r.b * :block + o.parent_p)), 1, 16)
       WHEN r.q > 0 THEN substr(md5('s:' || (r.i - CASE WHEN r.q = 1 THEN 1 ELSE r.q - 1 END)), 1, 16) END,
  COALESCE(o.event_type, f.event_type), COALESCE(o.service, f.service),
  CASE WHEN NOT r.own THEN f.related_type WHEN o.service = 'api_gateway' THEN 'agent'
       WHEN o.service = 'supplier_adapter' THEN 'supplier' ELSE 'order' END,
  CASE WHEN NOT r.own THEN f.related_id WHEN o.service = 'api_gateway' THEN o.agent_id
       WHEN o.service = 'supplier_adapter' THEN o.supplier ELSE c.order_id END,
  CASE WHEN r.own THEN replace(replace(replace(replace(o.req, '@ORD@', c.order_id), '@TRI@',
         c.trial_id), '@CREF@', c.client_reference), '@OBX@', (r.b * 7 + r.p)::text)::jsonb
       ELSE f.req END,
  CASE WHEN r.own THEN replace(o.res, '@SREF@', 'REF-' || upper(substr(md5('ref:' || r.b), 1, 10)))::jsonb
       ELSE f.res END,
  (COALESCE(o.dur_us, f.dur_us) + 500) / 1000, 'success',
  CASE WHEN r.own THEN c.trial_at + o.offset_us * interval '1 microsecond'
       ELSE :'hot_first'::timestamptz + r.i * :'hot_step'::interval END,
  CASE WHEN r.own THEN c.trial_at + o.offset_us * interval '1 microsecond'
       ELSE :'hot_first'::timestamptz + r.i * :'hot_step'::interval END,
  COALESCE(o.dur_us, f.dur_us), COALESCE(o.agent_id, f.agent), :'node'
FROM (SELECT i, b, p, t, p < n AS own, (p - n) / 5 AS g,
             CASE WHEN p < n THEN -1 ELSE (p - n) % 5 END AS q
      FROM (SELECT i, i / :block AS b, i % :block AS p,
                   9 + (i / :block * 2654435761 % 4294967291) % 4 AS n,
                   3 + (i / :block * 2246822519 % 4294967279) % 3 AS t
            FROM generate_series(:from::bigint, :to::bigint - 1) i) x) r
LEFT JOIN trace_bench.clone c ON c.b = r.b AND r.own
LEFT JOIN trace_bench.otpl o ON o.key = c.k * 64 + (r.t - 3) * 16 + r.p AND r.own
LEFT JOIN trace_bench.ftpl f ON f.key = r.q * 256 + (r.b * 53 + r.g) % 199 AND NOT r.own;
SQL
}

# traces_sql_old: :old_spans search spans, one day's worth :old_days days ago.
traces_sql_old() {
  cat <<'SQL'
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off;
SET jit = off;
SET enable_mergejoin = off;
SET enable_sort = off;
SELECT old_first, old_step FROM trace_bench.params \gset
INSERT INTO trace_events (trace_id, span_id, parent_span_id, event_type, service, related_type,
  related_id, request_data, response_data, duration_ms, status, created_at, started_at,
  duration_us, agent_id, node)
SELECT md5('a:' || r.g), substr(md5('t:' || r.j), 1, 16),
  CASE WHEN r.q > 0 THEN substr(md5('t:' || (r.j - CASE WHEN r.q = 1 THEN 1 ELSE r.q - 1 END)), 1, 16) END,
  f.event_type, f.service, f.related_type, f.related_id, f.req, f.res, (f.dur_us + 500) / 1000,
  'success', :'old_first'::timestamptz + r.j * :'old_step'::interval,
  :'old_first'::timestamptz + r.j * :'old_step'::interval, f.dur_us, f.agent, :'node'
FROM (SELECT j, j / 5 AS g, j % 5 AS q FROM generate_series(0::bigint, :old_spans - 1) j) r
JOIN trace_bench.ftpl f ON f.key = r.q * 256 + (r.g * 53) % 199;
SQL
}

# pg_value <sql>: one value from the bench database.
pg_value() {
  "$pg_bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$pg_port" -U bedbank -d bedbank -c "$1"
}

# pg_script <timeout s> <log> <script> [psql args...]: a psql script on the bench database.
pg_script() {
  local limit=$1 log=$2 script=$3
  shift 3
  timeout "$limit" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$pg_port" -U bedbank \
    -d bedbank "$@" -f "$script" >>"$log" 2>&1
}

# ch_sql <sql>: one statement over ClickHouse's HTTP interface; prints the answer and fails
# unless ClickHouse answered 200.
ch_sql() {
  local body code
  body=$(mktemp)
  code=$(curl -sS --max-time "$traces_ch_timeout_s" -o "$body" -w '%{http_code}' \
    --data-binary "$1" "http://$host:$ch_port/") || code=000
  cat "$body"
  rm -f "$body"
  [[ "$code" == 200 ]]
}

# now_s: seconds since the epoch with nanoseconds; since_s <t0>: seconds since t0.
now_s() {
  date +%s.%N
}
since_s() {
  awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }'
}

# get_json <path> <out file>: GET on the agent API as demo agent A; prints "<status> <seconds>"
# and a newline.
get_json() {
  curl -sS --max-time "$curl_timeout_s" -o "$2" -w '%{http_code} %{time_total}\n' \
    -H "Authorization: Bearer $api_key" "$base_url$1"
}

# post_json <path> <body> <out file>: POST on the agent API as demo agent A; prints the status.
post_json() {
  curl -sS --max-time "$curl_timeout_s" -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $api_key" --data-binary "$2" "$base_url$1"
}

# traces_hold_then_confirm <n>: n bookings held first and confirmed later (hold_only, then
# POST /api/orders/{id}/confirm), so some of the copied orders have that history.
traces_hold_then_confirm() {
  local n=$1 dir=$run_dir/traces-held i rate body code trial order_id
  mkdir -p "$dir"
  code=$(post_search "$base_url" "$dir/search.json") || die "traces: the search for held orders failed"
  [[ "$code" == 200 ]] || die "traces: the search for held orders answered HTTP $code"
  for ((i = 0; i < n; ++i)); do
    rate=$(jq -c --argjson i "$i" '[.results[].rates[]][$i * 7] // empty' "$dir/search.json")
    [[ -n "$rate" ]] || break
    body=$(jq -c '{rate_key, expected_price: .price,
      rooms: [{adults: 2, guests: [{first_name: "Si", last_name: "Li"}]}]}' <<<"$rate")
    code=$(post_json /api/orders/trial "$body" "$dir/trial-$i.json") || die "traces: trial failed"
    [[ "$code" == 200 ]] || die "traces: trial answered HTTP $code: $(head -c 300 "$dir/trial-$i.json")"
    trial=$(jq -r .trial_id "$dir/trial-$i.json")
    body=$(jq -cn --arg t "$trial" --arg r "HELD-BENCH-$i" '{trial_id: $t, client_reference: $r, hold_only: true}')
    code=$(post_json /api/orders "$body" "$dir/create-$i.json") || die "traces: create failed"
    [[ "$code" == 201 ]] || die "traces: create (hold) answered HTTP $code: $(head -c 300 "$dir/create-$i.json")"
    order_id=$(jq -r .order_id "$dir/create-$i.json")
    code=$(post_json "/api/orders/$order_id/confirm" '' "$dir/confirm-$i.json") || die "traces: confirm failed"
    [[ "$code" == 200 ]] || die "traces: confirm answered HTTP $code: $(head -c 300 "$dir/confirm-$i.json")"
  done
}

# traces_expected_spans <order id>: what GET /api/traces/by-order must count for demo agent A:
# every span of the order's traces (its trace ids and the traces with a span related to it).
traces_expected_spans() {
  pg_value "WITH t AS (SELECT unnest(trace_ids) AS trace_id FROM orders WHERE order_id = '$1'
    UNION SELECT trace_id FROM trace_events WHERE related_type = 'order' AND related_id = '$1')
    SELECT count(*) FROM trace_events WHERE trace_id IN (SELECT trace_id FROM t)
    AND agent_id = '$traces_agent'"
}

# traces_plans <pg log> <from byte>: the auto_explain plans logged after <from> of the
# statements that read spans, orders or the archive watermark (query texts cut at 160
# characters).
traces_plans() {
  tail -c "+$(($2 + 1))" "$1" | awk '
    function flush(   n, i, lines) {
      if (block != "" && block ~ /(trace_events|FROM orders o|trace_archive_state)/) {
        n = split(block, lines, "\n")
        for (i = 1; i <= n; ++i) {
          if (lines[i] ~ /^Query Text: / && length(lines[i]) > 160) lines[i] = substr(lines[i], 1, 160) " …"
          print lines[i]
        }
      }
      block = ""
    }
    /LOG:  duration: [0-9.]+ ms  plan:/ {
      flush(); d = $0; sub(/.*LOG:  /, "", d); sub(/  plan:.*/, "", d); block = "-- " d; inplan = 1; next
    }
    inplan && /^\t/ { line = $0; sub(/^\t/, "", line); block = block "\n" line; next }
    { flush(); inplan = 0 }
    END { flush() }'
}

bench_traces() {
  local out=$results/traces.env config=bench/traces.yaml
  local log=$run_dir/traces-bedbank.log seed_log=$run_dir/traces-seed-bedbank.log
  local explain_log=$run_dir/traces-explain-bedbank.log load_log=$run_dir/traces-load.log sql=$run_dir/traces-sql
  local ids=$run_dir/traces-order-ids.txt wrk_out=$run_dir/traces-wrk.txt
  local bench_t0 block split
  bench_t0=$(now_s)
  : >"$out"
  record "$out" started "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  [[ -x "$order_bin" ]] || die "no $order_bin (cmake --build --preset release --target order_bench)"
  ((traces_hot_spans % traces_orders == 0)) || die "traces: $traces_hot_spans spans do not split into $traces_orders blocks"
  block=$((traces_hot_spans / traces_orders))
  ((block >= 20)) || die "traces: blocks of $block spans leave no room for searches"
  "$bin" migrate --config "$config" >"$run_dir/traces-migrate.log" 2>&1 ||
    die "bedbank migrate failed (log: $run_dir/traces-migrate.log)"

  # 1. Real orders through the API: order_bench books at once, a few more are held and
  # confirmed later. Every generated order is a copy of one of them.
  start_bedbank "$seed_log" --config "$config"
  local seed_cmd="order_bench --host $host --port $agent_port --key $api_key --connections $traces_seed_connections --warmup 0 --duration $traces_seed_s --serial 0 --verify 0"
  echo "traces: $seed_cmd"
  timeout "$orders_timeout_s" "$order_bin" --host "$host" --port "$agent_port" --key "$api_key" \
    --connections "$traces_seed_connections" --warmup 0 --duration "$traces_seed_s" --serial 0 \
    --verify 0 >"$run_dir/traces-seed.txt" 2>&1 ||
    die "traces: order_bench failed: $(tail -n 5 "$run_dir/traces-seed.txt")"
  traces_hold_then_confirm "$traces_held_orders"
  stop_bedbank
  local seeds seeds_held
  seeds=$(pg_value "SELECT count(*) FROM orders WHERE status = 'confirmed' AND agent_id = '$traces_agent'")
  seeds_held=$(pg_value "SELECT count(*) FROM orders WHERE status = 'confirmed' AND hold_only")
  ((seeds > 0)) || die "traces: no confirmed order of $traces_agent to copy"
  echo "traces: $seeds real confirmed orders to copy ($seeds_held held first, then confirmed)"

  # 2. The load: orders, then spans from two sessions (the old ones and the first part of
  # the hot ones / the rest), then the indexes from two sessions, then VACUUM ANALYZE.
  mkdir -p "$sql"
  traces_sql_setup >"$sql/setup.sql"
  traces_sql_hot >"$sql/hot.sql"
  traces_sql_old >"$sql/old.sql"
  : >"$load_log"
  local -a vars=(-v "hot_days=$traces_hot_days" -v "old_days=$traces_old_days"
    -v "hot_spans=$traces_hot_spans" -v "old_spans=$traces_old_spans" -v "orders=$traces_orders"
    -v "block=$block" -v "agent=$traces_agent" -v "node=bench-1")
  local gen_t0 t0 setup_s spans_s index_s vacuum_s gen_s pid_a pid_b
  gen_t0=$(now_s)
  echo "traces: loading $traces_orders orders, $traces_hot_spans spans of the last $traces_hot_days days and $traces_old_spans spans $traces_old_days days old (SQL in ${sql#"$root"/})"
  pg_script "$traces_load_timeout_s" "$load_log" "$sql/setup.sql" "${vars[@]}" ||
    die "traces: loading the orders failed: $(tail -n 5 "$load_log")"
  setup_s=$(since_s "$gen_t0")
  # Balance the two sessions: old + hot[0, split) against hot[split, end), whole blocks.
  split=$(((traces_hot_spans - traces_old_spans) / 2 / block * block))
  ((split < 0)) && split=0
  t0=$(now_s)
  (pg_script "$traces_load_timeout_s" "$load_log.a" "$sql/old.sql" "${vars[@]}" &&
    pg_script "$traces_load_timeout_s" "$load_log.a" "$sql/hot.sql" "${vars[@]}" -v from=0 -v "to=$split") &
  pid_a=$!
  pg_script "$traces_load_timeout_s" "$load_log.b" "$sql/hot.sql" "${vars[@]}" -v "from=$split" \
    -v "to=$traces_hot_spans" &
  pid_b=$!
  wait "$pid_a" || { wait "$pid_b" || true; die "traces: loading spans failed: $(tail -n 5 "$load_log.a")"; }
  wait "$pid_b" || die "traces: loading spans failed: $(tail -n 5 "$load_log.b")"
  spans_s=$(since_s "$t0")
  # The indexes as the migrations define them: the trace id's (the largest) in one session,
  # the others in a second.
  local defs_a defs_b
  defs_a=$(pg_value "SELECT string_agg(indexdef, '; ') FROM trace_bench.idx WHERE indexdef LIKE '%(trace_id)'")
  defs_b=$(pg_value "SELECT string_agg(indexdef, '; ') FROM trace_bench.idx WHERE indexdef NOT LIKE '%(trace_id)'")
  t0=$(now_s)
  printf "SET maintenance_work_mem = '%s';\nSET max_parallel_maintenance_workers = 0;\n%s;\n" \
    "$traces_index_mem" "${defs_a:-SELECT 1}" >"$sql/index-a.sql"
  printf "SET maintenance_work_mem = '%s';\nSET max_parallel_maintenance_workers = 0;\n%s;\n" \
    "$traces_index_mem" "${defs_b:-SELECT 1}" >"$sql/index-b.sql"
  pg_script "$traces_load_timeout_s" "$load_log.a" "$sql/index-a.sql" &
  pid_a=$!
  pg_script "$traces_load_timeout_s" "$load_log.b" "$sql/index-b.sql" &
  pid_b=$!
  wait "$pid_a" || { wait "$pid_b" || true; die "traces: building indexes failed: $(tail -n 5 "$load_log.a")"; }
  wait "$pid_b" || die "traces: building indexes failed: $(tail -n 5 "$load_log.b")"
  index_s=$(since_s "$t0")
  t0=$(now_s)
  printf '%s\n' "VACUUM (ANALYZE) trace_events;" "ANALYZE orders;" "ANALYZE order_events;" \
    "ANALYZE inventory_holds;" "DROP SCHEMA trace_bench CASCADE;" >"$sql/finish.sql"
  pg_script "$traces_load_timeout_s" "$load_log" "$sql/finish.sql" ||
    die "traces: VACUUM ANALYZE failed: $(tail -n 5 "$load_log")"
  vacuum_s=$(since_s "$t0")
  gen_s=$(since_s "$gen_t0")
  local stats spans old_spans order_spans table_mb index_mb payload_bytes orders_total
  stats=$(pg_value "SELECT count(*), count(*) FILTER (WHERE created_at < now() - interval '$traces_cutoff_days days'),
      count(*) FILTER (WHERE related_type = 'order'),
      round(pg_table_size('trace_events') / 1048576.0), round(pg_indexes_size('trace_events') / 1048576.0)
      FROM trace_events") || die "traces: counting spans failed"
  IFS='|' read -r spans old_spans order_spans table_mb index_mb <<<"$stats"
  payload_bytes=$(pg_value "SELECT round(avg(length(request_data::text) + COALESCE(length(response_data::text), 0)))
      FROM trace_events TABLESAMPLE SYSTEM (1) REPEATABLE (7)")
  orders_total=$(pg_value "SELECT count(*) FROM orders")
  echo "traces: loaded in ${gen_s} s (orders ${setup_s} s, spans ${spans_s} s, indexes ${index_s} s, VACUUM ANALYZE ${vacuum_s} s): $spans spans ($old_spans older than $traces_cutoff_days days, $order_spans related to an order), table $table_mb MB + indexes $index_mb MB, request+response ~$payload_bytes bytes of JSON text per span; $orders_total orders"
  ((spans >= traces_hot_spans)) || die "traces: only $spans spans in trace_events"

  # 3. By-order reports: checks, one at a time, then wrk.
  start_bedbank "$log" --config "$config"
  pg_value "SELECT order_id FROM orders WHERE agent_id = '$traces_agent'" >"$ids"
  local check_ids id code expected got checked=0 check_text=''
  check_ids=$(pg_value "(SELECT order_id FROM orders WHERE client_reference LIKE 'TRACE-BENCH-%' ORDER BY md5(order_id) LIMIT 2)
      UNION ALL (SELECT order_id FROM orders WHERE client_reference LIKE 'bench-%' ORDER BY order_id LIMIT 1)
      UNION ALL (SELECT order_id FROM orders WHERE client_reference LIKE 'HELD-BENCH-%' ORDER BY order_id LIMIT 1)")
  for id in $check_ids; do
    read -r code _ < <(get_json "/api/orders/$id" "$run_dir/traces-order.json") || die "traces: GET /api/orders/$id failed"
    [[ "$code" == 200 && "$(jq -r .order_id "$run_dir/traces-order.json")" == "$id" ]] ||
      die "traces: GET /api/orders/$id answered HTTP $code: $(head -c 300 "$run_dir/traces-order.json")"
    read -r code _ < <(get_json "/api/traces/by-order/$id" "$run_dir/traces-check.json") || die "traces: by-order $id failed"
    [[ "$code" == 200 ]] || die "traces: GET /api/traces/by-order/$id answered HTTP $code: $(head -c 300 "$run_dir/traces-check.json")"
    expected=$(traces_expected_spans "$id")
    got=$(jq -r '.span_count' "$run_dir/traces-check.json")
    ((got == expected)) || die "traces: by-order $id counts $got spans, trace_events holds $expected of its traces"
    [[ "$(jq -r '.sources.clickhouse' "$run_dir/traces-check.json")" == 0 ]] ||
      die "traces: by-order $id read the archive: $(jq -c .sources "$run_dir/traces-check.json")"
    check_text+="$id $(jq -r '.order.status' "$run_dir/traces-check.json"), $got spans in $(jq '.traces | length' "$run_dir/traces-check.json") traces, $(wc -c <"$run_dir/traces-check.json") bytes"$'\n'
    checked=$((checked + 1))
  done
  check_text=${check_text%$'\n'}
  echo "traces: checked $checked orders (GET /api/orders/{id} 200; by-order 200 with every span of their traces, none from ClickHouse):"
  echo "$check_text"

  local times=() t serial_p50 serial_p90 serial_max serial_bad=0
  while read -r id; do
    read -r code t < <(get_json "/api/traces/by-order/$id" /dev/null) || die "traces: serial by-order failed"
    [[ "$code" == 200 ]] || serial_bad=$((serial_bad + 1))
    times+=("$t")
  done < <(shuf -n "$traces_serial_requests" "$ids")
  read -r serial_p50 serial_p90 serial_max < <(printf '%s\n' "${times[@]}" | sort -n |
    awk '{ a[NR] = $1 } END { printf "%.2f %.2f %.2f\n", a[int((NR + 1) / 2)] * 1000, a[int(NR * 0.9 + 0.5)] * 1000, a[NR] * 1000 }')
  echo "traces: $traces_serial_requests by-order reports one at a time: median ${serial_p50} ms, p90 ${serial_p90} ms, max ${serial_max} ms, non-200 $serial_bad"

  local cmd="BENCH_ORDER_IDS=traces-order-ids.txt wrk $traces_wrk_args -s bench/by_order.lua $base_url"
  echo "traces: $cmd ($(wc -l <"$ids") order ids)"
  # shellcheck disable=SC2086 # the argument list is meant to split
  BENCH_ORDER_IDS=$ids wrk $traces_wrk_args -s bench/by_order.lua "$base_url" >"$wrk_out" 2>&1 ||
    die "traces: wrk failed: $(cat "$wrk_out")"
  cat "$wrk_out"
  metrics_snapshot "$run_dir/traces-metrics.txt"
  stop_bedbank

  # 4. The plans the server runs for a report: auto_explain (ANALYZE, BUFFERS) on bedbank's
  # own connections for a few more reports; the last report's statements are kept.
  local pg_log=$run_dir/pg.log plans='' offset=0 n=0 setting
  if [[ -f "$pg_log" && -f /usr/lib/postgresql/15/lib/auto_explain.so ]]; then
    pg_value "ALTER DATABASE bedbank SET session_preload_libraries = 'auto_explain'" >/dev/null
    pg_value "ALTER DATABASE bedbank SET auto_explain.log_min_duration = 0" >/dev/null
    pg_value "ALTER DATABASE bedbank SET auto_explain.log_analyze = on" >/dev/null
    pg_value "ALTER DATABASE bedbank SET auto_explain.log_buffers = on" >/dev/null
    start_bedbank "$explain_log" --config "$config"
    while read -r id; do
      n=$((n + 1))
      ((n == traces_explain_requests)) && { sleep 0.5; offset=$(stat -c %s "$pg_log"); }
      get_json "/api/traces/by-order/$id" /dev/null >/dev/null || true
    done < <(shuf -n "$traces_explain_requests" "$ids")
    sleep 0.5
    stop_bedbank
    for setting in session_preload_libraries auto_explain.log_min_duration auto_explain.log_analyze auto_explain.log_buffers; do
      pg_value "ALTER DATABASE bedbank RESET $setting" >/dev/null
    done
    plans=$(traces_plans "$pg_log" "$offset")
    echo "traces: plans of the last of $traces_explain_requests reports (auto_explain):"
    echo "$plans"
    # bedbank's sessions run with jit=off (ADR 0008): a JIT-compiled report statement costs
    # ~13 ms of compiling for a 0.3 ms read, and would be measured as report latency.
    ! grep -q '^JIT:' <<<"$plans" ||
      die "traces: PostgreSQL JIT-compiled a report's statement (bedbank's sessions must run with jit=off)"
  fi

  # 5. The archive: every span older than trace.hot_days through `bedbank archive`.
  local archive_cmd="bedbank archive --config $config --set trace.archive_batch=$traces_archive_batch"
  local archive_out=$run_dir/traces-archive.txt archive_s moved inserted batches internal_s
  echo "traces: $archive_cmd ($old_spans spans to move)"
  t0=$(now_s)
  timeout "$traces_archive_timeout_s" "$bin" archive --config "$config" \
    --set "trace.archive_batch=$traces_archive_batch" >"$archive_out" 2>&1 ||
    die "traces: bedbank archive failed after $(since_s "$t0") s: $(tail -n 5 "$archive_out")"
  archive_s=$(since_s "$t0")
  cat "$archive_out"
  read -r moved inserted batches internal_s < <(sed -nE \
    's/^archive: moved ([0-9]+) spans \(([0-9]+) inserted\) in ([0-9]+) batches, ([0-9.e+-]+) s.*/\1 \2 \3 \4/p' "$archive_out")
  [[ -n "${moved:-}" ]] || die "traces: no 'archive: moved ...' line from bedbank archive"
  local left ch_rows
  left=$(pg_value "SELECT count(*) FROM trace_events WHERE created_at < now() - interval '$traces_cutoff_days days'")
  ch_rows=$(ch_sql "SELECT count() FROM bedbank.trace_events") || die "traces: counting the archive failed"

  # 6. The raw baseline: the same rows, dumped from the archive in the order they were
  # inserted, into an identical empty schema (table, related table and view) in one INSERT
  # over HTTP, cut into blocks of the archive's batch size (one part per block, as the
  # archive's INSERTs make; a single block of a million rows would also pass ClickHouse's
  # per-query memory limit).
  local dump=$run_dir/traces-archive.jsonl raw_s dump_rows dump_mb raw_rows create
  ch_sql "DROP DATABASE IF EXISTS raw_bench" >/dev/null || die "traces: dropping raw_bench failed"
  ch_sql "CREATE DATABASE raw_bench" >/dev/null || die "traces: creating raw_bench failed"
  ch_sql "CREATE TABLE raw_bench.trace_events AS bedbank.trace_events" >/dev/null || die "traces: creating raw_bench.trace_events failed"
  ch_sql "CREATE TABLE raw_bench.trace_related AS bedbank.trace_related" >/dev/null || die "traces: creating raw_bench.trace_related failed"
  create=$(ch_sql "SHOW CREATE TABLE bedbank.trace_related_mv FORMAT TabSeparatedRaw") || die "traces: SHOW CREATE failed"
  ch_sql "${create//bedbank./raw_bench.}" >/dev/null || die "traces: creating raw_bench.trace_related_mv failed"
  curl -sS --fail --max-time "$traces_ch_timeout_s" -o "$dump" \
    --data-binary "SELECT * FROM bedbank.trace_events ORDER BY created_us, id FORMAT JSONEachRow" \
    "http://$host:$ch_port/?output_format_json_quote_64bit_integers=0" || die "traces: dumping the archive failed"
  dump_rows=$(wc -l <"$dump")
  dump_mb=$(awk -v b="$(stat -c %s "$dump")" 'BEGIN { printf "%.0f", b / 1048576 }')
  local raw_url="http://$host:$ch_port/?max_insert_block_size=$traces_archive_batch&query=INSERT+INTO+raw_bench.trace_events+FORMAT+JSONEachRow"
  local raw_cmd="curl --data-binary @traces-archive.jsonl '$raw_url'"
  echo "traces: $raw_cmd ($dump_rows rows, $dump_mb MB)"
  t0=$(now_s)
  curl -sS --max-time "$traces_ch_timeout_s" -o "$run_dir/traces-raw-insert.txt" -w '%{http_code}\n' \
    --data-binary "@$dump" "$raw_url" >"$run_dir/traces-raw-status.txt" ||
    die "traces: the raw insert failed (curl)"
  [[ "$(cat "$run_dir/traces-raw-status.txt")" == 200 ]] ||
    die "traces: the raw insert answered HTTP $(cat "$run_dir/traces-raw-status.txt"): $(head -c 400 "$run_dir/traces-raw-insert.txt")"
  raw_s=$(since_s "$t0")
  raw_rows=$(ch_sql "SELECT count() FROM raw_bench.trace_events") || die "traces: counting raw_bench failed"
  ch_sql "DROP DATABASE raw_bench" >/dev/null || true
  rm -f "$dump"
  local archive_rps raw_rps
  archive_rps=$(awk -v n="$moved" -v s="$archive_s" 'BEGIN { printf "%.0f", n / s }')
  raw_rps=$(awk -v n="$raw_rows" -v s="$raw_s" 'BEGIN { printf "%.0f", n / s }')
  echo "traces: archive moved $moved spans in $archive_s s = $archive_rps rows/s; raw insert $raw_rows rows in $raw_s s = $raw_rps rows/s; $left spans older than $traces_cutoff_days days left in PostgreSQL, $ch_rows in ClickHouse"

  local p50 p99
  p50=$(wrk_ms "$wrk_out" 50) || die "traces: no p50 in the wrk output"
  p99=$(wrk_ms "$wrk_out" 99) || die "traces: no p99 in the wrk output"
  record "$out" cmd_config "bedbank migrate --config $config && bedbank serve --config $config"
  record "$out" cmd_seed "$seed_cmd"
  record "$out" cmd_wrk "$cmd"
  record "$out" cmd_archive "$archive_cmd"
  record "$out" cmd_raw "$raw_cmd"
  record "$out" seeds "$seeds"
  record "$out" seeds_held "$seeds_held"
  record "$out" orders_total "$orders_total"
  record "$out" spans "$spans"
  record "$out" old_spans "$old_spans"
  record "$out" order_spans "$order_spans"
  record "$out" table_mb "$table_mb"
  record "$out" index_mb "$index_mb"
  record "$out" payload_bytes "$payload_bytes"
  record "$out" gen_s "$gen_s"
  record "$out" setup_s "$setup_s"
  record "$out" spans_s "$spans_s"
  record "$out" index_s "$index_s"
  record "$out" vacuum_s "$vacuum_s"
  record "$out" checks "$check_text"
  record "$out" serial_p50_ms "$serial_p50"
  record "$out" serial_p90_ms "$serial_p90"
  record "$out" serial_max_ms "$serial_max"
  record "$out" serial_bad "$serial_bad"
  record "$out" p50_ms "$p50"
  record "$out" p75_ms "$(wrk_ms "$wrk_out" 75 || echo ?)"
  record "$out" p90_ms "$(wrk_ms "$wrk_out" 90 || echo ?)"
  record "$out" p99_ms "$p99"
  record "$out" rps "$(wrk_rps "$wrk_out" || echo ?)"
  record "$out" requests "$(wrk_requests "$wrk_out" || echo ?)"
  record "$out" non2xx "$(wrk_non2xx "$wrk_out")"
  record "$out" socket_errors "$(wrk_socket_errors "$wrk_out")"
  record "$out" ids "$(wc -l <"$ids")"
  record "$out" plans "$plans"
  record "$out" moved "$moved"
  record "$out" inserted "$inserted"
  record "$out" batches "$batches"
  record "$out" archive_s "$archive_s"
  record "$out" archive_internal_s "$internal_s"
  record "$out" archive_rps "$archive_rps"
  record "$out" left "$left"
  record "$out" ch_rows "$ch_rows"
  record "$out" dump_rows "$dump_rows"
  record "$out" dump_mb "$dump_mb"
  record "$out" raw_rows "$raw_rows"
  record "$out" raw_s "$raw_s"
  record "$out" raw_rps "$raw_rps"
  record "$out" archive_ratio "$(awk -v a="$archive_rps" -v b="$raw_rps" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')"
  record "$out" metrics "$(metrics_summary "$run_dir/traces-metrics.txt" '^bedbank_(trace|archive)')"
  record "$out" log_warnings "$(grep -cE '"level":"(warn|error)"' "$log" || true)"
  record "$out" log_warning_sample "$(grep -E '"level":"(warn|error)"' "$log" | head -n 3 || true)"
  record "$out" total_s "$(since_s "$bench_t0")"
  echo "traces: benchmark took $(since_s "$bench_t0") s"
}

# -- one benchmark in a child process (so `set -e` holds inside it) ------------------------

if [[ "${BENCH_CHILD:-}" == 1 ]]; then
  trap 'stop_nginx; stop_bedbank' EXIT
  trap 'exit 130' INT TERM
  "bench_$1"
  exit 0
fi

# -- main -----------------------------------------------------------------------------------

benchmarks=("$@")
write_doc=0
if ((${#benchmarks[@]} == 0)); then
  read -r -a benchmarks <<<"$all_benchmarks"
  write_doc=1
fi
for b in "${benchmarks[@]}"; do
  [[ " $all_benchmarks " == *" $b "* ]] || usage
done
for tool in wrk nginx jq curl awk shuf; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh)"
done
[[ -x "$bin" ]] || die "no $bin (cmake --preset release && cmake --build --preset release)"

cleanup() {
  "$root/scripts/services.sh" stop "$run_dir" || true
}
"$root/scripts/services.sh" stop "$run_dir" >/dev/null 2>&1 || true
rm -rf "$run_dir"
mkdir -p "$results"
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$root/scripts/services.sh" start "$run_dir" "$pg_port" "$redis_port" "$ch_port"

declare -A status
failed=0
for b in "${benchmarks[@]}"; do
  echo
  echo "== bench: $b =="
  if BENCH_CHILD=1 "$0" "$build" "$b"; then
    status[$b]=ran
  else
    status[$b]="could not run (see the output above)"
    failed=1
  fi
done

# -- report ------------------------------------------------------------------------------

# Loads one benchmark's results into variables prefixed with its name.
load_results() {
  local name=$1 file=$results/$1.env key value line
  [[ -s "$file" ]] || return 0
  while IFS= read -r line; do
    key=${line%%=*}
    eval "value=${line#*=}"
    printf -v "res_${name}_${key}" '%s' "$value"
  done <"$file"
}
for b in "${benchmarks[@]}"; do
  load_results "$b"
  if [[ "$b" == durability ]]; then
    load_results journal_durable
    load_results orders_durable
  fi
done

# verdict <ok expression for awk> : "met" or "missed".
verdict() {
  if awk "BEGIN { exit !($1) }" 2>/dev/null; then echo met; else echo "**missed**"; fi
}

summary=()
fanout_verdict='' cache_verdict='' journal_verdict='' orders_verdict='' traces_report_verdict=''
traces_archive_verdict=''
if [[ "${status[fanout]:-}" == ran ]]; then
  fanout_verdict=$(verdict "$res_fanout_p99_overhead_ms <= $target_p99_overhead_ms")
  summary+=("fan-out: p50 ${res_fanout_p50_ms} ms (overhead ${res_fanout_p50_overhead_ms} ms), p99 ${res_fanout_p99_ms} ms (overhead ${res_fanout_p99_overhead_ms} ms; target <= $target_p99_overhead_ms ms: ${fanout_verdict//\*/})")
fi
if [[ "${status[cache]:-}" == ran ]]; then
  cache_verdict=$(verdict "$res_cache_ratio >= $target_cache_ratio")
  summary+=("cache hit: bedbank $res_cache_bedbank_rps req/s, nginx $res_cache_nginx_rps req/s, ratio $res_cache_ratio (target >= $target_cache_ratio: ${cache_verdict//\*/})")
fi
if [[ "${status[journal]:-}" == ran ]]; then
  journal_verdict=$(verdict "$res_journal_ratio >= $target_journal_ratio && $res_journal_lost == 0 && $res_journal_dropped == 0")
  summary+=("journal: $res_journal_journal_rate spans/s, raw COPY $res_journal_raw_rate rows/s, ratio $res_journal_ratio, lost $res_journal_lost, dropped $res_journal_dropped (target >= $target_journal_ratio, zero lost: ${journal_verdict//\*/})")
fi
if [[ "${status[orders]:-}" == ran ]]; then
  orders_verdict=$(verdict "$res_orders_ratio >= $target_orders_ratio && $res_orders_create_p99_ms <= $target_create_p99_ms")
  summary+=("orders: $res_orders_orders_per_s confirmed orders/s, create p50 $res_orders_create_p50_ms ms p99 $res_orders_create_p99_ms ms, pgbench $res_orders_pgbench_tps tps, ratio $res_orders_ratio, not confirmed $res_orders_not_confirmed (target >= $target_orders_ratio x pgbench, p99 <= $target_create_p99_ms ms: ${orders_verdict//\*/})")
fi
if [[ "${status[traces]:-}" == ran ]]; then
  traces_report_verdict=$(verdict "$res_traces_p99_ms <= $target_by_order_p99_ms && $res_traces_non2xx == 0")
  traces_archive_verdict=$(verdict "$res_traces_archive_ratio >= $target_archive_ratio && $res_traces_left == 0")
  summary+=("traces: by-order p50 $res_traces_p50_ms ms p99 $res_traces_p99_ms ms, $res_traces_rps req/s, non-2xx $res_traces_non2xx, over $res_traces_spans spans loaded in $res_traces_gen_s s (target p99 <= $target_by_order_p99_ms ms: ${traces_report_verdict//\*/}); archive $res_traces_archive_rps rows/s, raw insert $res_traces_raw_rps rows/s, ratio $res_traces_archive_ratio (target >= $target_archive_ratio: ${traces_archive_verdict//\*/})")
fi
if [[ "${status[cluster]:-}" == ran ]]; then
  summary+=("$(cluster_summary)")
fi
if [[ "${status[durability]:-}" == ran ]]; then
  summary+=("durability (fsync, synchronous_commit, full_page_writes on): journal $res_journal_durable_journal_rate spans/s (raw COPY $res_journal_durable_raw_rate rows/s), orders $res_orders_durable_orders_per_s confirmed/s (create p50 $res_orders_durable_create_p50_ms ms, p99 $res_orders_durable_create_p99_ms ms), pgbench $res_orders_durable_pgbench_tps tps; this disk: fdatasync $res_durability_fdatasync_ops ops/s")
fi
echo
echo "== bench: summary =="
for b in "${benchmarks[@]}"; do
  [[ "${status[$b]}" == ran ]] || echo "$b: ${status[$b]}"
done
for s in "${summary[@]}"; do
  echo "$s"
done

if ((write_doc == 0)); then
  echo "bench: some benchmarks named; docs/benchmarks.md left as it is"
  exit "$failed"
fi

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$( (git -C "$root" status --porcelain 2>/dev/null || true) | wc -l)

# indent <text>: every line as a markdown code line (four spaces).
indent() {
  printf '    %s\n' "${1//$'\n'/$'\n'    }"
}

# ran <benchmark>: the benchmark ran to the end.
ran() {
  [[ "${status[$1]:-}" == ran ]]
}

# traces_rows / traces_section: benchmark 5's rows of the figures table and its section.
traces_rows() {
  echo "| 5a. by-order trace report (${res_traces_spans} spans in \`trace_events\`, ${res_traces_orders_total} orders) | p50 **${res_traces_p50_ms} ms**, p99 **${res_traces_p99_ms} ms**, ${res_traces_rps} req/s (wrk -c4), non-2xx ${res_traces_non2xx}; one at a time: median ${res_traces_serial_p50_ms} ms | p99 ≤ ${target_by_order_p99_ms} ms | $traces_report_verdict |"
  echo "| 5b. archive to ClickHouse (${res_traces_moved} spans) | \`bedbank archive\` **${res_traces_archive_rps} rows/s**, raw INSERT of the same rows ${res_traces_raw_rps} rows/s → **${res_traces_archive_ratio}×** | ≥ ${target_archive_ratio}× raw INSERT | $traces_archive_verdict |"
}

traces_section() {
  echo "### 5. Trace reports"
  echo
  echo "Config \`bench/traces.yaml\` (as \`bench/orders.yaml\`: 3 mock suppliers at a fixed 0 ms, \`scenario: ok\`, rate limit 10⁹/min, journal on; \`trace.hot_days: ${traces_cutoff_days}\`, the archiver actor idle). This benchmark ran ${res_traces_started}; it took ${res_traces_total_s} s."
  echo "Load: ${res_traces_seeds} real orders of ${traces_agent} booked through the API (\`order_bench\` for ${traces_seed_s} s, ${res_traces_seeds_held} of them held and confirmed later) were copied by SQL into ${traces_orders} orders (\`orders\`, \`order_events\`, \`inventory_holds\` as the order store writes them; readable with \`GET /api/orders/{id}\`), each with 9–12 spans over 3–5 traces shaped as the journal records a booking (trial, create/book/confirm, outbox relay passes); search traces of five spans fill the rest: ${res_traces_spans} spans in \`trace_events\` (${res_traces_order_spans} related to an order; ${res_traces_old_spans} of them ${traces_old_days} days old, the rest spread over the last ${traces_hot_days} days), ~${res_traces_payload_bytes} bytes of request + response JSON per span, table ${res_traces_table_mb} MB + indexes ${res_traces_index_mb} MB."
  echo "Generation took **${res_traces_gen_s} s**: orders ${res_traces_setup_s} s, spans ${res_traces_spans_s} s (\`INSERT … SELECT … FROM generate_series\` from two sessions, secondary indexes dropped), the three indexes rebuilt ${res_traces_index_s} s (two sessions), \`VACUUM (ANALYZE)\` ${res_traces_vacuum_s} s."
  echo
  indent "$res_traces_cmd_config"$'\n'"$res_traces_cmd_seed"$'\n'"$res_traces_cmd_wrk"$'\n'"$res_traces_cmd_archive"$'\n'"$res_traces_cmd_raw"
  echo
  echo "Checked before the measurement: \`GET /api/orders/{id}\` 200 and \`GET /api/traces/by-order/{id}\` 200 counting every span of the order's traces in \`trace_events\` (none from ClickHouse), for two copied orders and two real ones (one booked at once, one held first):"
  echo
  indent "$res_traces_checks"
  echo
  echo "${traces_serial_requests} reports for random orders one at a time (no queueing): median ${res_traces_serial_p50_ms} ms, p90 ${res_traces_serial_p90_ms} ms, max ${res_traces_serial_max_ms} ms, non-200 ${res_traces_serial_bad}. Then wrk over ${res_traces_ids} order ids drawn at random:"
  echo
  echo "| p50 | p75 | p90 | p99 | requests | req/s | non-2xx | socket errors |"
  echo "|---|---|---|---|---|---|---|---|"
  echo "| ${res_traces_p50_ms} ms | ${res_traces_p75_ms} ms | ${res_traces_p90_ms} ms | ${res_traces_p99_ms} ms | ${res_traces_requests} | ${res_traces_rps} | ${res_traces_non2xx} | ${res_traces_socket_errors} |"
  echo
  echo "Archive: \`bedbank archive\` (insert → verify → delete per batch of ${traces_archive_batch}) moved ${res_traces_moved} spans (${res_traces_inserted} inserted) in ${res_traces_batches} batches; ${res_traces_left} spans older than ${traces_cutoff_days} days left in PostgreSQL, ${res_traces_ch_rows} in ClickHouse. Raw baseline: the same rows dumped from the archive as JSONEachRow (${res_traces_dump_rows} rows, ${res_traces_dump_mb} MB, in archive order) into an empty copy of the archive's schema (\`trace_events\`, \`trace_related\` and the view that fills it) with one INSERT over HTTP, \`max_insert_block_size=${traces_archive_batch}\` (one block per archive batch)."
  echo
  echo "| spans moved | archive wall time | archive rows/s | raw INSERT rows | raw INSERT time | raw rows/s | ratio |"
  echo "|---|---|---|---|---|---|---|"
  echo "| ${res_traces_moved} | ${res_traces_archive_s} s (its own count: ${res_traces_archive_internal_s} s) | ${res_traces_archive_rps} | ${res_traces_raw_rows} | ${res_traces_raw_s} s | ${res_traces_raw_rps} | ${res_traces_archive_ratio}× |"
  echo
  if [[ -n "${res_traces_plans:-}" ]]; then
    echo "What PostgreSQL ran for one report after the load (\`auto_explain\` with ANALYZE and BUFFERS on bedbank's own connections, the last of ${traces_explain_requests} reports; the durations are execution only, planning at bind time is not in them):"
    echo
    indent "$res_traces_plans"
    echo
  fi
  echo "bedbank log: ${res_traces_log_warnings} warn/error lines."
  if [[ -n "${res_traces_metrics:-}" ]]; then
    echo "Selected \`/metrics\` after the run:"
    echo
    indent "$res_traces_metrics"
  fi
  echo
}

# durability_section: benchmark 7, the durable figures beside the throwaway ones of 3 and 4.
durability_section() {
  local fast_journal="not run" fast_copy="not run" fast_orders="not run" fast_p50="—" fast_p99="—"
  local fast_pgbench="not run" fast_ratio="—"
  if ran journal; then
    fast_journal=$res_journal_journal_rate fast_copy=$res_journal_raw_rate
  fi
  if ran orders; then
    fast_orders=$res_orders_orders_per_s fast_p50="$res_orders_create_p50_ms ms" fast_p99="$res_orders_create_p99_ms ms"
    fast_pgbench=$res_orders_pgbench_tps fast_ratio="${res_orders_ratio}×"
  fi
  echo "### 7. Durability"
  echo
  echo "The throwaway PostgreSQL of \`make run\` and of benchmarks 1–6 runs with \`fsync\`, \`synchronous_commit\` and \`full_page_writes\` off: a committed booking survives a crash of bedbank or of PostgreSQL, not a power loss. Benchmarks 3 and 4 ran again on the same server made durable (\`BEDBANK_PG_DURABLE=1 scripts/services.sh start\`, as \`make run DURABLE=1\` does): ${res_durability_settings}. Same configurations, commands and load as 3 and 4."
  echo
  echo "| measure | throwaway (all three off) | durable (all three on) |"
  echo "|---|---|---|"
  echo "| journal ingest, spans/s | ${fast_journal} | ${res_journal_durable_journal_rate} |"
  echo "| raw COPY of the same rows, rows/s | ${fast_copy} | ${res_journal_durable_raw_rate} |"
  echo "| lost / dropped spans | ${res_journal_lost:-—} / ${res_journal_dropped:-—} | ${res_journal_durable_lost} / ${res_journal_durable_dropped} |"
  echo "| confirmed orders/s (${orders_connections} connections) | ${fast_orders} | ${res_orders_durable_orders_per_s} |"
  echo "| create p50 / p99 | ${fast_p50} / ${fast_p99} | ${res_orders_durable_create_p50_ms} ms / ${res_orders_durable_create_p99_ms} ms |"
  echo "| one at a time: create p50 | ${res_orders_serial_create_p50_ms:-—} ms | ${res_orders_durable_serial_create_p50_ms} ms |"
  echo "| not confirmed | ${res_orders_not_confirmed:-—} | ${res_orders_durable_not_confirmed} |"
  echo "| pgbench TPC-B-like, tps (${orders_connections} clients) | ${fast_pgbench} | ${res_orders_durable_pgbench_tps} |"
  echo "| confirmed orders/s ÷ pgbench tps | ${fast_ratio} | ${res_orders_durable_ratio}× |"
  echo
  echo "This disk (\`pg_test_fsync -s ${pg_test_fsync_s}\`, one 8 kB write and a sync: the ceiling of commits made one after another):"
  echo
  indent "$res_durability_fsync_text"
  echo
  echo "Durable journal rounds:"
  echo
  indent "$res_journal_durable_rounds_text"
  echo
  echo "Durable pgbench:"
  echo
  indent "$res_orders_durable_pgbench_text"
  echo
  echo "bedbank log during the durable orders run: ${res_orders_durable_log_warnings} warn/error lines."
  echo
}

section=$(mktemp)
{
  echo "<!-- bench:begin — written by bench/run.sh (make bench); edits inside are replaced -->"
  echo "## Latest figures"
  echo
  echo "- date: $started"
  echo "- machine: $(nproc) CPUs, $cpu_model, ${mem_gib} GiB RAM, Linux $(uname -r); load average before the run: $load_before"
  echo "- code: commit $commit$( ((dirty > 0)) && echo " plus $dirty uncommitted changes"), build \`${build#"$root"/}\` (\`cmake --preset release\`, RelWithDebInfo)"
  echo "- command: \`make bench\` (= \`bench/run.sh ${build#"$root"/}\`); wrk, nginx, bedbank and the servers share the same $(nproc) CPUs"
  echo
  echo "| benchmark | figure | target | verdict |"
  echo "|---|---|---|---|"
  if ran fanout; then
    echo "| 1. fan-out overhead (10 suppliers × fixed ${supplier_latency_ms} ms, no cache) | p50 ${res_fanout_p50_ms} ms → overhead **${res_fanout_p50_overhead_ms} ms**; p99 ${res_fanout_p99_ms} ms → overhead **${res_fanout_p99_overhead_ms} ms** (wrk -c4); one at a time: ${res_fanout_serial_overhead_ms} ms; one hotel, one at a time: ${res_fanout_one_hotel_overhead_ms} ms | p99 overhead ≤ ${target_p99_overhead_ms} ms | $fanout_verdict |"
  else
    echo "| 1. fan-out overhead | ${status[fanout]} | p99 overhead ≤ ${target_p99_overhead_ms} ms | — |"
  fi
  if ran cache; then
    echo "| 2. cache-hit throughput | bedbank **${res_cache_bedbank_rps} req/s**, nginx ${res_cache_nginx_rps} req/s → **${res_cache_ratio}×** | ≥ ${target_cache_ratio}× nginx | $cache_verdict |"
  else
    echo "| 2. cache-hit throughput | ${status[cache]} | ≥ ${target_cache_ratio}× nginx | — |"
  fi
  if ran journal; then
    echo "| 3. journal ingest (${journal_spans} spans, median of ${journal_rounds}) | journal **${res_journal_journal_rate} spans/s**, raw COPY ${res_journal_raw_rate} rows/s → **${res_journal_ratio}×**; lost ${res_journal_lost}, dropped ${res_journal_dropped} | ≥ ${target_journal_ratio}× raw COPY, zero lost | $journal_verdict |"
  else
    echo "| 3. journal ingest | ${status[journal]} | ≥ ${target_journal_ratio}× raw COPY, zero lost | — |"
  fi
  if ran orders; then
    echo "| 4. orders end to end (${orders_connections} connections, mock suppliers at 0 ms) | **${res_orders_orders_per_s} confirmed orders/s**, pgbench ${res_orders_pgbench_tps} tps → **${res_orders_ratio}×**; create p50 ${res_orders_create_p50_ms} ms, p99 **${res_orders_create_p99_ms} ms**; one at a time: create p50 ${res_orders_serial_create_p50_ms} ms; not confirmed ${res_orders_not_confirmed} | ≥ ${target_orders_ratio}× pgbench tps, create p99 ≤ ${target_create_p99_ms} ms | $orders_verdict |"
  else
    echo "| 4. orders end to end | ${status[orders]} | ≥ ${target_orders_ratio}× pgbench tps, create p99 ≤ ${target_create_p99_ms} ms | — |"
  fi
  if ran traces; then
    traces_rows
  else
    echo "| 5. trace reports and the archive | ${status[traces]} | by-order p99 ≤ ${target_by_order_p99_ms} ms; archive ≥ ${target_archive_ratio}× raw insert | — |"
  fi
  if ran cluster; then
    cluster_rows
  else
    echo "| 6. cluster | ${status[cluster]} | reported | — |"
  fi
  if ran durability; then
    echo "| 7. durability (4 and 3 on a durable PostgreSQL: fsync, synchronous_commit, full_page_writes on) | **${res_orders_durable_orders_per_s} confirmed orders/s** (create p50 ${res_orders_durable_create_p50_ms} ms, p99 ${res_orders_durable_create_p99_ms} ms), pgbench ${res_orders_durable_pgbench_tps} tps → ${res_orders_durable_ratio}×; journal ${res_journal_durable_journal_rate} spans/s, raw COPY ${res_journal_durable_raw_rate} rows/s → ${res_journal_durable_ratio}×; disk: fdatasync ${res_durability_fdatasync_ops} ops/s | reported beside 3 and 4 | — |"
  else
    echo "| 7. durability | ${status[durability]} | reported | — |"
  fi
  echo
  if ran fanout; then
    echo "### 1. Fan-out overhead"
    echo
    echo "Config \`bench/fanout.yaml\`: 10 mock suppliers, \`latency: {kind: fixed, fixed: ${supplier_latency_ms}ms}\`, error/timeout/sold-out rates 0, \`pricing.cache_enabled: false\`, journal on, rate limit 10⁹/min."
    echo "A check search before the load answered 200 with ${fanout_suppliers}/${fanout_suppliers} suppliers \`ok\`: ${res_fanout_check_hotels} hotels, ${res_fanout_check_rates} rates, ${res_fanout_check_bytes} bytes of JSON. After the load: HTTP ${res_fanout_after_status}, ${res_fanout_after_ok} suppliers ok."
    echo "${fanout_serial_requests} searches one at a time (no queueing): median ${res_fanout_serial_p50_ms} ms → overhead ${res_fanout_serial_overhead_ms} ms."
    echo "${fanout_serial_requests} searches for one hotel (\`hotel_ids\`, ${res_fanout_one_hotel_rates} rates, ${res_fanout_one_hotel_bytes} bytes, ${res_fanout_one_hotel_suppliers_ok} suppliers ok) one at a time: median ${res_fanout_one_hotel_p50_ms} ms → overhead ${res_fanout_one_hotel_overhead_ms} ms."
    echo
    indent "$res_fanout_cmd_config"$'\n'"$res_fanout_cmd_check"$'\n'"$res_fanout_cmd_wrk"
    echo
    echo "| p50 | p75 | p90 | p99 | requests | req/s | non-2xx | socket errors |"
    echo "|---|---|---|---|---|---|---|---|"
    echo "| ${res_fanout_p50_ms} ms | ${res_fanout_p75_ms} ms | ${res_fanout_p90_ms} ms | ${res_fanout_p99_ms} ms | ${res_fanout_requests} | ${res_fanout_rps} | ${res_fanout_non2xx} | ${res_fanout_socket_errors} |"
    echo
    echo "bedbank log: ${res_fanout_log_warnings} warn/error lines."
    if [[ -n "${res_fanout_metrics:-}" ]]; then
      echo "Selected \`/metrics\` after the run:"
      echo
      indent "$res_fanout_metrics"
    fi
    echo
  fi
  if ran cache; then
    echo "### 2. Cache-hit throughput"
    echo
    echo "Config \`config/bedbank.yaml\` (3 mock suppliers, cache on) with the bench ports and \`--set risk.rate_limit_per_minute=${rate_limit}\`. The first search answered \`\"cache\":\"${res_cache_first_cache}\"\`, a later one \`\"cache\":\"hit\"\`; that body (${res_cache_body_hotels} hotels, ${res_cache_body_rates} rates, ${res_cache_body_bytes} bytes) is what nginx serves. After the load: HTTP ${res_cache_after_status}, cache ${res_cache_after_cache}."
    echo
    indent "$res_cache_cmd_config"$'\n'"$res_cache_cmd_nginx"$'\n'"$res_cache_cmd_wrk_nginx"$'\n'"$res_cache_cmd_wrk_bedbank"
    echo
    echo "| server | req/s | non-2xx | socket errors |"
    echo "|---|---|---|---|"
    echo "| nginx 2 workers, static file | ${res_cache_nginx_rps} | ${res_cache_nginx_non2xx} | ${res_cache_nginx_socket_errors} |"
    echo "| bedbank cache hit | ${res_cache_bedbank_rps} | ${res_cache_bedbank_non2xx} | ${res_cache_bedbank_socket_errors} |"
    echo
    echo "bedbank log: ${res_cache_log_warnings} warn/error lines."
    if [[ -n "${res_cache_metrics:-}" ]]; then
      echo "Selected \`/metrics\` after the run:"
      echo
      indent "$res_cache_metrics"
    fi
    echo
  fi
  if ran journal; then
    echo "### 3. Journal ingest"
    echo
    echo "\`bench/journal_bench.cpp\` on a fresh database: ${journal_spans} spans (~200-byte JSON request and response each) sent with \`anon_send\` from ${journal_threads} threads to the journal wired as in \`apps/main.cpp\` (default batch ${res_journal_batch_size}, flush 200 ms), timed to the flush answer; then the same rows through \`span_store::copy\` in batches of ${res_journal_batch_size} from one thread. ${journal_rounds} rounds, medians reported."
    echo
    indent "$res_journal_cmd"
    echo
    indent "$res_journal_rounds_text"
    echo
  fi
  if ran orders; then
    echo "### 4. Orders end to end"
    echo
    echo "Config \`bench/orders.yaml\`: 3 mock suppliers, \`latency: {kind: fixed, fixed: 0ms}\`, \`scenario: ok\`, error/timeout/sold-out/drift 0, cache on, journal on, rate limit 10⁹/min, demo-a's credit line 10¹² CNY, log level warn."
    echo "\`bench/order_bench.cpp\`: one search (${res_orders_hotels} hotels, ${res_orders_rate_keys} rate keys, ${res_orders_check_in} → ${res_orders_check_out}, one room for two adults), then ${res_orders_connections} keep-alive connections each loop \`POST /api/orders/trial\` (one guest, \`expected_price\` = the search price) → \`POST /api/orders\` (\`hold_only: false\`, a unique \`client_reference\`) for ${res_orders_warmup_s} s of warm-up and ${res_orders_duration_s} s measured; a 201 with \`status: confirmed\` is a confirmed order. Platform time per booking = the create call's latency (bedbank's own time plus the simulated supplier's bookkeeping write; the supplier itself waits 0 ms)."
    echo "Then, with bedbank stopped, pgbench's default TPC-B-like script on the same PostgreSQL server (\`fsync=off\`, \`synchronous_commit=off\`, as for bedbank) with the same number of clients."
    echo
    indent "$res_orders_cmd_config"$'\n'"$res_orders_cmd"$'\n'"$res_orders_cmd_pgbench_init"$'\n'"$res_orders_cmd_pgbench"
    echo
    echo "| confirmed orders/s | create p50 | create p95 | create p99 | trial p50 | trial p99 | trial+create p50 | trial+create p99 | pgbench tps | ratio |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    echo "| ${res_orders_orders_per_s} (${res_orders_confirmed} in ${res_orders_duration_s} s) | ${res_orders_create_p50_ms} ms | ${res_orders_create_p95_ms} ms | ${res_orders_create_p99_ms} ms | ${res_orders_trial_p50_ms} ms | ${res_orders_trial_p99_ms} ms | ${res_orders_booking_p50_ms} ms | ${res_orders_booking_p99_ms} ms | ${res_orders_pgbench_tps} | ${res_orders_ratio}× |"
    echo
    echo "Before the load, ${res_orders_serial} bookings one at a time on one connection (no queueing): ${res_orders_serial_confirmed} confirmed, create p50 ${res_orders_serial_create_p50_ms} ms, p99 ${res_orders_serial_create_p99_ms} ms; trial+create p50 ${res_orders_serial_booking_p50_ms} ms."
    echo
    echo "Whole run (warm-up included): ${res_orders_attempts} booking attempts, ${res_orders_confirmed_total} confirmed, ${res_orders_not_confirmed} not confirmed (${res_orders_transport_errors} transport errors). Read back ${res_orders_verified} of ${res_orders_verify_checked} confirmed orders as \`confirmed\` with \`GET /api/orders/{id}\`. Outcomes:"
    echo
    indent "$res_orders_outcomes"
    echo
    if [[ -n "${res_orders_examples:-}" ]]; then
      echo "First answers that were not a confirmed order:"
      echo
      indent "$res_orders_examples"
      echo
    fi
    echo "pgbench:"
    echo
    indent "$res_orders_pgbench_text"
    echo
    echo "bedbank log: ${res_orders_log_warnings} warn/error lines."
    if [[ -n "${res_orders_metrics:-}" ]]; then
      echo "Selected \`/metrics\` after the run:"
      echo
      indent "$res_orders_metrics"
    fi
    echo
  fi
  if ran traces; then
    traces_section
  fi
  if ran cluster; then
    cluster_section
  fi
  if ran durability; then
    durability_section
  fi
  echo "<!-- bench:end -->"
} >"$section"

# Replace the section between the markers; keep what is around it (the analysis).
if [[ -f "$doc" ]] && grep -q '^<!-- bench:begin' "$doc" && grep -q '^<!-- bench:end -->' "$doc"; then
  awk -v section="$section" '
    /^<!-- bench:begin/ { while ((getline line < section) > 0) print line; skip = 1; next }
    /^<!-- bench:end -->/ { skip = 0; next }
    !skip { print }' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
else
  {
    echo "# Benchmarks"
    echo
    echo "\`make bench\` runs \`bench/run.sh build/release\`; see the comment at its top. Targets are"
    echo "goals, not assertions. The section between the markers is rewritten by every run."
    echo
    cat "$section"
  } >"$doc"
fi
rm -f "$section"
echo "bench: figures written to ${doc#"$root"/}"
exit "$failed"
