// bedbank's configuration: the validated, immutable result of reading
// config/bedbank.yaml (two steps: YAML → raw tree with ${ENV} substituted →
// checked values), plus `--set key.path=value` overrides.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bedbank::config {

using std::chrono::milliseconds;

/// `server:` — listeners and HTTP limits.
struct server_config {
  std::string host = "127.0.0.1";       ///< agent API bind address
  uint16_t port = 8080;                 ///< agent API port
  std::string admin_host = "127.0.0.1"; ///< admin API bind address
  uint16_t admin_port = 9090;           ///< admin API port
  std::string mode = "development";     ///< development | production
  milliseconds read_timeout{30000};     ///< idle keep-alive / slow request limit
  milliseconds write_timeout{60000};
  int io_threads = 1;             ///< Beast I/O threads (1..64)
  int64_t body_limit = 65536;     ///< request body bytes (413 past it)
  int64_t header_limit = 8192;    ///< request header bytes
  std::string admin_token;        ///< admin bearer token; demo token in development
  std::string node_id = "node-1"; ///< this node's id (overridden by --node-id)
  /// CAF's scheduler: stealing (work stealing, polling workers) | sharing (one queue, workers
  /// woken at once: lower latency for messages from other nodes).
  std::string scheduler = "stealing";
};

/// `database:` — PostgreSQL.
struct database_config {
  std::string host = "127.0.0.1";
  uint16_t port = 5432;
  std::string user = "bedbank";
  std::string password;
  std::string dbname = "bedbank";
  int max_open_conns = 50;
  int max_idle_conns = 10;
  /// libpq connection string built from the fields above, with PostgreSQL's JIT off for the
  /// session (docs/adr/0008-trace-reports-and-archive.md).
  std::string conninfo() const;
};

/// `redis:`
struct redis_config {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string password;
  int db = 0;
  int pool_size = 20;
};

/// `clickhouse:` — archive store, HTTP interface.
struct clickhouse_config {
  bool enabled = true;
  std::string host = "127.0.0.1";
  uint16_t port = 8123;
  std::string database = "bedbank";
  std::string user = "default";
  std::string password;
  milliseconds timeout{30000}; ///< bounds each HTTP call (queries and archive inserts)
};

/// `pricing:`
struct pricing_config {
  milliseconds cache_ttl{300000};      ///< Redis price cache
  milliseconds local_cache_ttl{60000}; ///< in-process price cache
  milliseconds supplier_timeout{3000}; ///< search deadline per supplier
  int max_concurrent = 10;             ///< concurrent calls per supplier connection
  std::string default_currency = "CNY";
  bool cache_enabled = true;           ///< false: every search fans out (benchmarks)
  int64_t local_cache_entries = 10000; ///< bound of the in-process cache
  int32_t default_markup_bps = 800;    ///< agents' markup unless they have their own
  /// Exchange rates: units of the currency per one unit of default_currency, as decimal strings
  /// parsed into parts per million (e.g. USD: "0.1389" → 138900).
  std::map<std::string, int64_t> fx_rates_ppm;
};

/// `inventory:`
struct inventory_config {
  milliseconds hold_ttl{1800000};
  milliseconds cleanup_interval{300000};
  milliseconds sync_interval{600000};
};

/// `risk:`
struct risk_config {
  bool credit_check_enabled = true;
  bool price_check_enabled = true;
  int rate_limit_per_minute = 60;
  int32_t price_tolerance_bps = 100; ///< trial: a price move within this (1/100 %) is no change
};

/// `orders:` — the order engine and the outbox relay.
struct orders_config {
  milliseconds relay_interval{5000}; ///< how often the outbox relay looks for due rows
  int relay_batch = 100;             ///< rows claimed per look
  milliseconds lease{10000};         ///< a claimed row is due again after call timeout + this
  milliseconds idle_timeout{60000};  ///< an order actor idle this long passivates
  milliseconds create_wait{10000};   ///< POST /api/orders waits this long for the booking
  int store_connections = 4;         ///< PostgreSQL connections of the order stores
};

/// `log:`
struct log_config {
  std::string level = "info";    ///< trace | debug | info | warn | error
  std::string format = "json";   ///< json | text
  std::string output = "stdout"; ///< stdout | stderr | a file path
};

/// `trace:` — the journal and the archive.
/// The most trace readers a node runs (trace.readers).
constexpr int max_trace_readers = 32;

struct trace_config {
  int64_t buffer_limit = 100000;        ///< spans held in memory before dropping
  int64_t batch_size = 2000;            ///< spans per COPY
  milliseconds flush_interval{200};     ///< flush at least this often
  int hot_days = 30;                    ///< days in PostgreSQL
  int archive_days = 365;               ///< days in ClickHouse
  milliseconds archive_interval{60000}; ///< how often the archiver looks for old spans
  int archive_batch = 10000;            ///< spans per archive batch (insert, verify, delete)
  int readers = 4;                      ///< trace readers (reports in parallel, ≤ 32)
};

/// `cluster:` — how this node meets the others (CAF's io middleman). A node with
/// `port: 0` does not listen for peers and runs alone.
struct cluster_config {
  std::string bind = "127.0.0.1";        ///< address the node manager is published on
  uint16_t port = 0;                     ///< cluster port; 0: single node, no listener
  std::vector<std::string> seeds;        ///< "host:port" of nodes to join at start-up
  milliseconds heartbeat_interval{500};  ///< node managers' heartbeats and the middleman's
  milliseconds failure_timeout{3000};    ///< a peer silent this long is down
  milliseconds connection_timeout{5000}; ///< the middleman drops a silent connection after this
  milliseconds connect_timeout{2000};    ///< bound of one attempt to reach a peer
  milliseconds gather_timeout{1000};     ///< deadline of a question to every node (ops views)
  int vnodes = 64;                       ///< points per engine node on the shard ring
};

/// `supervision:` — restart policy of every supervisor (OTP's intensity and period).
struct supervision_config {
  int max_restarts = 5;            ///< restarts within `window` before escalating
  milliseconds window{60000};      ///< the period restarts are counted over
  milliseconds backoff_min{100};   ///< first restart delay
  milliseconds backoff_max{10000}; ///< cap of the doubling delay
};

/// Latency shape of a mock supplier.
struct latency_profile {
  enum class kind { fixed, uniform, lognormal };
  kind shape = kind::uniform;
  milliseconds fixed{50};  ///< for fixed
  milliseconds min{20};    ///< for uniform
  milliseconds max{120};   ///< for uniform
  milliseconds median{60}; ///< for lognormal
  double sigma = 0.5;      ///< for lognormal
};

/// Mock supplier test scenarios (config `mock.scenario`, or the development `Test` header):
/// ok; price_changed (re-check and booking see a price 10 % higher); sold_out (nothing left);
/// booking_error (CreateBooking answers an error, nothing booked); slow_booking (CreateBooking
/// answers after mock.slow_booking); answer_lost (CreateBooking books, but the answer never
/// arrives); cancel_refused (CancelBooking refuses).
bool is_mock_scenario(std::string_view name);

/// `suppliers.<code>.mock:` — how a simulated supplier behaves.
struct mock_profile {
  latency_profile latency;
  double error_rate = 0.0;    ///< 0..1, share of searches answered with an error
  double timeout_rate = 0.0;  ///< 0..1, share of searches never answered
  double sold_out_rate = 0.0; ///< 0..1, share of hotels with no rates
  double price_drift = 0.0;   ///< 0..1, largest relative change from the list price
  /// 0..1, chance that a rate's price moves in one price_change_window (domain::moved_price)
  double price_change_chance = 0.1;
  /// Prices move only where such a window ends (15 minutes)
  milliseconds price_change_window{900000};
  uint64_t seed = 1;               ///< rate generator seed
  int coverage_percent = 75;       ///< share of the catalog this supplier sells
  std::string scenario = "ok";     ///< one of mock_scenarios
  milliseconds slow_booking{2000}; ///< answer delay of the slow_booking scenario
};

/// `suppliers.<code>.booking:` — the outbox relay's retry policy for this supplier's bookings.
struct booking_policy {
  int max_attempts = 5;        ///< CreateBooking / CancelBooking calls before giving up
  milliseconds backoff{60000}; ///< first retry delay (the seed retries every minute), doubling
};

/// `suppliers.<code>.breaker:`
struct breaker_config {
  int max_failures = 5;
  milliseconds reset_timeout{10000};
  milliseconds max_reset_timeout{300000};
};

/// `suppliers.<code>:`
struct supplier_config {
  std::string code; ///< the key under `suppliers:`
  std::string name; ///< display name (defaults to code)
  bool enabled = true;
  std::string protocol = "mock"; ///< mock | hotelbeds | expedia
  std::string api_key;
  std::string api_secret;
  std::string endpoint;
  milliseconds timeout{5000}; ///< per-call deadline for non-search calls
  int priority = 0;           ///< higher first when prices tie
  int max_concurrent = 10;    ///< bulkhead (defaults to pricing.max_concurrent)
  breaker_config breaker;
  booking_policy booking;
  std::optional<mock_profile> mock; ///< present for simulated suppliers
};

/// `agents[]:` — agents defined in configuration (demo agents are added in development mode).
struct agent_config {
  std::string id;
  std::string name;
  std::string api_key;
  int rate_limit_per_minute = 0; ///< 0: risk.rate_limit_per_minute
  int32_t markup_bps = -1;       ///< -1: pricing.default_markup_bps
  int64_t credit_limit_minor = 0;
};

/// The whole validated configuration.
struct bedbank_config {
  server_config server;
  database_config database;
  redis_config redis;
  clickhouse_config clickhouse;
  pricing_config pricing;
  inventory_config inventory;
  risk_config risk;
  orders_config orders;
  log_config log;
  trace_config trace;
  cluster_config cluster;
  supervision_config supervision;
  std::vector<supplier_config> suppliers; ///< in file order
  std::vector<agent_config> agents;       ///< configured plus, in development, demo-a/demo-b

  bool development() const { return server.mode == "development"; }
  const supplier_config* supplier(const std::string& code) const;
};

/// Why a configuration was refused: the key path (e.g. `pricing.cache_ttl`,
/// `suppliers.hotelbeds.mock.error_rate`) and what is wrong with it.
struct config_error {
  std::string key;
  std::string message;
  /// "config: <key>: <message>" — what start-up prints before exiting with 2.
  std::string to_string() const;
};

/// Either a configuration or the first error found.
using config_result = std::variant<bedbank_config, config_error>;

/// Reads YAML text. `${NAME}` and `${NAME:-default}` are replaced from the
/// environment (an unset name without default is an error naming the key).
/// `overrides` are `key.path=value` strings applied before validation.
config_result parse_config(const std::string& yaml_text,
                           const std::vector<std::string>& overrides = {});

/// Reads a file, then as parse_config; a missing file is an error with key "".
config_result load_config(const std::string& path, const std::vector<std::string>& overrides = {});

} // namespace bedbank::config
