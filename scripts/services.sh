#!/usr/bin/env bash
# services.sh: throwaway PostgreSQL 15, Redis and ClickHouse servers for tests and local runs.
#
#   services.sh start  <dir> <pg_port> <redis_port> <ch_http_port>
#   services.sh stop   <dir>
#   services.sh status <dir>
#
# Everything listens on 127.0.0.1 only. Data lives in <dir>/{pg,redis,clickhouse}, PIDs in
# <dir>/{pg,redis,clickhouse}.pid, logs in <dir>/*.log. `start` is idempotent (a running
# server is left alone, stale PID files are ignored); `stop` signals only the PIDs recorded
# here and never any other process. ClickHouse's TCP port is <ch_http_port>+1 and its
# interserver port <ch_http_port>+2. PostgreSQL gets a superuser `bedbank` (trust auth,
# loopback only) and a database `bedbank`; ClickHouse a database `bedbank`.
#
# Durability: by default PostgreSQL runs as a throwaway development server with fsync,
# synchronous_commit and full_page_writes off — fast, and a committed booking survives a crash
# of bedbank or of PostgreSQL, but not a power loss or a crash of the machine. With
# BEDBANK_PG_DURABLE=1 (`make run DURABLE=1`) all three are on, as production needs. `start`
# applies the mode asked for also to a server that is already running (ALTER SYSTEM and a
# reload; a CHECKPOINT when it turns durable) and prints which mode the server is in.
set -euo pipefail

readonly pg_bin=/usr/lib/postgresql/15/bin
readonly pg_os_user=postgres
readonly pg_role=bedbank
readonly pg_database=bedbank
readonly ch_database=bedbank
readonly ready_timeout_s=30 # how long a server may take to accept connections
readonly stop_timeout_s=15  # how long a server may take to exit after the first signal
readonly log_tail_lines=30

die() {
  echo "services: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start <dir> <pg_port> <redis_port> <ch_http_port> | stop <dir> | status <dir>" >&2
  exit 2
}

# Prints the tail of a log file (if any) to stderr.
show_log() {
  local f
  for f in "$@"; do
    if [[ -s "$f" ]]; then
      echo "---- tail of $f ----" >&2
      tail -n "$log_tail_lines" "$f" >&2
    fi
  done
}

# alive <pid> <pattern>: the process exists and its command line matches <pattern>
# (guards against PID reuse after a crash).
alive() {
  local pid=$1 pattern=$2
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- "$pattern"
}

# running <name> <pattern>: the PID recorded in <dir>/<name>.pid is alive.
running() {
  local file="$dir/$1.pid"
  [[ -f "$file" ]] || return 1
  alive "$(head -n1 "$file" 2>/dev/null)" "$2"
}

# Runs a command as the PostgreSQL OS user when we are root (initdb refuses root).
as_pg() {
  if ((EUID == 0)); then
    runuser -u "$pg_os_user" -- "$@"
  else
    "$@"
  fi
}

pattern_of() {
  case $1 in
  pg) echo postgres ;;
  redis) echo redis-server ;;
  clickhouse) echo clickhouse ;;
  esac
}

# Makes every ancestor of $dir traversable, so the postgres user can reach its data dir.
make_traversable() {
  local p=$dir
  while [[ "$p" != "/" && -n "$p" ]]; do
    if ! as_pg test -x "$p"; then
      echo "services: adding o+x to $p so user $pg_os_user can reach $dir" >&2
      chmod o+x "$p"
    fi
    p=$(dirname "$p")
  done
}

# pg_durability <port>: applies the durability mode asked for (BEDBANK_PG_DURABLE) to the
# running server and prints it. The three settings take effect on a reload; turning durable,
# a CHECKPOINT writes and syncs what the throwaway settings left unsynced.
pg_durability() {
  local port=$1 value=off mode="throwaway: a power loss can lose committed bookings" i shown
  if [[ "${BEDBANK_PG_DURABLE:-0}" == 1 ]]; then
    value=on mode="durable"
  fi
  psql -X -q -h 127.0.0.1 -p "$port" -U "$pg_role" -d postgres -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET fsync = $value" -c "ALTER SYSTEM SET synchronous_commit = $value" \
    -c "ALTER SYSTEM SET full_page_writes = $value" -c "SELECT pg_reload_conf()" >/dev/null ||
    die "postgresql: could not set fsync, synchronous_commit and full_page_writes to $value"
  for ((i = 0; i < ready_timeout_s * 10; ++i)); do
    shown=$(psql -X -h 127.0.0.1 -p "$port" -U "$pg_role" -d postgres -tA \
      -c "SELECT current_setting('fsync') || current_setting('synchronous_commit') || current_setting('full_page_writes')")
    [[ "$shown" == "$value$value$value" ]] && break
    sleep 0.1
  done
  [[ "$shown" == "$value$value$value" ]] ||
    die "postgresql: the reload did not set fsync, synchronous_commit and full_page_writes to $value"
  if [[ "$value" == on ]]; then
    psql -X -q -h 127.0.0.1 -p "$port" -U "$pg_role" -d postgres -c CHECKPOINT >/dev/null ||
      die "postgresql: CHECKPOINT failed"
  fi
  echo "services: postgresql fsync=$value synchronous_commit=$value full_page_writes=$value ($mode)"
}

start_pg() {
  local port=$1 data="$dir/pg/data" log="$dir/pg.log"
  if running pg "$(pattern_of pg)"; then
    echo "services: postgresql already running (pid $(head -n1 "$dir/pg.pid"))"
    pg_durability "$port"
    return 0
  fi
  rm -f "$dir/pg.pid"
  if [[ -f "$data/postmaster.pid" ]]; then
    local old_pid
    old_pid=$(head -n1 "$data/postmaster.pid")
    if alive "$old_pid" "$(pattern_of pg)"; then
      # Our PID file was lost but the postmaster of this data dir is alive: adopt it.
      echo "$old_pid" >"$dir/pg.pid"
      echo "services: postgresql already running (pid $old_pid)"
      pg_durability "$port"
      return 0
    fi
    # Left over by a crash (its PID may linger as a zombie, which fools PostgreSQL's check).
    rm -f "$data/postmaster.pid"
  fi
  local lock
  for lock in "$dir"/pg/.s.PGSQL.*.lock; do
    [[ -f "$lock" ]] || continue
    if ! alive "$(head -n1 "$lock")" "$(pattern_of pg)"; then
      rm -f "$lock" "${lock%.lock}"
    fi
  done
  [[ -x "$pg_bin/initdb" ]] || die "PostgreSQL 15 not found in $pg_bin (run scripts/install-deps.sh)"
  mkdir -p "$dir/pg"
  touch "$log"
  if ((EUID == 0)); then
    chown "$pg_os_user:" "$dir/pg" "$log"
    chmod 700 "$dir/pg"
    make_traversable
  fi
  if [[ ! -f "$dir/pg/.initialized" ]]; then
    rm -rf "$data"
    if ! as_pg "$pg_bin/initdb" -D "$data" -U "$pg_role" --auth=trust -E UTF8 --no-locale \
      --no-sync >>"$log" 2>&1; then
      show_log "$log"
      die "initdb failed"
    fi
    touch "$dir/pg/.initialized"
  fi
  # fsync, synchronous_commit and full_page_writes are not set here: settings on the command
  # line would override ALTER SYSTEM (pg_durability).
  local opts="-c listen_addresses=127.0.0.1 -p $port -k $dir/pg"
  if ! as_pg "$pg_bin/pg_ctl" -D "$data" -l "$log" -o "$opts" -w -t "$ready_timeout_s" \
    start </dev/null >/dev/null 2>&1; then
    show_log "$log"
    die "postgresql failed to start on 127.0.0.1:$port"
  fi
  head -n1 "$data/postmaster.pid" >"$dir/pg.pid"
  local i
  for ((i = 0; i < ready_timeout_s * 10; ++i)); do
    if pg_isready -q -h 127.0.0.1 -p "$port" -U "$pg_role" -d postgres; then
      break
    fi
    sleep 0.1
  done
  pg_isready -q -h 127.0.0.1 -p "$port" -U "$pg_role" -d postgres || {
    show_log "$log"
    die "postgresql does not accept connections on 127.0.0.1:$port"
  }
  local exists
  exists=$(psql -X -h 127.0.0.1 -p "$port" -U "$pg_role" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$pg_database'")
  if [[ "$exists" != 1 ]]; then
    psql -X -q -h 127.0.0.1 -p "$port" -U "$pg_role" -d postgres \
      -c "CREATE DATABASE $pg_database OWNER $pg_role" >/dev/null
  fi
  echo "services: postgresql on 127.0.0.1:$port (pid $(head -n1 "$dir/pg.pid"))"
  pg_durability "$port"
}

start_redis() {
  local port=$1 log="$dir/redis.log"
  if running redis "$(pattern_of redis)"; then
    echo "services: redis already running (pid $(head -n1 "$dir/redis.pid"))"
    return 0
  fi
  rm -f "$dir/redis.pid"
  mkdir -p "$dir/redis"
  if ! redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$dir/redis.pid" \
    --dir "$dir/redis" --logfile "$log" --save '' --appendonly no </dev/null >>"$log" 2>&1; then
    show_log "$log"
    die "redis failed to start on 127.0.0.1:$port"
  fi
  local i
  for ((i = 0; i < ready_timeout_s * 10; ++i)); do
    if [[ -f "$dir/redis.pid" ]] && [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; then
      echo "services: redis on 127.0.0.1:$port (pid $(head -n1 "$dir/redis.pid"))"
      return 0
    fi
    sleep 0.1
  done
  show_log "$log"
  die "redis does not answer on 127.0.0.1:$port"
}

write_clickhouse_config() {
  local http=$1 ch="$dir/clickhouse"
  cat >"$ch/config.xml" <<XML
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh: a throwaway ClickHouse on loopback. -->
<yandex>
  <logger>
    <level>information</level>
    <log>$dir/clickhouse.log</log>
    <errorlog>$dir/clickhouse.err.log</errorlog>
    <size>100M</size>
    <count>2</count>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  <tcp_port>$((http + 1))</tcp_port>
  <interserver_http_port>$((http + 2))</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$ch/data/</path>
  <tmp_path>$ch/tmp/</tmp_path>
  <user_files_path>$ch/user_files/</user_files_path>
  <format_schema_path>$ch/format_schemas/</format_schema_path>
  <users_config>$ch/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>67108864</mark_cache_size>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
XML
  cat >"$ch/users.xml" <<XML
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh: user "default", no password, loopback only. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <use_uncompressed_cache>0</use_uncompressed_cache>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>::1</ip>
        <ip>127.0.0.1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
XML
}

start_clickhouse() {
  local http=$1 ch="$dir/clickhouse" out="$dir/clickhouse.out.log"
  local url="http://127.0.0.1:$http"
  if running clickhouse "$(pattern_of clickhouse)"; then
    echo "services: clickhouse already running (pid $(head -n1 "$dir/clickhouse.pid"))"
    return 0
  fi
  rm -f "$dir/clickhouse.pid"
  command -v clickhouse-server >/dev/null || die "clickhouse-server not found (run scripts/install-deps.sh)"
  mkdir -p "$ch/data" "$ch/tmp" "$ch/user_files" "$ch/format_schemas"
  write_clickhouse_config "$http"
  # Own session, all descriptors redirected: ctest must not wait on our output pipe.
  setsid clickhouse-server --config-file="$ch/config.xml" </dev/null >>"$out" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/clickhouse.pid"
  local i
  for ((i = 0; i < ready_timeout_s * 10; ++i)); do
    if [[ "$(curl -s --max-time 1 "$url/ping" 2>/dev/null)" == "Ok." ]]; then
      break
    fi
    if ! alive "$pid" clickhouse; then
      rm -f "$dir/clickhouse.pid"
      show_log "$out" "$dir/clickhouse.err.log" "$dir/clickhouse.log"
      die "clickhouse exited during startup (http port $http)"
    fi
    sleep 0.1
  done
  if [[ "$(curl -s --max-time 1 "$url/ping" 2>/dev/null)" != "Ok." ]]; then
    show_log "$out" "$dir/clickhouse.err.log" "$dir/clickhouse.log"
    die "clickhouse does not answer on $url/ping"
  fi
  local reply
  if ! reply=$(curl -sS --max-time 10 --data-binary "CREATE DATABASE IF NOT EXISTS $ch_database" \
    "$url/" 2>&1); then
    die "clickhouse: CREATE DATABASE failed: $reply"
  fi
  echo "services: clickhouse on $url (pid $pid)"
}

# stop_one <name> <signal>: signals the recorded PID, waits, then KILLs; removes the PID file.
stop_one() {
  local name=$1 sig=$2 file="$dir/$1.pid" pid
  [[ -f "$file" ]] || return 0
  pid=$(head -n1 "$file" 2>/dev/null || true)
  if alive "$pid" "$(pattern_of "$name")"; then
    kill -"$sig" "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < stop_timeout_s * 10; ++i)); do
      alive "$pid" "$(pattern_of "$name")" || break
      sleep 0.1
    done
    if alive "$pid" "$(pattern_of "$name")"; then
      echo "services: $name (pid $pid) ignored SIG$sig, sending KILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "services: stopped $name (pid $pid)"
  fi
  rm -f "$file"
}

status_one() {
  local name=$1
  if running "$name" "$(pattern_of "$name")"; then
    echo "$name: running (pid $(head -n1 "$dir/$name.pid"))"
  else
    echo "$name: stopped"
    return 1
  fi
}

(($# >= 2)) || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)

case $cmd in
start)
  (($# == 5)) || usage
  for p in "$3" "$4" "$5"; do
    [[ "$p" =~ ^[0-9]+$ ]] || die "not a port: $p"
  done
  [[ "${BEDBANK_PG_DURABLE:-0}" =~ ^[01]$ ]] ||
    die "BEDBANK_PG_DURABLE (make DURABLE=…) must be 0 or 1, got '${BEDBANK_PG_DURABLE}'"
  chmod 755 "$dir"
  start_pg "$3"
  start_redis "$4"
  start_clickhouse "$5"
  ;;
stop)
  (($# == 2)) || usage
  # PostgreSQL: SIGINT is its "fast" shutdown; SIGTERM ("smart") waits for every client.
  stop_one clickhouse TERM
  stop_one redis TERM
  stop_one pg INT
  ;;
status)
  (($# == 2)) || usage
  rc=0
  status_one pg || rc=3
  status_one redis || rc=3
  status_one clickhouse || rc=3
  exit "$rc"
  ;;
*)
  usage
  ;;
esac
