// Unit tests of config/: the shipped bedbank.yaml, defaults, durations, ${ENV}
// substitution, --set overrides and the key path of every refusal.
#define CAF_SUITE config
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

using namespace bedbank::config;
using namespace std::chrono_literals;

namespace {

/// Marks an accepted configuration where a refusal was expected.
const std::string accepted = "<accepted>";

/// The error of a refused configuration; key `<accepted>` when it was accepted.
config_error error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto result = parse_config(yaml, overrides);
  if (auto* err = std::get_if<config_error>(&result))
    return *err;
  return config_error{accepted, ""};
}

/// Only the key path of error_of.
std::string key_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return error_of(yaml, overrides).key;
}

/// True when `text` contains `part`.
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A minimal valid mock supplier named `sx`, for cases about suppliers.
const std::string mock_supplier = R"(
suppliers:
  sx:
    protocol: mock
    mock:
      latency: {kind: fixed, fixed: 10ms}
)";

/// A valid production configuration (long admin token, one agent with a long key).
const std::string production = R"(
server:
  mode: production
  admin_token: a-long-enough-admin-token
agents:
  - id: acme
    api_key: acme-key-0123456789
)";

} // namespace

#define REQUIRE_OK(result)                                                                         \
  do {                                                                                             \
    if (auto* err = std::get_if<config_error>(&(result)))                                          \
      CAF_FAIL("refused: " << err->to_string());                                                   \
  } while (false)

CAF_TEST(shipped configuration loads) {
  const char* source_dir = std::getenv("BEDBANK_SOURCE_DIR");
  CAF_REQUIRE(source_dir != nullptr);
  auto result = load_config(std::string{source_dir} + "/config/bedbank.yaml");
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK(cfg.development());
  CAF_CHECK_EQUAL(cfg.server.host, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.server.port, 8080);
  CAF_CHECK_EQUAL(cfg.server.admin_port, 9090);
  CAF_CHECK_EQUAL(cfg.server.body_limit, 65536);
  CAF_CHECK_EQUAL(cfg.server.admin_token, "demo-admin-token");
  CAF_CHECK_EQUAL(cfg.database.port, 15432);
  CAF_CHECK(contains(cfg.database.conninfo(), "host=127.0.0.1 port=15432 user=bedbank"));
  CAF_CHECK(contains(cfg.database.conninfo(), "options='-c jit=off'"));
  CAF_CHECK_EQUAL(cfg.redis.port, 16379);
  CAF_CHECK_EQUAL(cfg.clickhouse.port, 18123);
  CAF_CHECK_EQUAL(cfg.clickhouse.database, "bedbank");
  CAF_CHECK_EQUAL(cfg.pricing.cache_ttl.count(), 300000);
  CAF_CHECK_EQUAL(cfg.pricing.supplier_timeout.count(), 3000);
  CAF_CHECK_EQUAL(cfg.pricing.default_currency, "CNY");
  CAF_CHECK_EQUAL(cfg.pricing.fx_rates_ppm.at("USD"), 138900);
  CAF_CHECK_EQUAL(cfg.inventory.hold_ttl.count(), 1800000);
  CAF_CHECK_EQUAL(cfg.risk.rate_limit_per_minute, 60);
  CAF_CHECK_EQUAL(cfg.trace.flush_interval.count(), 200);
  CAF_CHECK_EQUAL(cfg.cluster.port, 0);
  CAF_REQUIRE_EQUAL(cfg.suppliers.size(), 3u);
  CAF_CHECK_EQUAL(cfg.suppliers[0].code, "hotelbeds");
  CAF_CHECK_EQUAL(cfg.suppliers[1].code, "expedia");
  CAF_CHECK_EQUAL(cfg.suppliers[2].code, "dida");
  for (const auto& s : cfg.suppliers) {
    CAF_CHECK(s.enabled);
    CAF_REQUIRE(s.mock.has_value());
    CAF_CHECK_LESS_OR_EQUAL(s.mock->error_rate, 0.01);
    CAF_CHECK_LESS_OR_EQUAL(s.mock->timeout_rate, 0.01);
    CAF_CHECK_GREATER(s.mock->sold_out_rate, 0.0);
  }
  const auto* hb = cfg.supplier("hotelbeds");
  CAF_REQUIRE(hb != nullptr);
  CAF_CHECK(hb->mock->latency.shape == latency_profile::kind::lognormal);
  CAF_CHECK_EQUAL(hb->mock->latency.median.count(), 80);
  const auto* ex = cfg.supplier("expedia");
  CAF_REQUIRE(ex != nullptr);
  CAF_CHECK(ex->mock->latency.shape == latency_profile::kind::uniform);
  CAF_CHECK_EQUAL(ex->mock->latency.min.count(), 40);
  CAF_CHECK_EQUAL(ex->mock->latency.max.count(), 150);
  const auto* dida = cfg.supplier("dida");
  CAF_REQUIRE(dida != nullptr);
  CAF_CHECK(dida->mock->latency.shape == latency_profile::kind::fixed);
  CAF_CHECK_EQUAL(dida->mock->latency.fixed.count(), 60);
  CAF_CHECK_NOT_EQUAL(hb->mock->seed, ex->mock->seed);
  CAF_CHECK_NOT_EQUAL(ex->mock->seed, dida->mock->seed);
  CAF_CHECK(cfg.supplier("nobody") == nullptr);
  CAF_REQUIRE_EQUAL(cfg.agents.size(), 2u);
  CAF_CHECK_EQUAL(cfg.agents[0].api_key, "demo-key-a");
  CAF_CHECK_EQUAL(cfg.agents[1].api_key, "demo-key-b");
}

CAF_TEST(empty document gives the defaults and demo data) {
  auto result = parse_config("");
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK_EQUAL(cfg.server.mode, "development");
  CAF_CHECK_EQUAL(cfg.server.node_id, "node-1");
  CAF_CHECK_EQUAL(cfg.server.read_timeout.count(), 30000);
  CAF_CHECK_EQUAL(cfg.database.port, 5432);
  CAF_CHECK_EQUAL(cfg.pricing.cache_ttl.count(), 300000);
  CAF_CHECK_EQUAL(cfg.pricing.local_cache_ttl.count(), 60000);
  CAF_CHECK_EQUAL(cfg.pricing.supplier_timeout.count(), 3000);
  CAF_CHECK_EQUAL(cfg.pricing.max_concurrent, 10);
  CAF_CHECK_EQUAL(cfg.pricing.default_currency, "CNY");
  CAF_CHECK(cfg.pricing.cache_enabled);
  CAF_CHECK_EQUAL(cfg.risk.rate_limit_per_minute, 60);
  CAF_CHECK_EQUAL(cfg.inventory.hold_ttl.count(), 1800000);
  CAF_CHECK_EQUAL(cfg.inventory.cleanup_interval.count(), 300000);
  CAF_CHECK_EQUAL(cfg.inventory.sync_interval.count(), 600000);
  CAF_CHECK(cfg.suppliers.empty());
  CAF_CHECK_EQUAL(cfg.server.admin_token, "demo-admin-token");
  CAF_REQUIRE_EQUAL(cfg.agents.size(), 2u);
  CAF_CHECK_EQUAL(cfg.agents[0].id, "demo-a");
  CAF_CHECK_EQUAL(cfg.agents[0].name, "Demo Agency A");
  CAF_CHECK_EQUAL(cfg.agents[0].api_key, "demo-key-a");
  CAF_CHECK_EQUAL(cfg.agents[0].credit_limit_minor, 100000000);
  CAF_CHECK_EQUAL(cfg.agents[1].id, "demo-b");
  CAF_CHECK_EQUAL(cfg.agents[1].api_key, "demo-key-b");
  // Sections that are present but empty keep their defaults too.
  auto empty_sections = parse_config("server:\npricing:\nrisk: {}\n");
  REQUIRE_OK(empty_sections);
  CAF_CHECK_EQUAL(std::get<bedbank_config>(empty_sections).server.port, 8080);
}

CAF_TEST(durations take units) {
  auto result = parse_config(R"(
pricing: {cache_ttl: 5m, local_cache_ttl: 1500ms, supplier_timeout: 2s}
inventory: {hold_ttl: 1h}
)");
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK_EQUAL(cfg.pricing.cache_ttl.count(), 300000);
  CAF_CHECK_EQUAL(cfg.pricing.local_cache_ttl.count(), 1500);
  CAF_CHECK_EQUAL(cfg.pricing.supplier_timeout.count(), 2000);
  CAF_CHECK_EQUAL(cfg.inventory.hold_ttl.count(), 3600000);
  auto bare = error_of("pricing: {cache_ttl: 300}");
  CAF_CHECK_EQUAL(bare.key, "pricing.cache_ttl");
  CAF_CHECK(contains(bare.message, "unit"));
  CAF_CHECK(contains(bare.message, "300s"));
  CAF_CHECK_EQUAL(key_of("pricing: {cache_ttl: fast}"), "pricing.cache_ttl");
  CAF_CHECK_EQUAL(key_of("pricing: {cache_ttl: 5d}"), "pricing.cache_ttl");
  CAF_CHECK_EQUAL(key_of("pricing: {cache_ttl: -5s}"), "pricing.cache_ttl");
  CAF_CHECK_EQUAL(key_of("inventory: {hold_ttl: [1s]}"), "inventory.hold_ttl");
  // supplier_timeout is > 0 and at most 60 s.
  CAF_CHECK_EQUAL(key_of("pricing: {supplier_timeout: 0s}"), "pricing.supplier_timeout");
  CAF_CHECK_EQUAL(key_of("pricing: {supplier_timeout: 61s}"), "pricing.supplier_timeout");
  CAF_CHECK_EQUAL(key_of("pricing: {supplier_timeout: 60s}"), accepted);
}

CAF_TEST(environment substitution) {
  setenv("BEDBANK_CFG_TEST_PASS", "s3cret pass", 1);
  setenv("BEDBANK_CFG_TEST_PORT", "25432", 1);
  setenv("BEDBANK_CFG_TEST_EMPTY", "", 1);
  unsetenv("BEDBANK_CFG_TEST_UNSET");
  auto result = parse_config(R"(
database:
  password: ${BEDBANK_CFG_TEST_PASS}
  port: ${BEDBANK_CFG_TEST_PORT}
  user: u-${BEDBANK_CFG_TEST_UNSET:-fallback}-x
  dbname: ${BEDBANK_CFG_TEST_EMPTY:-defaultdb}
redis:
  password: ${BEDBANK_CFG_TEST_UNSET:-}
server:
  admin_token: $${NOT_A_VARIABLE}
)");
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK_EQUAL(cfg.database.password, "s3cret pass");
  CAF_CHECK_EQUAL(cfg.database.port, 25432);
  CAF_CHECK_EQUAL(cfg.database.user, "u-fallback-x");
  CAF_CHECK_EQUAL(cfg.database.dbname, "defaultdb");
  CAF_CHECK_EQUAL(cfg.redis.password, "");
  CAF_CHECK_EQUAL(cfg.server.admin_token, "${NOT_A_VARIABLE}");
  CAF_CHECK(contains(cfg.database.conninfo(), "password='s3cret pass'"));
  auto unset = error_of("database:\n  password: ${BEDBANK_CFG_TEST_UNSET}\n");
  CAF_CHECK_EQUAL(unset.key, "database.password");
  CAF_CHECK(contains(unset.message, "BEDBANK_CFG_TEST_UNSET"));
  CAF_CHECK_EQUAL(key_of("agents:\n  - id: a\n    api_key: ${BEDBANK_CFG_TEST_UNSET}\n"),
                  "agents[0].api_key");
  CAF_CHECK_EQUAL(key_of("redis: {password: \"${BEDBANK_CFG_TEST_PASS\"}"), "redis.password");
  CAF_CHECK_EQUAL(key_of("redis: {password: \"${1BAD}\"}"), "redis.password");
  // A substituted value is still checked against its type.
  setenv("BEDBANK_CFG_TEST_PORT", "not-a-port", 1);
  CAF_CHECK_EQUAL(key_of("database: {port: \"${BEDBANK_CFG_TEST_PORT}\"}"), "database.port");
}

CAF_TEST(overrides) {
  auto result = parse_config(
      mock_supplier, {"risk.rate_limit_per_minute=1000000", "suppliers.sx.mock.error_rate=0.5",
                      "pricing.cache_enabled=false", "server.admin_token = 'quoted token'"});
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK_EQUAL(cfg.risk.rate_limit_per_minute, 1000000);
  CAF_REQUIRE(cfg.supplier("sx") != nullptr);
  CAF_CHECK_EQUAL(cfg.supplier("sx")->mock->error_rate, 0.5);
  CAF_CHECK(!cfg.pricing.cache_enabled);
  CAF_CHECK_EQUAL(cfg.server.admin_token, "quoted token");
  // The last override of a key wins; list elements are addressed by index.
  auto agents = parse_config("agents:\n  - {id: a, api_key: k1}\n  - {id: b, api_key: k2}\n",
                             {"agents[1].api_key=k3", "server.port=81", "server.port=82"});
  REQUIRE_OK(agents);
  CAF_CHECK_EQUAL(std::get<bedbank_config>(agents).agents[1].api_key, "k3");
  CAF_CHECK_EQUAL(std::get<bedbank_config>(agents).server.port, 82);
}

CAF_TEST(bad overrides name the key) {
  CAF_CHECK_EQUAL(key_of("", {"risk.rate_limit_per_minute"}), "risk.rate_limit_per_minute");
  CAF_CHECK_EQUAL(key_of("", {"risk..x=1"}), "risk..x");
  CAF_CHECK_EQUAL(key_of("", {"=1"}), "");
  CAF_CHECK_EQUAL(key_of("", {"agents[x].id=1"}), "agents[x].id");
  CAF_CHECK_EQUAL(key_of("", {"risk.bogus=1"}), "risk.bogus");
  CAF_CHECK_EQUAL(key_of("", {"bogus=1"}), "bogus");
  CAF_CHECK_EQUAL(key_of("server: {port: 80}", {"server.port.deeper=1"}), "server.port.deeper");
  // Without a file value the override makes a map, which the port then refuses.
  CAF_CHECK_EQUAL(key_of("", {"server.port.deeper=1"}), "server.port");
  CAF_CHECK_EQUAL(key_of("", {"agents[3].api_key=x"}), "agents[3].api_key");
  CAF_CHECK_EQUAL(key_of("", {"server.admin_token=[unclosed"}), "server.admin_token");
  auto bad_value = error_of("", {"risk.rate_limit_per_minute=lots"});
  CAF_CHECK_EQUAL(bad_value.key, "risk.rate_limit_per_minute");
  CAF_CHECK(contains(bad_value.message, "--set risk.rate_limit_per_minute=lots"));
  CAF_CHECK_EQUAL(key_of(mock_supplier, {"suppliers.sx.mock.error_rate=1.5"}),
                  "suppliers.sx.mock.error_rate");
  CAF_CHECK_EQUAL(key_of(mock_supplier, {"suppliers.sx.mock.price_change_chance=2"}),
                  "suppliers.sx.mock.price_change_chance");
  CAF_CHECK_EQUAL(key_of(mock_supplier, {"suppliers.sx.mock.price_change_window=0s"}),
                  "suppliers.sx.mock.price_change_window");
}

CAF_TEST(mock prices move per window) {
  auto defaults = parse_config(mock_supplier);
  REQUIRE_OK(defaults);
  const auto* d = std::get<bedbank_config>(defaults).supplier("sx");
  CAF_REQUIRE(d != nullptr && d->mock);
  CAF_CHECK_EQUAL(d->mock->price_change_chance, 0.1);
  CAF_CHECK_EQUAL(d->mock->price_change_window, std::chrono::minutes{15});
  auto set = parse_config(mock_supplier, {"suppliers.sx.mock.price_change_chance=0.5",
                                          "suppliers.sx.mock.price_change_window=2m"});
  REQUIRE_OK(set);
  const auto* s = std::get<bedbank_config>(set).supplier("sx");
  CAF_REQUIRE(s != nullptr && s->mock);
  CAF_CHECK_EQUAL(s->mock->price_change_chance, 0.5);
  CAF_CHECK_EQUAL(s->mock->price_change_window, std::chrono::minutes{2});
}

CAF_TEST(unknown keys) {
  auto top = error_of("servr: {port: 1}");
  CAF_CHECK_EQUAL(top.key, "servr");
  CAF_CHECK(contains(top.message, "did you mean server"));
  CAF_CHECK(contains(top.message, "line 1"));
  CAF_CHECK_EQUAL(key_of("pricing:\n  cache_tll: 5s\n"), "pricing.cache_tll");
  CAF_CHECK_EQUAL(key_of(mock_supplier + "    colour: red\n"), "suppliers.sx.colour");
  CAF_CHECK_EQUAL(key_of(mock_supplier, {"suppliers.sx.mock.latency.shape=fixed"}),
                  "suppliers.sx.mock.latency.shape");
  CAF_CHECK_EQUAL(key_of("agents:\n  - {id: a, api_key: k, colour: red}\n"), "agents[0].colour");
  CAF_CHECK_EQUAL(key_of("server: {port: 1}\nserver: {port: 2}\n"), "server");
}

CAF_TEST(wrong types) {
  CAF_CHECK_EQUAL(key_of("server: {port: abc}"), "server.port");
  CAF_CHECK_EQUAL(key_of("server: {port: 80.5}"), "server.port");
  CAF_CHECK_EQUAL(key_of("risk: {credit_check_enabled: yes}"), "risk.credit_check_enabled");
  CAF_CHECK_EQUAL(key_of("server: [1, 2]"), "server");
  CAF_CHECK_EQUAL(key_of("server: {host: {a: b}}"), "server.host");
  CAF_CHECK_EQUAL(key_of("suppliers: [a, b]"), "suppliers");
  CAF_CHECK_EQUAL(key_of("agents: {id: a}"), "agents");
  CAF_CHECK_EQUAL(key_of("agents: [plain]"), "agents[0]");
  CAF_CHECK_EQUAL(key_of("- a\n- b\n"), "");
  CAF_CHECK_EQUAL(key_of("log: {level: loud}"), "log.level");
  CAF_CHECK_EQUAL(key_of("server: {mode: staging}"), "server.mode");
}

CAF_TEST(out of range values) {
  CAF_CHECK_EQUAL(key_of("server: {port: 0}"), "server.port");
  CAF_CHECK_EQUAL(key_of("server: {port: 70000}"), "server.port");
  CAF_CHECK_EQUAL(key_of("server: {io_threads: 65}"), "server.io_threads");
  CAF_CHECK_EQUAL(key_of("server: {io_threads: 0}"), "server.io_threads");
  CAF_CHECK_EQUAL(key_of("server: {body_limit: 100}"), "server.body_limit");
  CAF_CHECK_EQUAL(key_of("server: {body_limit: 32MiB}"), "server.body_limit");
  CAF_CHECK_EQUAL(key_of("server: {admin_port: 8080}"), "server.admin_port");
  CAF_CHECK_EQUAL(key_of("redis: {db: 16}"), "redis.db");
  CAF_CHECK_EQUAL(key_of("database: {max_open_conns: 5, max_idle_conns: 6}"),
                  "database.max_idle_conns");
  CAF_CHECK_EQUAL(key_of("trace: {hot_days: 30, archive_days: 7}"), "trace.archive_days");
  CAF_CHECK_EQUAL(key_of("trace: {hot_days: -1}"), "trace.hot_days");
  CAF_CHECK_EQUAL(key_of("trace: {readers: 0}"), "trace.readers");
  CAF_CHECK_EQUAL(key_of("trace: {readers: 33}"), "trace.readers");
  CAF_CHECK_EQUAL(key_of("trace: {archive_batch: 0}"), "trace.archive_batch");
  CAF_CHECK_EQUAL(key_of("trace: {archive_interval: 10ms}"), "trace.archive_interval");
  CAF_CHECK_EQUAL(key_of("clickhouse: {timeout: 0ms}"), "clickhouse.timeout");
  CAF_CHECK_EQUAL(key_of("risk: {rate_limit_per_minute: 0}"), "risk.rate_limit_per_minute");
  CAF_CHECK_EQUAL(key_of("risk: {rate_limit_per_minute: 99999999999999999999}"),
                  "risk.rate_limit_per_minute");
  CAF_CHECK_EQUAL(key_of(mock_supplier + "      error_rate: 1.5\n"),
                  "suppliers.sx.mock.error_rate");
  CAF_CHECK_EQUAL(key_of(mock_supplier + "      sold_out_rate: -0.1\n"),
                  "suppliers.sx.mock.sold_out_rate");
  CAF_CHECK_EQUAL(key_of(mock_supplier + "      price_drift: nan\n"),
                  "suppliers.sx.mock.price_drift");
  CAF_CHECK_EQUAL(key_of(mock_supplier + "      coverage_percent: 101\n"),
                  "suppliers.sx.mock.coverage_percent");
  CAF_CHECK_EQUAL(
      key_of(mock_supplier + "    breaker: {reset_timeout: 10s, max_reset_timeout: 5s}\n"),
      "suppliers.sx.breaker.max_reset_timeout");
  auto sizes = parse_config("server: {body_limit: 1MiB, header_limit: 16KiB}");
  REQUIRE_OK(sizes);
  CAF_CHECK_EQUAL(std::get<bedbank_config>(sizes).server.body_limit, 1048576);
  CAF_CHECK_EQUAL(std::get<bedbank_config>(sizes).server.header_limit, 16384);
}

CAF_TEST(currencies and exchange rates) {
  auto bad = error_of("pricing: {default_currency: XYZ}");
  CAF_CHECK_EQUAL(bad.key, "pricing.default_currency");
  CAF_CHECK(contains(bad.message, "XYZ"));
  CAF_CHECK_EQUAL(key_of("pricing: {default_currency: cny}"), "pricing.default_currency");
  auto result = parse_config(R"(
pricing:
  default_currency: USD
  fx_rates: {CNY: 7.2, JPY: "149.5", EUR: "0.921234", USD: 1}
)");
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK_EQUAL(cfg.pricing.fx_rates_ppm.at("CNY"), 7200000);
  CAF_CHECK_EQUAL(cfg.pricing.fx_rates_ppm.at("JPY"), 149500000);
  CAF_CHECK_EQUAL(cfg.pricing.fx_rates_ppm.at("EUR"), 921234);
  CAF_CHECK_EQUAL(cfg.pricing.fx_rates_ppm.at("USD"), 1000000);
  // Demo credit limits are 1,000,000.00 in the default currency.
  CAF_CHECK_EQUAL(cfg.agents.at(0).credit_limit_minor, 100000000);
  CAF_CHECK_EQUAL(key_of("pricing: {fx_rates: {XYZ: 1}}"), "pricing.fx_rates.XYZ");
  CAF_CHECK_EQUAL(key_of("pricing: {fx_rates: {USD: abc}}"), "pricing.fx_rates.USD");
  CAF_CHECK_EQUAL(key_of("pricing: {fx_rates: {USD: \"0.1234567\"}}"), "pricing.fx_rates.USD");
  CAF_CHECK_EQUAL(key_of("pricing: {fx_rates: {USD: 0}}"), "pricing.fx_rates.USD");
  CAF_CHECK_EQUAL(key_of("pricing: {fx_rates: {CNY: 2}}"), "pricing.fx_rates.CNY");
  CAF_CHECK_EQUAL(key_of("pricing: {fx_rates: [USD]}"), "pricing.fx_rates");
}

CAF_TEST(suppliers) {
  auto result = parse_config(R"(
pricing: {max_concurrent: 7}
suppliers:
  zeta:
    protocol: mock
    mock: {latency: {kind: uniform, min: 5ms, max: 9ms}, seed: 18446744073709551615}
  alpha_2:
    name: Alpha Two
    priority: -3
    max_concurrent: 2
    mock: {latency: {kind: lognormal, median: 80ms, sigma: 0.7}}
  live:
    protocol: hotelbeds
    endpoint: https://api.example.test
    enabled: false
)");
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_REQUIRE_EQUAL(cfg.suppliers.size(), 3u);
  CAF_CHECK_EQUAL(cfg.suppliers[0].code, "zeta");
  CAF_CHECK_EQUAL(cfg.suppliers[0].name, "zeta");
  CAF_CHECK_EQUAL(cfg.suppliers[0].max_concurrent, 7);
  CAF_CHECK_EQUAL(cfg.suppliers[0].mock->seed, 18446744073709551615ull);
  CAF_CHECK_EQUAL(cfg.suppliers[1].code, "alpha_2");
  CAF_CHECK_EQUAL(cfg.suppliers[1].name, "Alpha Two");
  CAF_CHECK_EQUAL(cfg.suppliers[1].priority, -3);
  CAF_CHECK_EQUAL(cfg.suppliers[1].max_concurrent, 2);
  CAF_CHECK_EQUAL(cfg.suppliers[1].mock->latency.sigma, 0.7);
  CAF_CHECK_EQUAL(cfg.suppliers[2].protocol, "hotelbeds");
  CAF_CHECK(!cfg.suppliers[2].mock.has_value());
  CAF_CHECK(!cfg.suppliers[2].enabled);
  CAF_CHECK_EQUAL(cfg.suppliers[2].breaker.max_failures, 5);
  // Bad shapes of suppliers.
  CAF_CHECK_EQUAL(key_of("suppliers: {Bad: {mock: {}}}"), "suppliers.Bad");
  CAF_CHECK_EQUAL(key_of("suppliers: {x: {mock: {}}}"), "suppliers.x");
  CAF_CHECK_EQUAL(key_of("suppliers: {sx: {protocol: mock}}"), "suppliers.sx.mock");
  CAF_CHECK_EQUAL(key_of("suppliers: {sx: {protocol: soap, mock: {}}}"), "suppliers.sx.protocol");
  CAF_CHECK_EQUAL(key_of("suppliers: {sx: {protocol: expedia}}"), "suppliers.sx.endpoint");
  CAF_CHECK_EQUAL(key_of("suppliers: {sx: {protocol: expedia, endpoint: ftp://x}}"),
                  "suppliers.sx.endpoint");
  CAF_CHECK_EQUAL(key_of(mock_supplier, {"suppliers.sx.mock.latency.kind=gaussian"}),
                  "suppliers.sx.mock.latency.kind");
  CAF_CHECK_EQUAL(key_of("suppliers: {sx: {mock: {latency: {kind: gaussian}}}}"),
                  "suppliers.sx.mock.latency.kind");
  auto min_max =
      error_of("suppliers: {sx: {mock: {latency: {kind: uniform, min: 200ms, max: 100ms}}}}");
  CAF_CHECK_EQUAL(min_max.key, "suppliers.sx.mock.latency.max");
  CAF_CHECK(contains(min_max.message, "200ms"));
  CAF_CHECK_EQUAL(key_of("suppliers: {sx: {mock: {error_rate: 0.6, timeout_rate: 0.6}}}"),
                  "suppliers.sx.mock.timeout_rate");
  CAF_CHECK_EQUAL(key_of("suppliers: {sx: {mock: {seed: -1}}}"), "suppliers.sx.mock.seed");
}

CAF_TEST(agents) {
  auto result = parse_config(R"(
agents:
  - id: acme
    name: ACME Travel
    api_key: acme-key
    rate_limit_per_minute: 120
    markup_bps: 600
    credit_limit: "500000.50"
  - id: demo-a
    api_key: my-own-demo-key
)");
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  // demo-a is configured, so only demo-b is added.
  CAF_REQUIRE_EQUAL(cfg.agents.size(), 3u);
  CAF_CHECK_EQUAL(cfg.agents[0].name, "ACME Travel");
  CAF_CHECK_EQUAL(cfg.agents[0].rate_limit_per_minute, 120);
  CAF_CHECK_EQUAL(cfg.agents[0].markup_bps, 600);
  CAF_CHECK_EQUAL(cfg.agents[0].credit_limit_minor, 50000050);
  CAF_CHECK_EQUAL(cfg.agents[1].id, "demo-a");
  CAF_CHECK_EQUAL(cfg.agents[1].api_key, "my-own-demo-key");
  CAF_CHECK_EQUAL(cfg.agents[1].name, "demo-a");
  CAF_CHECK_EQUAL(cfg.agents[1].markup_bps, -1);
  CAF_CHECK_EQUAL(cfg.agents[2].id, "demo-b");
  auto dup_key = error_of("agents:\n  - {id: a, api_key: same}\n  - {id: b, api_key: same}\n");
  CAF_CHECK_EQUAL(dup_key.key, "agents[1].api_key");
  CAF_CHECK(contains(dup_key.message, "agents[0]"));
  CAF_CHECK(!contains(dup_key.message, "same"));
  CAF_CHECK_EQUAL(key_of("agents:\n  - {id: a, api_key: k1}\n  - {id: a, api_key: k2}\n"),
                  "agents[1].id");
  CAF_CHECK_EQUAL(key_of("agents:\n  - {api_key: k1}\n"), "agents[0].id");
  CAF_CHECK_EQUAL(key_of("agents:\n  - {id: a}\n"), "agents[0].api_key");
  CAF_CHECK_EQUAL(key_of("agents:\n  - {id: 'a b', api_key: k}\n"), "agents[0].id");
  CAF_CHECK_EQUAL(key_of("agents:\n  - {id: a, api_key: k, credit_limit: \"1.234\"}\n"),
                  "agents[0].credit_limit");
  CAF_CHECK_EQUAL(key_of("agents:\n  - {id: a, api_key: k, credit_limit: \"-5\"}\n"),
                  "agents[0].credit_limit");
  CAF_CHECK_EQUAL(key_of("agents:\n  - {id: a, api_key: k, markup_bps: -2}\n"),
                  "agents[0].markup_bps");
}

CAF_TEST(production mode) {
  auto result = parse_config(production);
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK(!cfg.development());
  CAF_CHECK_EQUAL(cfg.server.admin_token, "a-long-enough-admin-token");
  CAF_REQUIRE_EQUAL(cfg.agents.size(), 1u);
  CAF_CHECK_EQUAL(cfg.agents[0].id, "acme");
  auto no_token = error_of("server: {mode: production}");
  CAF_CHECK_EQUAL(no_token.key, "server.admin_token");
  CAF_CHECK_EQUAL(no_token.to_string().rfind("config: server.admin_token: ", 0), 0u);
  CAF_CHECK_EQUAL(key_of(production, {"server.admin_token=short"}), "server.admin_token");
  CAF_CHECK_EQUAL(key_of(production, {"server.admin_token=demo-admin-token"}),
                  "server.admin_token");
  CAF_CHECK_EQUAL(key_of(production, {"agents[0].api_key=short-key"}), "agents[0].api_key");
}

CAF_TEST(files and syntax errors) {
  auto missing = load_config("/nonexistent/bedbank.yaml");
  CAF_REQUIRE(std::holds_alternative<config_error>(missing));
  CAF_CHECK_EQUAL(std::get<config_error>(missing).key, "");
  CAF_CHECK(contains(std::get<config_error>(missing).message, "/nonexistent/bedbank.yaml"));
  auto syntax = error_of("server:\n  port: [8080\n");
  CAF_CHECK_EQUAL(syntax.key, "");
  CAF_CHECK(contains(syntax.message, "line"));
  CAF_CHECK_EQUAL((config_error{"a.b", "bad"}.to_string()), "config: a.b: bad");
  CAF_CHECK_EQUAL((config_error{"", "bad"}.to_string()), "config: bad");
}

CAF_TEST(cluster section) {
  auto result = parse_config(R"(
cluster:
  port: 4001
  seeds: ["127.0.0.1:4002", "127.0.0.1:4003"]
)",
                             {"cluster.heartbeat_interval=500ms"});
  REQUIRE_OK(result);
  const auto& cfg = std::get<bedbank_config>(result);
  CAF_CHECK_EQUAL(cfg.cluster.port, 4001);
  CAF_REQUIRE_EQUAL(cfg.cluster.seeds.size(), 2u);
  CAF_CHECK_EQUAL(cfg.cluster.seeds[1], "127.0.0.1:4003");
  CAF_CHECK_EQUAL(cfg.cluster.heartbeat_interval.count(), 500);
  CAF_CHECK_EQUAL(cfg.cluster.bind, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.cluster.failure_timeout.count(), 3000);
  CAF_CHECK_EQUAL(cfg.cluster.vnodes, 64);
  auto from_string = parse_config("cluster: {port: 4001}",
                                  {"cluster.seeds=127.0.0.1:4002,127.0.0.1:4003",
                                   "cluster.bind=10.0.0.7", "cluster.failure_timeout=2s"});
  REQUIRE_OK(from_string);
  const auto& fs = std::get<bedbank_config>(from_string).cluster;
  CAF_CHECK_EQUAL(fs.seeds.size(), 2u);
  CAF_CHECK_EQUAL(fs.bind, "10.0.0.7");
  CAF_CHECK_EQUAL(fs.failure_timeout.count(), 2000);
  CAF_CHECK_EQUAL(key_of("cluster: {port: 4001, seeds: [nohost]}"), "cluster.seeds[0]");
  CAF_CHECK_EQUAL(key_of("cluster: {port: 8080}"), "cluster.port");
  CAF_CHECK_EQUAL(key_of("cluster: {seeds: ['127.0.0.1:4002']}"), "cluster.port");
  CAF_CHECK_EQUAL(key_of("cluster: {heartbeat_interval: 5s, connection_timeout: 5s}"),
                  "cluster.failure_timeout");
  CAF_CHECK_EQUAL(key_of("cluster: {heartbeat_interval: 1s, failure_timeout: 3s, "
                         "connection_timeout: 1s}"),
                  "cluster.connection_timeout");
  CAF_CHECK_EQUAL(key_of("cluster: {vnodes: 0}"), "cluster.vnodes");
  CAF_CHECK_EQUAL(key_of("cluster: {bind: ''}"), "cluster.bind");
  CAF_CHECK_EQUAL(key_of("cluster: {host: 127.0.0.1}"), "cluster.host");
}

CAF_TEST(scheduler choice) {
  auto result = parse_config("server: {scheduler: sharing}");
  REQUIRE_OK(result);
  CAF_CHECK_EQUAL(std::get<bedbank_config>(result).server.scheduler, "sharing");
  auto defaults = parse_config("");
  REQUIRE_OK(defaults);
  CAF_CHECK_EQUAL(std::get<bedbank_config>(defaults).server.scheduler, "stealing");
  CAF_CHECK_EQUAL(key_of("server: {scheduler: fifo}"), "server.scheduler");
}

CAF_TEST(supervision section) {
  auto result =
      parse_config("supervision: {max_restarts: 3, window: 10s}", {"supervision.backoff_min=50ms"});
  REQUIRE_OK(result);
  const auto& s = std::get<bedbank_config>(result).supervision;
  CAF_CHECK_EQUAL(s.max_restarts, 3);
  CAF_CHECK_EQUAL(s.window.count(), 10000);
  CAF_CHECK_EQUAL(s.backoff_min.count(), 50);
  CAF_CHECK_EQUAL(s.backoff_max.count(), 10000);
  CAF_CHECK_EQUAL(key_of("supervision: {max_restarts: -1}"), "supervision.max_restarts");
  CAF_CHECK_EQUAL(key_of("supervision: {backoff_min: 2s, backoff_max: 1s}"),
                  "supervision.backoff_max");
  CAF_CHECK_EQUAL(key_of("supervision: {intensity: 3}"), "supervision.intensity");
}
