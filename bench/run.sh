#!/usr/bin/env bash
# bench/run.sh: `make bench` — bedbank's four benchmarks, figures into docs/benchmarks.md.
#
#   bench/run.sh <build dir> [fanout|cache|journal|orders ...]
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
#
# Everything runs on 127.0.0.1 with its own ports (PostgreSQL 35432, Redis 36379, ClickHouse
# 38123, bedbank 38080/39090, nginx 38081) and its own run dir <build dir>/bench-run (wiped at
# start), so it never collides with `make run` or the tests. Every process it starts is stopped
# by PID on exit. Load is bounded: wrk, order_bench and pgbench run for fixed durations, the
# journal bench sends a fixed number of spans. Targets are goals printed beside the figures, not assertions: the exit code
# is 0 when every benchmark ran (targets met or not) and 1 when one could not run. With no
# benchmark named, all four run and docs/benchmarks.md gets the new figures (between its
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
readonly start_timeout_s=30        # bedbank / nginx must answer within this
readonly stop_timeout_s=15         # before KILL
readonly curl_timeout_s=10
readonly cache_warm_attempts=5
readonly all_benchmarks="fanout cache journal orders"

die() {
  echo "bench: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 <build dir> [fanout|cache|journal|orders ...]" >&2
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

bench_journal() {
  local out=$results/journal.env log=$run_dir/journal-bench.txt
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

bench_orders() {
  local out=$results/orders.env config=bench/orders.yaml
  local log=$run_dir/orders-bedbank.log bench_log=$run_dir/orders-bench.txt
  local pgb_init=$run_dir/pgbench-init.txt pgb_out=$run_dir/pgbench.txt
  : >"$out"
  [[ -x "$order_bin" ]] || die "no $order_bin (cmake --build --preset release --target order_bench)"
  [[ -x "$pg_bin/pgbench" ]] || die "no $pg_bin/pgbench (Debian package postgresql-15)"
  "$bin" migrate --config "$config" >"$run_dir/orders-migrate.log" 2>&1 ||
    die "bedbank migrate failed (log: $run_dir/orders-migrate.log)"
  start_bedbank "$log" --config "$config"

  local cmd="order_bench --host $host --port $agent_port --key $api_key --connections $orders_connections --warmup $orders_warmup_s --duration $orders_duration_s --serial $orders_serial --verify $orders_verify"
  echo "orders: $cmd"
  timeout "$orders_timeout_s" "$order_bin" --host "$host" --port "$agent_port" --key "$api_key" \
    --connections "$orders_connections" --warmup "$orders_warmup_s" \
    --duration "$orders_duration_s" --serial "$orders_serial" --verify "$orders_verify" 2>&1 |
    tee "$bench_log" || die "orders: order_bench failed (log: $bench_log, bedbank log: $log)"
  metrics_snapshot "$run_dir/orders-metrics.txt"
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
  record "$out" metrics "$(metrics_summary "$run_dir/orders-metrics.txt" '^bedbank_(order|orders|credit|booking|outbox|trial)')"
  record "$out" log_warnings "$(grep -cE '"level":"(warn|error)"' "$log" || true)"
  record "$out" log_warning_sample "$(grep -E '"level":"(warn|error)"' "$log" | head -n 3 || true)"
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
for tool in wrk nginx jq curl awk; do
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
done

# verdict <ok expression for awk> : "met" or "missed".
verdict() {
  if awk "BEGIN { exit !($1) }" 2>/dev/null; then echo met; else echo "**missed**"; fi
}

summary=()
fanout_verdict='' cache_verdict='' journal_verdict='' orders_verdict=''
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
