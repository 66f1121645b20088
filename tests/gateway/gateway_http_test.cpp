// A real gateway server on ephemeral loopback ports with stub actors (query
// engine, journal, trace reader), driven by a synchronous Beast client.
#define CAF_SUITE gateway_http
#include <caf/test/unit_test_impl.hpp>

#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <caf/io/middleman.hpp>

#include "cluster/cluster.hpp"
#include "domain/dates.hpp"
#include "gateway/server.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

using namespace bedbank;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

constexpr const char* admin_token = "admin-secret";
constexpr const char* key_a = "key-a";
constexpr const char* key_limited = "key-limited";
constexpr int64_t body_limit = 2048;
constexpr const char* incoming_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* incoming_parent = "00f067aa0ba902b7";

/// What the stubs saw.
struct stub_state {
  std::mutex mtx;
  std::vector<span_record> spans;
  std::vector<search_request> searches;
};

query_engine_actor::behavior_type stub_engine(query_engine_actor::pointer,
                                              std::shared_ptr<stub_state> st) {
  return {
      [st](search_atom, search_request& req) -> search_result {
        {
          std::lock_guard guard{st->mtx};
          st->searches.push_back(req);
        }
        search_result r;
        r.search_id = "search-1";
        merged_hotel h{"H-SHA-0001", "Alpha", 90000, {}};
        supplier_rate rate;
        rate.supplier = "hotelbeds";
        rate.hotel_code = "HB-1";
        rate.room_code = "DBL";
        rate.room_name = "Double";
        rate.board = "RO";
        rate.net_minor = 90000;
        rate.currency = "CNY";
        h.rates.push_back(rate);
        r.hotels.push_back(h);
        r.suppliers.push_back({"hotelbeds", "ok", 12000, 1, ""});
        return r;
      },
      [](stats_atom) -> std::vector<supplier_stats> {
        supplier_stats s;
        s.code = "hotelbeds";
        s.circuit = "open";
        s.calls = 7;
        s.p99_ms = 12.5;
        return {s};
      },
      [](circuit_atom, const std::string& code, const std::string& state) -> supplier_stats {
        supplier_stats s;
        s.code = code;
        s.mode = state == "auto" ? "auto" : "forced_" + state;
        return s;
      },
  };
}

journal_actor::behavior_type stub_journal(journal_actor::pointer, std::shared_ptr<stub_state> st) {
  return {
      [st](span_atom, span_record& s) {
        std::lock_guard guard{st->mtx};
        st->spans.push_back(s);
      },
      [st](span_atom, std::vector<span_record>& v) {
        std::lock_guard guard{st->mtx};
        st->spans.insert(st->spans.end(), v.begin(), v.end());
      },
      [](flush_atom) -> journal_stats { return {}; },
      [st](stats_atom) -> journal_stats {
        std::lock_guard guard{st->mtx};
        journal_stats j;
        j.accepted = st->spans.size();
        j.dropped = 0;
        return j;
      },
      [](tick_atom, uint64_t) {},
  };
}

trace_reader_actor::behavior_type stub_traces(trace_reader_actor::pointer,
                                              std::shared_ptr<stub_state> st) {
  return {
      [st](get_atom, const trace_report_query& q) -> caf::result<trace_report> {
        std::lock_guard guard{st->mtx};
        trace_report r;
        r.kind = q.kind;
        r.subject = q.subject;
        trace_group g;
        g.trace_id = q.subject;
        for (const auto& s : st->spans)
          if (q.kind == "trace" && s.trace_id == q.subject &&
              (q.agent_id.empty() || s.agent_id == q.agent_id))
            g.spans.push_back(s);
        if (g.spans.empty())
          return make_error(ec::not_found, "no trace " + q.subject);
        g.hot_spans = static_cast<int64_t>(g.spans.size());
        r.traces.push_back(std::move(g));
        return r;
      },
      [](health_atom) -> dependency_health {
        return {"postgresql", true, 100, ""};
      },
  };
}

/// A synchronous HTTP/1.1 client on one connection.
struct client {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;

  explicit client(uint16_t port) {
    stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  }

  http::response<http::string_body>
  send(http::verb method, const std::string& target, const std::string& body = {},
       std::vector<std::pair<std::string, std::string>> headers = {},
       const std::string& content_type = "application/json") {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (auto& [k, v] : headers)
      req.set(k, v);
    if (!body.empty()) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res;
  }
};

std::pair<std::string, std::string> bearer(const std::string& key) {
  return {"Authorization", "Bearer " + key};
}

const std::string search_body = json{{"city", "SHA"},
                                     {"check_in", domain::format_date(domain::today_utc() + 10)},
                                     {"check_out", domain::format_date(domain::today_utc() + 12)},
                                     {"rooms", json::array({{{"adults", 2}}})}}
                                    .dump();

std::string field_of(const http::response<http::string_body>& res) {
  auto j = json::parse(res.body(), nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].contains("field"))
    return "<none>";
  return j["error"]["field"].get<std::string>();
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<stub_state> st = std::make_shared<stub_state>();
  query_engine_actor engine;
  journal_actor journal;
  trace_reader_actor traces;
  node_manager_actor manager;
  std::unique_ptr<gateway::server> srv;

  fixture() {
    register_types(cfg);
    cfg.load<caf::io::middleman>();
    sys = std::make_unique<caf::actor_system>(cfg);
    engine = sys->spawn(stub_engine, st);
    journal = sys->spawn(stub_journal, st);
    traces = sys->spawn(stub_traces, st);
    auto dir = std::make_shared<directory>();
    dir->put(directory::engine_name, caf::actor_cast<caf::strong_actor_ptr>(engine));
    dir->put(directory::journal_name, caf::actor_cast<caf::strong_actor_ptr>(journal));
    // The router spreads reports over trace.readers readers (2 by default): one stub for all.
    for (int i = 0; i < config::trace_config{}.readers; ++i)
      dir->put(directory::trace_reader_name(i), caf::actor_cast<caf::strong_actor_ptr>(traces));
    auto c = std::make_shared<config::bedbank_config>();
    c->server.port = 0;
    c->server.admin_port = 0;
    c->server.io_threads = 2;
    c->server.body_limit = body_limit;
    c->server.read_timeout = std::chrono::milliseconds{3000};
    c->server.admin_token = admin_token;
    c->clickhouse.enabled = false;
    c->risk.rate_limit_per_minute = 1000;
    c->pricing.default_markup_bps = 1000;
    config::supplier_config hb;
    hb.code = "hotelbeds";
    c->suppliers.push_back(hb);
    config::agent_config a;
    a.id = "agent-a";
    a.api_key = key_a;
    c->agents.push_back(a);
    config::agent_config lim;
    lim.id = "agent-limited";
    lim.api_key = key_limited;
    lim.rate_limit_per_minute = 3;
    c->agents.push_back(lim);
    // A node alone: its view and its node manager (cluster.port 0: not published).
    auto env = std::make_shared<node_env>();
    env->cfg = c;
    env->actors = dir;
    env->node_id = "node-test";
    env->counters = std::make_shared<actor_counters>();
    std::vector<std::string> roles{"engine", "gateway", "journal"};
    auto view = std::make_shared<cluster::view>("node-test", roles, dir, env->counters, 64,
                                                std::chrono::milliseconds{3000});
    env->place = view;
    c->server.node_id = "node-test";
    manager = cluster::spawn_node_manager(*sys, env, view, cluster::describe_self(*c, roles, 1));
    CAF_REQUIRE(cluster::publish_manager(*sys, manager, c->cluster));
    // The manager publishes itself into the view as it starts.
    for (int i = 0; i < 500 && !view->manager_of("node-test"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    gateway::node_context ctx;
    ctx.sys = sys.get();
    ctx.cfg = c;
    ctx.catalog = std::make_shared<domain::catalog>(domain::demo_hotels(5),
                                                    std::vector<std::string>{"hotelbeds"});
    ctx.actors = dir;
    ctx.place = view;
    ctx.node_id = "node-test";
    ctx.started_us = 1;
    srv = std::make_unique<gateway::server>(ctx);
    srv->start();
  }

  ~fixture() {
    srv->stop();
    srv.reset();
    caf::anon_send_exit(engine, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(traces, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  }

  uint16_t agent_port() const { return srv->agent_port(); }
  uint16_t admin_port() const { return srv->admin_port(); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(gateway_http_tests, fixture)

CAF_TEST(ports are bound) {
  CAF_CHECK_NOT_EQUAL(agent_port(), 0);
  CAF_CHECK_NOT_EQUAL(admin_port(), 0);
}

CAF_TEST(unauthorized without a key) {
  client c{agent_port()};
  auto res = c.send(http::verb::post, "/api/search", search_body);
  CAF_CHECK_EQUAL(res.result_int(), 401u);
  auto j = json::parse(res.body());
  CAF_CHECK_EQUAL(j["error"]["code"].get<std::string>(), "unauthorized");
  CAF_CHECK_EQUAL(j["error"]["trace_id"].get<std::string>(), std::string{res["X-Trace-Id"]});
  res = c.send(http::verb::post, "/api/search", search_body, {bearer("wrong")});
  CAF_CHECK_EQUAL(res.result_int(), 401u);
}

CAF_TEST(search answers with trace and rate limit headers) {
  client c{agent_port()};
  auto res = c.send(http::verb::post, "/api/search", search_body, {bearer(key_a)});
  if (res.result_int() != 200)
    CAF_FAIL("search answered " << res.result_int() << ": " << res.body());
  std::string trace{res["X-Trace-Id"]};
  CAF_CHECK_EQUAL(trace.size(), 32u);
  std::string tp{res["traceparent"]};
  CAF_CHECK_EQUAL(tp.substr(0, 36), "00-" + trace + "-");
  CAF_CHECK_EQUAL(tp.size(), 55u);
  CAF_CHECK_EQUAL(std::string{res["X-RateLimit-Limit"]}, "1000");
  CAF_CHECK_EQUAL(std::string{res["X-RateLimit-Remaining"]}, "999");
  CAF_CHECK(!std::string{res["X-RateLimit-Reset"]}.empty());
  auto j = json::parse(res.body());
  CAF_CHECK_EQUAL(j["trace_id"].get<std::string>(), trace);
  CAF_CHECK_EQUAL(j["cache"].get<std::string>(), "miss");
  // 900.00 net + 10% default markup.
  CAF_CHECK_EQUAL(j["results"][0]["cheapest"]["amount"].get<std::string>(), "990.00");
  CAF_CHECK_EQUAL(j["results"][0]["rates"][0]["net"]["amount"].get<std::string>(), "900.00");
  std::lock_guard guard{st->mtx};
  CAF_REQUIRE_EQUAL(st->searches.size(), 1u);
  CAF_CHECK_EQUAL(st->searches[0].trace.trace_id, trace);
  CAF_CHECK_EQUAL(st->searches[0].trace.agent_id, "agent-a");
  CAF_CHECK_EQUAL(st->searches[0].query.currency, "CNY");
}

CAF_TEST(traceparent is continued and spans are recorded) {
  client c{agent_port()};
  std::string incoming = std::string{"00-"} + incoming_trace + "-" + incoming_parent + "-01";
  auto res = c.send(http::verb::post, "/api/search", search_body,
                    {bearer(key_a), {"traceparent", incoming}});
  CAF_REQUIRE_EQUAL(res.result_int(), 200u);
  CAF_CHECK_EQUAL(std::string{res["X-Trace-Id"]}, incoming_trace);
  std::string tp{res["traceparent"]};
  CAF_CHECK_EQUAL(tp.substr(0, 36), std::string{"00-"} + incoming_trace + "-");
  CAF_CHECK_NOT_EQUAL(tp.substr(36, 16), incoming_parent);
  // An invalid traceparent is ignored: a new trace.
  res = c.send(http::verb::get, "/api/hotels", {},
               {bearer(key_a), {"traceparent", "00-zz-00f067aa0ba902b7-01"}});
  CAF_CHECK_EQUAL(res.result_int(), 200u);
  CAF_CHECK_NOT_EQUAL(std::string{res["X-Trace-Id"]}, incoming_trace);
  // The gateway span reaches the journal with the incoming parent, and the
  // trace endpoint reads it back as a tree.
  http::response<http::string_body> tr;
  for (int i = 0; i < 100; ++i) {
    tr = c.send(http::verb::get, std::string{"/api/traces/"} + incoming_trace, {}, {bearer(key_a)});
    if (tr.result_int() == 200)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  CAF_REQUIRE_EQUAL(tr.result_int(), 200u);
  auto j = json::parse(tr.body());
  CAF_CHECK_EQUAL(j["span_count"].get<int>(), 1);
  auto& span = j["spans"][0];
  CAF_CHECK_EQUAL(span["parent_span_id"].get<std::string>(), incoming_parent);
  CAF_CHECK_EQUAL(span["service"].get<std::string>(), "api_gateway");
  CAF_CHECK_EQUAL(span["event_type"].get<std::string>(), "http_request");
  CAF_CHECK_EQUAL(span["node"].get<std::string>(), "node-test");
  CAF_CHECK_EQUAL(span["request_data"]["body"]["city"].get<std::string>(), "SHA");
  CAF_CHECK_EQUAL(span["response_data"]["status"].get<int>(), 200);
  CAF_CHECK(tr.body().find(key_a) == std::string::npos); // no secrets in spans
  // Another agent never sees it; a malformed id is a 400.
  auto other = c.send(http::verb::get, std::string{"/api/traces/"} + incoming_trace, {},
                      {bearer(key_limited)});
  CAF_CHECK_EQUAL(other.result_int(), 404u);
  auto bad = c.send(http::verb::get, "/api/traces/XYZ", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(bad.result_int(), 400u);
  CAF_CHECK_EQUAL(field_of(bad), "trace_id");
  // Admin sees it across agents.
  client admin{admin_port()};
  auto at = admin.send(http::verb::get, std::string{"/admin/traces/"} + incoming_trace, {},
                       {bearer(admin_token)});
  CAF_CHECK_EQUAL(at.result_int(), 200u);
}

CAF_TEST(bad input is a 4xx naming the field) {
  client c{agent_port()};
  auto body = json::parse(search_body);
  body["rooms"][0]["adults"] = 9;
  auto res = c.send(http::verb::post, "/api/search", body.dump(), {bearer(key_a)});
  CAF_CHECK_EQUAL(res.result_int(), 400u);
  CAF_CHECK_EQUAL(field_of(res), "rooms[0].adults");
  res = c.send(http::verb::post, "/api/search", "{not json", {bearer(key_a)});
  CAF_CHECK_EQUAL(res.result_int(), 400u);
  CAF_CHECK_EQUAL(json::parse(res.body())["error"]["code"].get<std::string>(), "invalid_request");
  res = c.send(http::verb::post, "/api/search", search_body, {bearer(key_a)}, "text/plain");
  CAF_CHECK_EQUAL(res.result_int(), 415u);
  res = c.send(http::verb::get, "/api/search", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(res.result_int(), 405u);
  CAF_CHECK_EQUAL(std::string{res["Allow"]}, "POST");
  res = c.send(http::verb::get, "/api/hotels?limit=0", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(res.result_int(), 400u);
  CAF_CHECK_EQUAL(field_of(res), "limit");
  res = c.send(http::verb::get, "/api/nothing", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(res.result_int(), 404u);
  res = c.send(http::verb::get, "/nothing", {}, {});
  CAF_CHECK_EQUAL(res.result_int(), 404u);
  CAF_CHECK(!std::string{res["X-Trace-Id"]}.empty());
}

CAF_TEST(body too large is a 413) {
  client c{agent_port()};
  std::string big = "{\"city\": \"" + std::string(body_limit * 2, 'A') + "\"}";
  auto res = c.send(http::verb::post, "/api/search", big, {bearer(key_a)});
  CAF_CHECK_EQUAL(res.result_int(), 413u);
  CAF_CHECK_EQUAL(json::parse(res.body())["error"]["code"].get<std::string>(), "payload_too_large");
}

CAF_TEST(hotels are paged with a cursor) {
  client c{agent_port()};
  auto res = c.send(http::verb::get, "/api/hotels?city=SHA&limit=3", {}, {bearer(key_a)});
  CAF_REQUIRE_EQUAL(res.result_int(), 200u);
  auto j = json::parse(res.body());
  CAF_CHECK_EQUAL(j["hotels"].size(), 3u);
  CAF_CHECK_EQUAL(j["hotels"][0]["city"].get<std::string>(), "SHA");
  CAF_REQUIRE(j["next_cursor"].is_string());
  res = c.send(http::verb::get,
               "/api/hotels?city=SHA&limit=3&cursor=" + j["next_cursor"].get<std::string>(), {},
               {bearer(key_a)});
  auto j2 = json::parse(res.body());
  CAF_CHECK_EQUAL(j2["hotels"].size(), 2u); // 5 hotels per city
  CAF_CHECK(j2["next_cursor"].is_null());
  res = c.send(http::verb::get, "/api/hotels?city=NOPE", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(json::parse(res.body())["hotels"].size(), 0u);
  res = c.send(http::verb::get, "/api/hotels?cursor=@@", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(field_of(res), "cursor");
}

CAF_TEST(rate limit answers 429 past the limit) {
  // Stay inside one wall-clock minute window.
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  if (ms % 60000 > 57000)
    std::this_thread::sleep_for(std::chrono::milliseconds{60000 - ms % 60000 + 100});
  client c{agent_port()};
  for (int i = 0; i < 3; ++i) {
    auto res = c.send(http::verb::get, "/api/hotels", {}, {bearer(key_limited)});
    CAF_CHECK_EQUAL(res.result_int(), 200u);
    CAF_CHECK_EQUAL(std::string{res["X-RateLimit-Remaining"]}, std::to_string(2 - i));
  }
  auto res = c.send(http::verb::get, "/api/hotels", {}, {bearer(key_limited)});
  CAF_CHECK_EQUAL(res.result_int(), 429u);
  CAF_CHECK(!std::string{res["Retry-After"]}.empty());
  CAF_CHECK_EQUAL(std::string{res["X-RateLimit-Limit"]}, "3");
  CAF_CHECK_EQUAL(json::parse(res.body())["error"]["code"].get<std::string>(), "rate_limited");
}

CAF_TEST(admin needs the token) {
  client c{admin_port()};
  auto res = c.send(http::verb::get, "/admin/health");
  CAF_CHECK_EQUAL(res.result_int(), 401u);
  res = c.send(http::verb::get, "/admin/health", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(res.result_int(), 401u);
  res = c.send(http::verb::get, "/admin/health", {}, {bearer(admin_token)});
  CAF_CHECK_EQUAL(res.result_int(), 200u);
  auto j = json::parse(res.body());
  CAF_CHECK_EQUAL(j["node"].get<std::string>(), "node-test");
  CAF_CHECK_EQUAL(j["status"].get<std::string>(), "degraded"); // no price cache actor
  res = c.send(http::verb::get, "/admin/suppliers", {}, {bearer(admin_token)});
  CAF_CHECK_EQUAL(res.result_int(), 200u);
  j = json::parse(res.body());
  CAF_CHECK_EQUAL(j["suppliers"][0]["latency_ms"]["p99"].get<double>(), 12.5);
  res = c.send(http::verb::post, "/admin/suppliers/hotelbeds/circuit", R"({"state": "open"})",
               {bearer(admin_token)});
  CAF_CHECK_EQUAL(res.result_int(), 200u);
  CAF_CHECK_EQUAL(json::parse(res.body())["mode"].get<std::string>(), "forced_open");
  res = c.send(http::verb::post, "/admin/suppliers/hotelbeds/circuit", R"({"state": "ajar"})",
               {bearer(admin_token)});
  CAF_CHECK_EQUAL(res.result_int(), 400u);
  CAF_CHECK_EQUAL(field_of(res), "state");
  res = c.send(http::verb::post, "/admin/suppliers/nobody/circuit", R"({"state": "open"})",
               {bearer(admin_token)});
  CAF_CHECK_EQUAL(res.result_int(), 404u);
  res = c.send(http::verb::get, "/admin/cluster", {}, {bearer(admin_token)});
  CAF_CHECK_EQUAL(res.result_int(), 200u);
  j = json::parse(res.body());
  CAF_CHECK_EQUAL(j["nodes"][0]["actors"]["query_engine"].get<int>(), 1);
  CAF_CHECK_EQUAL(j["nodes"][0]["state"].get<std::string>(), "up");
}

CAF_TEST(metrics are served without a token) {
  {
    client c{agent_port()};
    c.send(http::verb::get, "/api/hotels", {}, {bearer(key_a)});
  }
  client c{admin_port()};
  auto res = c.send(http::verb::get, "/metrics");
  CAF_REQUIRE_EQUAL(res.result_int(), 200u);
  const auto& text = res.body();
  CAF_CHECK(std::string{res[http::field::content_type]}.find("text/plain") == 0);
  CAF_CHECK(text.find("bedbank_http_requests_total{route=\"/api/hotels\",status=\"200\"} 1") !=
            std::string::npos);
  CAF_CHECK(text.find("bedbank_http_request_duration_seconds_bucket{route=\"/api/hotels\"") !=
            std::string::npos);
  CAF_CHECK(text.find("bedbank_http_requests_in_flight") != std::string::npos);
  CAF_CHECK(text.find("bedbank_http_rate_limited_total 0") != std::string::npos);
  CAF_CHECK(text.find("bedbank_journal_spans_dropped_total 0") != std::string::npos);
  CAF_CHECK(text.find("bedbank_supplier_calls_total{supplier=\"hotelbeds\"} 7") !=
            std::string::npos);
  CAF_CHECK(text.find("bedbank_supplier_circuit_state{supplier=\"hotelbeds\"} 2") !=
            std::string::npos);
  // The cluster's series: this node alone, up, with its actors.
  CAF_CHECK(text.find("bedbank_cluster_nodes{state=\"up\"} 1") != std::string::npos);
  CAF_CHECK(text.find("bedbank_node_actors{node=\"node-test\",kind=\"query_engine\"} 1") !=
            std::string::npos);
  CAF_CHECK(text.find("bedbank_node_mailbox_backlog{node=\"node-test\",actor=\"node_manager\"}") !=
            std::string::npos);
  CAF_CHECK(text.find("bedbank_actor_crashes_total{node=\"node-test\"} 0") != std::string::npos);
}

CAF_TEST(keep alive serves two requests on one connection) {
  client c{agent_port()};
  auto r1 = c.send(http::verb::get, "/api/hotels?limit=1", {}, {bearer(key_a)});
  CAF_CHECK_EQUAL(r1.result_int(), 200u);
  CAF_CHECK(r1.keep_alive());
  auto r2 = c.send(http::verb::post, "/api/search", search_body, {bearer(key_a)});
  CAF_CHECK_EQUAL(r2.result_int(), 200u);
  CAF_CHECK_NOT_EQUAL(std::string{r1["X-Trace-Id"]}, std::string{r2["X-Trace-Id"]});
}

CAF_TEST_FIXTURE_SCOPE_END()
