# bench/cluster.sh — benchmark 6, sourced by bench/run.sh (its helpers and settings in scope).
#
#   (a) cluster_bench: an order read (get_atom, order_command → order_reply with a whole order
#       record) between two actors in one process and between two processes over the
#       middleman on loopback, one in flight, 20 000 timed round trips each: p50/p99 and the
#       difference, the cross-node overhead.
#   (b) search throughput with bench/cluster.yaml (3 mock suppliers at a fixed 20 ms, no price
#       cache: every search fans out): `wrk $cluster_wrk_args` against one `--role all` node,
#       then against a gateway-only node in front of three engine nodes (`--role
#       engine,journal`) on the same machine, in the same run.
# shellcheck shell=bash disable=SC2154 # settings and helpers come from bench/run.sh

readonly cluster_config=bench/cluster.yaml
readonly cluster_port_base=37200   # the gateway's cluster port; the engines take the next three
readonly cluster_engines=3
readonly cluster_wrk_args="-t2 -c16 -d15s --latency"
readonly cluster_rr_requests=20000
readonly cluster_rr_warmup=2000
readonly cluster_rr_port=37171
readonly cluster_join_timeout_s=30
cluster_pids=()

# cluster_stop_engines: the engine nodes, by PID.
cluster_stop_engines() {
  local p
  for p in "${cluster_pids[@]}"; do
    stop_pid "$p" "engine node"
  done
  cluster_pids=()
}

# cluster_result <file> <key>: a value of cluster_bench's RESULT line.
cluster_result() {
  awk -v k="$2" '/^RESULT / { for (i = 2; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; found = 1 } } }
    END { if (!found) exit 1 }' "$1"
}

# cluster_wrk <name>: the check search, then wrk against the agent API; results as <name>_*.
cluster_wrk() {
  local name=$1 out=$results/cluster.env body=$run_dir/cluster-$1-check.json wrk_out=$run_dir/cluster-$1-wrk.txt
  local code ok
  code=$(post_search "$base_url" "$body") || die "cluster: the $name check search failed (curl)"
  [[ "$code" == 200 ]] || die "cluster: the $name check search answered HTTP $code: $(head -c 300 "$body")"
  ok=$(jq '[.suppliers[] | select(.status == "ok")] | length' "$body")
  ((ok == 3)) || die "cluster: $name: expected 3 suppliers ok, got $(jq -c .suppliers "$body")"
  echo "cluster: $name check search 200, $ok/3 suppliers ok, $(jq '.results | length' "$body") hotels, $(wc -c <"$body") bytes"
  # shellcheck disable=SC2086 # the argument list is meant to split
  wrk $cluster_wrk_args -s bench/search.lua "$base_url" >"$wrk_out" 2>&1 ||
    die "cluster: wrk ($name) failed: $(cat "$wrk_out")"
  cat "$wrk_out"
  record "$out" "${name}_rps" "$(wrk_rps "$wrk_out" || echo ?)"
  record "$out" "${name}_p50_ms" "$(wrk_ms "$wrk_out" 50 || echo ?)"
  record "$out" "${name}_p99_ms" "$(wrk_ms "$wrk_out" 99 || echo ?)"
  record "$out" "${name}_requests" "$(wrk_requests "$wrk_out" || echo ?)"
  record "$out" "${name}_non2xx" "$(wrk_non2xx "$wrk_out")"
  record "$out" "${name}_socket_errors" "$(wrk_socket_errors "$wrk_out")"
  record "$out" "${name}_bytes" "$(wc -c <"$body")"
}

bench_cluster() {
  local out=$results/cluster.env rr=$run_dir/cluster-rr.txt
  : >"$out"
  trap 'cluster_stop_engines; stop_nginx; stop_bedbank' EXIT

  # (a) one request across nodes against the same inside one process.
  echo "cluster: $build/bench/cluster_bench --requests $cluster_rr_requests --warmup $cluster_rr_warmup --port $cluster_rr_port"
  "$build/bench/cluster_bench" --requests "$cluster_rr_requests" --warmup "$cluster_rr_warmup" \
    --port "$cluster_rr_port" >"$rr" 2>&1 || die "cluster: cluster_bench failed: $(cat "$rr")"
  cat "$rr"
  local k v
  for k in local_p50_us local_p99_us remote_p50_us remote_p99_us overhead_p50_us overhead_p99_us; do
    v=$(cluster_result "$rr" "$k") || die "cluster: no $k in the cluster_bench output"
    record "$out" "rr_$k" "$v"
  done
  record "$out" cmd_rr "cluster_bench --requests $cluster_rr_requests --warmup $cluster_rr_warmup"
  # The same with CAF's sharing scheduler on both nodes (server.scheduler: sharing).
  "$build/bench/cluster_bench" --requests "$cluster_rr_requests" --warmup "$cluster_rr_warmup" \
    --port "$cluster_rr_port" --scheduler sharing >"$run_dir/cluster-rr-sharing.txt" 2>&1 ||
    die "cluster: cluster_bench --scheduler sharing failed: $(cat "$run_dir/cluster-rr-sharing.txt")"
  cat "$run_dir/cluster-rr-sharing.txt"
  for k in local_p50_us local_p99_us remote_p50_us remote_p99_us overhead_p50_us overhead_p99_us; do
    v=$(cluster_result "$run_dir/cluster-rr-sharing.txt" "$k") || die "cluster: no $k (sharing)"
    record "$out" "rr_sharing_$k" "$v"
  done

  "$bin" migrate --config "$cluster_config" >"$run_dir/cluster-migrate.log" 2>&1 ||
    die "bedbank migrate failed (log: $run_dir/cluster-migrate.log)"

  # (b1) one node with every role.
  start_bedbank "$run_dir/cluster-single.log" --config "$cluster_config"
  cluster_wrk single
  stop_bedbank

  # (b2) a gateway node in front of three engine nodes.
  local i seeds="" gateway_port=$cluster_port_base
  for ((i = 1; i <= cluster_engines; ++i)); do
    seeds+="${seeds:+,}$host:$((cluster_port_base + i))"
  done
  for ((i = 1; i <= cluster_engines; ++i)); do
    "$bin" serve --config "$cluster_config" --role engine,journal --node-id "bench-engine-$i" \
      --set "cluster.port=$((cluster_port_base + i))" --set "cluster.seeds=$host:$gateway_port" \
      >"$run_dir/cluster-engine-$i.log" 2>&1 &
    cluster_pids+=($!)
  done
  start_bedbank "$run_dir/cluster-gateway.log" --config "$cluster_config" --role gateway \
    --node-id bench-gateway --set "cluster.port=$gateway_port" --set "cluster.seeds=$seeds"
  local up=0
  for ((i = 0; i < cluster_join_timeout_s * 10; ++i)); do
    up=$(curl -s --max-time 2 -H "Authorization: Bearer demo-admin-token" \
      "http://$host:$admin_port/admin/cluster" | jq '[.ring.engines[]?] | length' 2>/dev/null || echo 0)
    ((up == cluster_engines)) && break
    sleep 0.1
  done
  ((up == cluster_engines)) || die "cluster: only $up of $cluster_engines engines joined the gateway"
  echo "cluster: gateway and $cluster_engines engine nodes joined"
  cluster_wrk cluster
  curl -s --max-time 5 -H "Authorization: Bearer demo-admin-token" \
    "http://$host:$admin_port/admin/cluster" >"$run_dir/cluster-view.json" || true
  stop_bedbank
  cluster_stop_engines
  trap 'stop_nginx; stop_bedbank' EXIT

  # Where the searches ran: the search spans of the measured run, by node.
  local by_node
  by_node=$(pg_value "SELECT string_agg(node || ': ' || n, ', ' ORDER BY node) FROM (SELECT node, count(*) AS n FROM trace_events WHERE event_type = 'search' AND node LIKE 'bench-engine-%' GROUP BY node) s")
  echo "cluster: searches by engine node: $by_node"
  record "$out" by_node "$by_node"
  record "$out" ratio "$(awk -v c="$(grep '^cluster_rps=' "$out" | cut -d= -f2)" -v s="$(grep '^single_rps=' "$out" | cut -d= -f2)" 'BEGIN { if (s > 0) printf "%.2f", c / s; else print "?" }')"
  record "$out" cmd_single "bedbank serve --config $cluster_config   # --role all"
  record "$out" cmd_cluster "bedbank serve --config $cluster_config --role engine,journal --node-id bench-engine-<i> --set cluster.port=<$((cluster_port_base + 1))..$((cluster_port_base + cluster_engines))> --set cluster.seeds=$host:$gateway_port   # ×$cluster_engines"$'\n'"bedbank serve --config $cluster_config --role gateway --node-id bench-gateway --set cluster.port=$gateway_port --set cluster.seeds=$seeds"
  record "$out" cmd_wrk "wrk $cluster_wrk_args -s bench/search.lua $base_url"
}

# -- report (called by bench/run.sh when the benchmark ran) ------------------------------------

cluster_summary() {
  echo "cluster: cross-node request p50 ${res_cluster_rr_remote_p50_us} us / p99 ${res_cluster_rr_remote_p99_us} us against ${res_cluster_rr_local_p50_us} / ${res_cluster_rr_local_p99_us} us in one process (overhead p50 ${res_cluster_rr_overhead_p50_us} us, p99 ${res_cluster_rr_overhead_p99_us} us; with the sharing scheduler ${res_cluster_rr_sharing_remote_p50_us} / ${res_cluster_rr_sharing_remote_p99_us} us); searches: gateway + ${cluster_engines} engines ${res_cluster_cluster_rps} req/s (p99 ${res_cluster_cluster_p99_ms} ms) against one node ${res_cluster_single_rps} req/s (p99 ${res_cluster_single_p99_ms} ms), ratio ${res_cluster_ratio}"
}

cluster_rows() {
  echo "| 6a. cross-node request/response (an order read, one in flight) | two processes p50 **${res_cluster_rr_remote_p50_us} µs**, p99 **${res_cluster_rr_remote_p99_us} µs**; one process p50 ${res_cluster_rr_local_p50_us} µs, p99 ${res_cluster_rr_local_p99_us} µs → overhead p50 ${res_cluster_rr_overhead_p50_us} µs, p99 ${res_cluster_rr_overhead_p99_us} µs (sharing scheduler: two processes p50 ${res_cluster_rr_sharing_remote_p50_us} µs, p99 ${res_cluster_rr_sharing_remote_p99_us} µs) | reported | — |"
  echo "| 6b. search throughput (3 suppliers × fixed 20 ms, no cache) | gateway node + ${cluster_engines} engine nodes **${res_cluster_cluster_rps} req/s** (p50 ${res_cluster_cluster_p50_ms} ms, p99 ${res_cluster_cluster_p99_ms} ms); one \`all\` node **${res_cluster_single_rps} req/s** (p50 ${res_cluster_single_p50_ms} ms, p99 ${res_cluster_single_p99_ms} ms) → **${res_cluster_ratio}×**, same ${nproc_count:-$(nproc)} CPUs | reported | — |"
}

cluster_section() {
  echo "### 6. Cluster"
  echo
  echo "(a) \`cluster_bench\`: ${cluster_rr_requests} order reads (\`get_atom, order_command\` → \`order_reply\` with a whole order record and its history) timed one at a time after ${cluster_rr_warmup} of warm-up, between two actors of one process and between two processes over CAF's middleman on loopback (heartbeats on, bedbank's types and wire version)."
  echo
  indent "$res_cluster_cmd_rr"
  echo
  echo "| | p50 | p99 |"
  echo "|---|---|---|"
  echo "| one process | ${res_cluster_rr_local_p50_us} µs | ${res_cluster_rr_local_p99_us} µs |"
  echo "| two processes | ${res_cluster_rr_remote_p50_us} µs | ${res_cluster_rr_remote_p99_us} µs |"
  echo "| overhead | ${res_cluster_rr_overhead_p50_us} µs | ${res_cluster_rr_overhead_p99_us} µs |"
  echo "| one process, \`--scheduler sharing\` | ${res_cluster_rr_sharing_local_p50_us} µs | ${res_cluster_rr_sharing_local_p99_us} µs |"
  echo "| two processes, \`--scheduler sharing\` | ${res_cluster_rr_sharing_remote_p50_us} µs | ${res_cluster_rr_sharing_remote_p99_us} µs |"
  echo "| overhead, \`--scheduler sharing\` (\`server.scheduler: sharing\`) | ${res_cluster_rr_sharing_overhead_p50_us} µs | ${res_cluster_rr_sharing_overhead_p99_us} µs |"
  echo
  echo "(b) Config \`bench/cluster.yaml\`: 3 mock suppliers, \`latency: {kind: fixed, fixed: 20ms}\`, no errors, \`pricing.cache_enabled: false\`, journal on. The same \`wrk\` run against one \`--role all\` node, then against a gateway-only node in front of ${cluster_engines} engine nodes (\`--role engine,journal\`), all on this machine."
  echo
  indent "$res_cluster_cmd_single"$'\n'"$res_cluster_cmd_cluster"$'\n'"$res_cluster_cmd_wrk"
  echo
  echo "| nodes | req/s | p50 | p99 | requests | non-2xx | socket errors | answer bytes |"
  echo "|---|---|---|---|---|---|---|---|"
  echo "| one \`all\` node | ${res_cluster_single_rps} | ${res_cluster_single_p50_ms} ms | ${res_cluster_single_p99_ms} ms | ${res_cluster_single_requests} | ${res_cluster_single_non2xx} | ${res_cluster_single_socket_errors} | ${res_cluster_single_bytes} |"
  echo "| gateway + ${cluster_engines} engines | ${res_cluster_cluster_rps} | ${res_cluster_cluster_p50_ms} ms | ${res_cluster_cluster_p99_ms} ms | ${res_cluster_cluster_requests} | ${res_cluster_cluster_non2xx} | ${res_cluster_cluster_socket_errors} | ${res_cluster_cluster_bytes} |"
  echo
  echo "Searches by engine node (search spans): ${res_cluster_by_node}."
  echo
}
