// The admin API (port 9090): health, suppliers and their breakers, the
// cluster view, traces across agents, and /metrics.
#include <map>
#include <mutex>

#include <unistd.h>

#include <caf/actor_system.hpp>

#include "domain/dates.hpp"
#include "gateway/router.hpp"
#include "gateway/router_detail.hpp"

namespace bedbank::gateway {

using nlohmann::json;

namespace {

constexpr std::string_view admin_prefix = "/admin/";
constexpr std::string_view admin_traces_prefix = "/admin/traces/";
constexpr std::string_view archive_path = "/admin/traces/archive";
constexpr std::string_view suppliers_prefix = "/admin/suppliers/";
constexpr std::string_view circuit_suffix = "/circuit";
constexpr std::string_view nodes_prefix = "/admin/nodes/";
constexpr std::string_view drain_suffix = "/drain";
constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr double us_per_ms = 1000.0;

json encode_health(const dependency_health& d) {
  return json{{"name", d.name},
              {"ok", d.ok},
              {"latency_ms", static_cast<double>(d.latency_us) / us_per_ms},
              {"message", d.message}};
}

/// Gauge value of a breaker state: 0 closed, 1 half-open, 2 open.
int circuit_gauge(const std::string& state) {
  if (state == "open")
    return 2;
  if (state == "half_open")
    return 1;
  return 0;
}

void journal_series(std::string& out, const journal_stats& j) {
  auto counter = [&](const char* name, const char* help, uint64_t v, const char* type) {
    out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  counter("bedbank_journal_spans_accepted_total", "Spans taken into the journal buffer.",
          j.accepted, "counter");
  counter("bedbank_journal_spans_written_total", "Spans committed to PostgreSQL.", j.written,
          "counter");
  counter("bedbank_journal_spans_dropped_total", "Spans lost (buffer full or batch given up).",
          j.dropped, "counter");
  counter("bedbank_journal_batches_total", "Batches written.", j.batches, "counter");
  counter("bedbank_journal_failed_batches_total", "Batches that failed.", j.failed_batches,
          "counter");
  counter("bedbank_journal_spans_buffered", "Spans in memory, not yet written.", j.buffered,
          "gauge");
}

void supplier_series(std::string& out, const std::vector<supplier_stats>& all) {
  struct series {
    const char* name;
    const char* help;
    const char* type;
    std::function<std::string(const supplier_stats&)> value;
  };
  const std::vector<series> table{
      {"bedbank_supplier_calls_total", "Calls to the supplier.", "counter",
       [](const auto& s) { return std::to_string(s.calls); }},
      {"bedbank_supplier_errors_total", "Calls answered with an error.", "counter",
       [](const auto& s) { return std::to_string(s.errors); }},
      {"bedbank_supplier_timeouts_total", "Calls past their deadline.", "counter",
       [](const auto& s) { return std::to_string(s.timeouts); }},
      {"bedbank_supplier_rejected_total", "Calls failed fast (breaker open, bulkhead full).",
       "counter", [](const auto& s) { return std::to_string(s.rejected); }},
      {"bedbank_supplier_in_flight", "Calls in flight.", "gauge",
       [](const auto& s) { return std::to_string(s.in_flight); }},
      {"bedbank_supplier_circuit_state", "Breaker state: 0 closed, 1 half-open, 2 open.", "gauge",
       [](const auto& s) { return std::to_string(circuit_gauge(s.circuit)); }},
  };
  for (const auto& t : table) {
    out +=
        std::string{"# HELP "} + t.name + " " + t.help + "\n# TYPE " + t.name + " " + t.type + "\n";
    for (const auto& s : all)
      out += std::string{t.name} + "{supplier=\"" + prometheus_label(s.code) + "\"} " + t.value(s) +
             "\n";
  }
  out += "# HELP bedbank_supplier_latency_ms Supplier call latency percentiles.\n"
         "# TYPE bedbank_supplier_latency_ms gauge\n";
  for (const auto& s : all)
    for (auto [q, v] : {std::pair{"0.5", s.p50_ms}, {"0.95", s.p95_ms}, {"0.99", s.p99_ms}})
      out += "bedbank_supplier_latency_ms{supplier=\"" + prometheus_label(s.code) +
             "\",quantile=\"" + q + "\"} " + std::to_string(v) + "\n";
}

} // namespace

void router::route_admin(const std::shared_ptr<exchange>& x) {
  const auto& path = x->path;
  const auto& method = x->req.method;
  if (path == "/metrics") {
    x->rt = route::metrics;
    if (method != "GET")
      return method_not_allowed(*x, "GET");
    return prometheus(x);
  }
  if (path.compare(0, admin_prefix.size(), admin_prefix) != 0) {
    fail(*x, ec::not_found, "no such endpoint: " + path);
    return;
  }
  const auto& token = ctx_.cfg->server.admin_token;
  auto given = bearer_token(x->req.authorization);
  if (token.empty() || given.empty() || !constant_time_equal(given, token)) {
    fail(*x, ec::unauthorized, "missing or wrong admin token (Authorization: Bearer <token>)");
    return;
  }
  if (path == "/admin/health") {
    x->rt = route::admin_health;
    if (method != "GET")
      return method_not_allowed(*x, "GET");
    return health(x);
  }
  if (path == "/admin/suppliers") {
    x->rt = route::admin_suppliers;
    if (method != "GET")
      return method_not_allowed(*x, "GET");
    return suppliers(x);
  }
  if (path.compare(0, suppliers_prefix.size(), suppliers_prefix) == 0 &&
      path.size() > suppliers_prefix.size() + circuit_suffix.size() &&
      path.compare(path.size() - circuit_suffix.size(), circuit_suffix.size(), circuit_suffix) ==
          0) {
    x->rt = route::admin_circuit;
    auto code = path.substr(suppliers_prefix.size(),
                            path.size() - suppliers_prefix.size() - circuit_suffix.size());
    if (code.find('/') != std::string::npos) {
      fail(*x, ec::not_found, "no such endpoint: " + path);
      return;
    }
    if (method != "POST")
      return method_not_allowed(*x, "POST");
    return circuit(x, code);
  }
  if (path == "/admin/cluster") {
    x->rt = route::admin_cluster;
    if (method != "GET")
      return method_not_allowed(*x, "GET");
    return cluster(x);
  }
  if (path.compare(0, nodes_prefix.size(), nodes_prefix) == 0 &&
      path.size() > nodes_prefix.size() + drain_suffix.size() &&
      path.compare(path.size() - drain_suffix.size(), drain_suffix.size(), drain_suffix) == 0) {
    x->rt = route::admin_nodes;
    auto node =
        path.substr(nodes_prefix.size(), path.size() - nodes_prefix.size() - drain_suffix.size());
    if (node.find('/') != std::string::npos) {
      fail(*x, ec::not_found, "no such endpoint: " + path);
      return;
    }
    if (method != "POST")
      return method_not_allowed(*x, "POST");
    return drain(x, node);
  }
  if (path == archive_path) {
    x->rt = route::admin_traces;
    if (method != "POST")
      return method_not_allowed(*x, "POST");
    return archive_now(x);
  }
  if (path.compare(0, admin_traces_prefix.size(), admin_traces_prefix) == 0) {
    x->rt = route::admin_traces;
    if (method != "GET")
      return method_not_allowed(*x, "GET");
    return traces(x, std::string_view{path}.substr(admin_traces_prefix.size()), std::string{});
  }
  if (path == "/admin/orders") {
    x->rt = route::admin_orders;
    if (method != "GET")
      return method_not_allowed(*x, "GET");
    return list_orders(x, std::string{});
  }
  fail(*x, ec::not_found, "no such endpoint: " + path);
}

void router::health(const std::shared_ptr<exchange>& x) {
  // Three probes answer from different threads; the last one answers the request.
  struct gather {
    std::mutex mtx;
    int pending = 0;
    dependency_health postgres{"postgresql", false, 0, "trace reader not running"};
    dependency_health redis{"redis", false, 0, "price cache not running"};
    std::optional<dependency_health> clickhouse;
  };
  auto g = std::make_shared<gather>();
  auto node = ctx_.node_id;
  auto done = [x, g, node] {
    std::lock_guard guard{g->mtx};
    if (--g->pending > 0)
      return;
    json deps = json::array({encode_health(g->postgres), encode_health(g->redis)});
    bool all_ok = g->postgres.ok && g->redis.ok;
    if (g->clickhouse) {
      deps.push_back(encode_health(*g->clickhouse));
      all_ok = all_ok && g->clickhouse->ok;
    }
    answer(*x, g->postgres.ok ? 200 : 503,
           json{{"status", all_ok ? "ok" : "degraded"},
                {"node", node},
                {"checked_at", domain::format_instant_us(domain::now_us())},
                {"dependencies", std::move(deps)}});
  };
  auto traces = ctx_.actors ? ctx_.actors->traces(0, 1) : trace_reader_actor{};
  auto cache = ctx_.actors ? ctx_.actors->cache() : price_cache_actor{};
  bool ch = ctx_.cfg->clickhouse.enabled && static_cast<bool>(clickhouse_ping_);
  g->pending = 1 + (traces ? 1 : 0) + (cache ? 1 : 0) + (ch ? 1 : 0);
  auto failed = [](const char* name, const caf::error& e) {
    auto m = message_of(e);
    return dependency_health{name, false, 0, m.empty() ? "no answer in time" : m};
  };
  if (traces)
    ask(
        *ctx_.sys, traces, admin_timeout,
        [g, done](dependency_health& h) {
          {
            std::lock_guard guard{g->mtx};
            g->postgres = h;
          }
          done();
        },
        [g, done, failed](const caf::error& e) {
          {
            std::lock_guard guard{g->mtx};
            g->postgres = failed("postgresql", e);
          }
          done();
        },
        health_atom::value);
  if (cache)
    ask(
        *ctx_.sys, cache, admin_timeout,
        [g, done](dependency_health& h) {
          {
            std::lock_guard guard{g->mtx};
            g->redis = h;
          }
          done();
        },
        [g, done, failed](const caf::error& e) {
          {
            std::lock_guard guard{g->mtx};
            g->redis = failed("redis", e);
          }
          done();
        },
        health_atom::value);
  if (ch)
    clickhouse_ping_([g, done](ping_result r) {
      {
        std::lock_guard guard{g->mtx};
        g->clickhouse = dependency_health{"clickhouse", r.ok, r.latency_us, r.message};
      }
      done();
    });
  done(); // the request's own share
}

void router::prometheus(const std::shared_ptr<exchange>& x) {
  struct gather {
    std::mutex mtx;
    int pending = 1;
    std::optional<journal_stats> journal;
    std::optional<std::vector<supplier_stats>> suppliers;
    std::vector<member_info> members;
    std::map<std::string, node_status> nodes;
  };
  auto g = std::make_shared<gather>();
  auto m = metrics_;
  auto done = [x, g, m] {
    std::lock_guard guard{g->mtx};
    if (--g->pending > 0)
      return;
    std::string text = m->render();
    if (g->journal)
      journal_series(text, *g->journal);
    if (g->suppliers)
      supplier_series(text, *g->suppliers);
    cluster_series(text, g->members, g->nodes);
    http_response res;
    res.content_type = std::string{prometheus_content_type};
    res.body = std::move(text);
    x->owner->finish(*x, std::move(res));
  };
  auto journal = ctx_.actors ? ctx_.actors->journal() : journal_actor{};
  auto engine = ctx_.actors ? ctx_.actors->engine() : query_engine_actor{};
  g->pending += (journal ? 1 : 0) + (engine ? 1 : 0) + 1;
  gather_status([g, done](std::vector<member_info> members,
                          std::map<std::string, node_status>& answers,
                          std::map<std::string, std::string>&) {
    {
      std::lock_guard guard{g->mtx};
      g->members = std::move(members);
      g->nodes = std::move(answers);
    }
    done();
  });
  if (journal)
    ask(
        *ctx_.sys, journal, admin_timeout,
        [g, done](journal_stats& s) {
          {
            std::lock_guard guard{g->mtx};
            g->journal = s;
          }
          done();
        },
        [done](const caf::error&) { done(); }, stats_atom::value);
  if (engine)
    ask(
        *ctx_.sys, engine, admin_timeout,
        [g, done](std::vector<supplier_stats>& s) {
          {
            std::lock_guard guard{g->mtx};
            g->suppliers = std::move(s);
          }
          done();
        },
        [done](const caf::error&) { done(); }, stats_atom::value);
  done();
}

} // namespace bedbank::gateway
