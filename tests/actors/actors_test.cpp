// Deterministic tests of the supplier connection (breaker on virtual time,
// bulkhead), the mock supplier and the search actor's fan-out.
#define CAF_SUITE actors
#include <caf/test/unit_test_impl.hpp>

#include <caf/test/dsl.hpp>

#include <deque>

#include "actors/factories.hpp"
#include "domain/rate_generator.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

using namespace bedbank;
using namespace std::chrono_literals;

namespace {

struct test_config : caf::actor_system_config {
  test_config() { register_types(*this); }
};

/// A scripted adapter: each search_rates call takes the next outcome
/// ("ok", "error" or "silent"); an empty script means "ok".
struct script {
  std::deque<std::string> outcomes;
  int calls = 0;
};

supplier_actor::behavior_type scripted_adapter(supplier_actor::pointer self,
                                               std::shared_ptr<script> sc, std::string code) {
  return {
      [=](search_hotels_atom, const hotels_request&) { return hotels_reply{}; },
      [=](search_rates_atom, const rates_request& req) -> caf::result<rates_reply> {
        ++sc->calls;
        std::string what = "ok";
        if (!sc->outcomes.empty()) {
          what = sc->outcomes.front();
          sc->outcomes.pop_front();
        }
        if (what == "error")
          return make_error(ec::supplier_error, "HTTP 500 from " + code);
        if (what == "silent")
          return self->make_response_promise<rates_reply>(); // never delivered
        rates_reply r;
        for (const auto& h : req.hotel_codes)
          r.rates.push_back(supplier_rate{code,
                                          h,
                                          "STD",
                                          "Standard Room",
                                          "RO",
                                          10000 + static_cast<int64_t>(h.size()) * 100,
                                          "CNY",
                                          true,
                                          true,
                                          {}});
        return r;
      },
      [=](create_booking_atom, const booking_request&) -> caf::result<booking_detail> {
        return make_error(ec::unsupported, "");
      },
      [=](cancel_booking_atom, const cancel_request&) -> caf::result<booking_detail> {
        return make_error(ec::unsupported, "");
      },
      [=](get_booking_atom, const booking_query&) -> caf::result<booking_detail> {
        return make_error(ec::unsupported, "");
      },
      [=](check_avail_atom, const avail_request&) -> caf::result<avail_reply> {
        return make_error(ec::unsupported, "");
      },
      [=](health_atom) { return true; },
  };
}

config::supplier_config supplier(const std::string& code, int max_failures = 2) {
  config::supplier_config s;
  s.code = code;
  s.name = code;
  s.max_concurrent = 4;
  s.breaker.max_failures = max_failures;
  s.breaker.reset_timeout = 1000ms;
  s.breaker.max_reset_timeout = 4000ms;
  config::mock_profile m;
  m.latency.shape = config::latency_profile::kind::fixed;
  m.latency.fixed = 50ms;
  m.seed = 42;
  s.mock = m;
  return s;
}

struct fixture : test_coordinator_fixture<test_config> {
  std::shared_ptr<node_env> env = std::make_shared<node_env>();
  std::vector<caf::actor> spawned;

  fixture() {
    auto cfg = std::make_shared<config::bedbank_config>();
    cfg->suppliers = {supplier("alpha"), supplier("beta"), supplier("gamma")};
    cfg->pricing.supplier_timeout = 3000ms;
    env->cfg = cfg;
    env->catalog = std::make_shared<const domain::catalog>(
        domain::demo_hotels(), std::vector<std::string>{"alpha", "beta", "gamma"});
    env->actors = std::make_shared<directory>();
    env->cache = std::make_shared<local_cache>(100, 60000ms);
    env->node_id = "test-node";
  }

  ~fixture() {
    for (auto& a : spawned)
      anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  template <class Handle> Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  supplier_conn_actor conn_with_script(const std::string& code, std::shared_ptr<script> sc) {
    auto adapter = sys.spawn(scripted_adapter, sc, code);
    auto conn = keep(spawn_supplier_conn(sys, env, code, adapter));
    env->actors->put(directory::supplier_name(code), caf::actor_cast<caf::strong_actor_ptr>(conn));
    run();
    return conn;
  }

  rates_request one_hotel(const std::string& code) {
    return rates_request{{code}, 20500, 20502, {{2, {}}}, {}};
  }

  supplier_stats stats(const supplier_conn_actor& conn) {
    supplier_stats out;
    auto h = self->request(conn, caf::infinite, stats_atom::value);
    run_messages_only();
    h.receive([&](supplier_stats& s) { out = std::move(s); },
              [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return out;
  }

  /// Sends one search_rates call, runs the scheduler, returns the error code (none on success).
  ec call(const supplier_conn_actor& conn, const std::string& hotel) {
    auto h = self->request(conn, caf::infinite, search_rates_atom::value, one_hotel(hotel));
    run_messages_only();
    ec result = ec::internal;
    h.receive([&](rates_reply&) { result = ec::none; },
              [&](caf::error& e) { result = code_of(e); });
    return result;
  }

  /// Delivers pending messages without firing timers.
  void run_messages_only() {
    while (sched.try_run_once())
      ; // nop
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(actor_tests, fixture)

CAF_TEST(breaker opens after max failures and fails fast) {
  auto sc = std::make_shared<script>();
  sc->outcomes = {"error", "error"};
  auto conn = conn_with_script("alpha", sc);
  CAF_CHECK_EQUAL(call(conn, "H1"), ec::supplier_error);
  CAF_CHECK_EQUAL(stats(conn).circuit, "closed");
  CAF_CHECK_EQUAL(call(conn, "H1"), ec::supplier_error);
  CAF_CHECK_EQUAL(stats(conn).circuit, "open");
  // Open: the adapter is not called any more.
  CAF_CHECK_EQUAL(call(conn, "H1"), ec::circuit_open);
  CAF_CHECK_EQUAL(sc->calls, 2);
  auto s = stats(conn);
  CAF_CHECK_EQUAL(s.rejected, 1u);
  CAF_CHECK_EQUAL(s.errors, 2u);
}

CAF_TEST(breaker half - opens after reset timeout and closes on a good probe) {
  auto sc = std::make_shared<script>();
  sc->outcomes = {"error", "error", "ok"};
  auto conn = conn_with_script("alpha", sc);
  call(conn, "H1");
  call(conn, "H1");
  CAF_REQUIRE_EQUAL(stats(conn).circuit, "open");
  // Virtual time: the reset timer (1 s) is the only pending timeout.
  CAF_REQUIRE(sched.trigger_timeout());
  run_messages_only();
  CAF_CHECK_EQUAL(stats(conn).circuit, "half_open");
  CAF_CHECK_EQUAL(call(conn, "H1"), ec::none);
  CAF_CHECK_EQUAL(stats(conn).circuit, "closed");
  CAF_CHECK_EQUAL(stats(conn).consecutive_failures, 0);
}

CAF_TEST(a failed probe reopens with a doubled wait) {
  auto sc = std::make_shared<script>();
  sc->outcomes = {"error", "error", "error"};
  auto conn = conn_with_script("alpha", sc);
  call(conn, "H1");
  call(conn, "H1");
  CAF_CHECK_EQUAL(stats(conn).reset_timeout_ms, 1000);
  CAF_REQUIRE(sched.trigger_timeout());
  run_messages_only();
  CAF_CHECK_EQUAL(call(conn, "H1"), ec::supplier_error);
  auto s = stats(conn);
  CAF_CHECK_EQUAL(s.circuit, "open");
  CAF_CHECK_EQUAL(s.reset_timeout_ms, 2000);
}

CAF_TEST(a silent supplier times out and counts for the breaker) {
  auto sc = std::make_shared<script>();
  sc->outcomes = {"silent"};
  auto conn = conn_with_script("alpha", sc);
  auto h = self->request(conn, caf::infinite, search_rates_atom::value, one_hotel("H1"));
  run_messages_only();
  CAF_REQUIRE(sched.trigger_timeout()); // the 3 s call deadline
  run_messages_only();
  ec got = ec::none;
  h.receive([&](rates_reply&) { got = ec::none; }, [&](caf::error& e) { got = code_of(e); });
  CAF_CHECK_EQUAL(got, ec::supplier_timeout);
  auto s = stats(conn);
  CAF_CHECK_EQUAL(s.timeouts, 1u);
  CAF_CHECK_EQUAL(s.consecutive_failures, 1);
}

CAF_TEST(operators can force and release the breaker) {
  auto sc = std::make_shared<script>();
  auto conn = conn_with_script("alpha", sc);
  auto forced = self->request(conn, caf::infinite, circuit_atom::value, std::string{"open"});
  run_messages_only();
  forced.receive([&](supplier_stats& s) { CAF_CHECK_EQUAL(s.mode, "forced_open"); },
                 [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  CAF_CHECK_EQUAL(call(conn, "H1"), ec::circuit_open);
  auto released = self->request(conn, caf::infinite, circuit_atom::value, std::string{"auto"});
  run_messages_only();
  released.receive([&](supplier_stats& s) { CAF_CHECK_EQUAL(s.circuit, "closed"); },
                   [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  CAF_CHECK_EQUAL(call(conn, "H1"), ec::none);
  auto bad = self->request(conn, caf::infinite, circuit_atom::value, std::string{"sideways"});
  run_messages_only();
  bad.receive([&](supplier_stats&) { CAF_FAIL("accepted a bad state"); },
              [&](caf::error& e) { CAF_CHECK_EQUAL(code_of(e), ec::invalid_request); });
}

CAF_TEST(the bulkhead queues calls beyond max_concurrent) {
  auto sc = std::make_shared<script>();
  sc->outcomes = {"silent", "silent", "silent", "silent", "ok"};
  auto conn = conn_with_script("alpha", sc);
  std::vector<decltype(self->request(conn, caf::infinite, search_rates_atom::value,
                                     one_hotel("H")))>
      handles;
  for (int i = 0; i < 5; ++i)
    handles.push_back(self->request(conn, caf::infinite, search_rates_atom::value, one_hotel("H")));
  run_messages_only();
  CAF_CHECK_EQUAL(sc->calls, 4); // the fifth waits behind the bulkhead
  CAF_CHECK_EQUAL(stats(conn).in_flight, 4);
}

CAF_TEST(mock supplier rates are deterministic) {
  auto adapter = keep(spawn_mock_supplier(sys, env, "alpha"));
  auto hotel = env->catalog->in_city("SHA").front();
  auto code = env->catalog->supplier_code("alpha", hotel->hotel_id);
  if (!code) {
    for (const auto* h : env->catalog->in_city("SHA"))
      if ((code = env->catalog->supplier_code("alpha", h->hotel_id))) {
        hotel = h;
        break;
      }
  }
  CAF_REQUIRE(code.has_value());
  rates_request req{{*code}, 20500, 20502, {{2, {}}}, {}};
  std::vector<rates_reply> replies;
  for (int i = 0; i < 2; ++i) {
    auto h = self->request(adapter, caf::infinite, search_rates_atom::value, req);
    run_messages_only();
    CAF_REQUIRE(sched.trigger_timeout()); // the fixed 50 ms latency
    run_messages_only();
    h.receive([&](rates_reply& r) { replies.push_back(std::move(r)); },
              [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  }
  CAF_REQUIRE_EQUAL(replies.size(), 2u);
  auto expected = domain::generate_rates(42, *code, hotel->stars, 20500, 20502, {{2, {}}});
  CAF_REQUIRE_EQUAL(replies[0].rates.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CAF_CHECK_EQUAL(replies[0].rates[i].net_minor, expected[i].net_minor);
    CAF_CHECK_EQUAL(replies[1].rates[i].net_minor, expected[i].net_minor);
  }
}

CAF_TEST(a search survives one supplier timing out and one failing) {
  auto ok = std::make_shared<script>();
  auto bad = std::make_shared<script>();
  bad->outcomes = {"error"};
  auto slow = std::make_shared<script>();
  slow->outcomes = {"silent"};
  conn_with_script("alpha", ok);
  conn_with_script("beta", bad);
  conn_with_script("gamma", slow);
  auto engine = keep(spawn_query_engine(sys, env));
  search_request req;
  req.query.city = "SHA";
  req.query.check_in = 20500;
  req.query.check_out = 20502;
  req.query.rooms = {{2, {}}};
  req.query.currency = "CNY";
  req.trace = trace_context{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "demo-a"};
  auto h = self->request(engine, caf::infinite, search_atom::value, req);
  run_messages_only();
  // alpha and beta have answered; gamma is silent until its deadline.
  CAF_REQUIRE(sched.trigger_timeouts() > 0);
  run_messages_only();
  search_result result;
  h.receive([&](search_result& r) { result = std::move(r); },
            [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  CAF_REQUIRE_EQUAL(result.suppliers.size(), 3u);
  CAF_CHECK_EQUAL(result.suppliers[0].code, "alpha");
  CAF_CHECK_EQUAL(result.suppliers[0].status, "ok");
  CAF_CHECK_EQUAL(result.suppliers[1].code, "beta");
  CAF_CHECK_EQUAL(result.suppliers[1].status, "error");
  CAF_CHECK_EQUAL(result.suppliers[2].code, "gamma");
  CAF_CHECK_EQUAL(result.suppliers[2].status, "timeout");
  CAF_CHECK(!result.cache_hit);
  CAF_REQUIRE(!result.hotels.empty());
  for (const auto& hotel : result.hotels) {
    CAF_CHECK_EQUAL(env->catalog->find(hotel.hotel_id)->city, "SHA");
    for (const auto& r : hotel.rates)
      CAF_CHECK_EQUAL(r.supplier, "alpha");
  }
  for (size_t i = 1; i < result.hotels.size(); ++i)
    CAF_CHECK_LESS_OR_EQUAL(result.hotels[i - 1].cheapest_net_minor,
                            result.hotels[i].cheapest_net_minor);
  // An incomplete answer is not cached.
  CAF_CHECK_EQUAL(env->cache->size(), 0u);
}

CAF_TEST(a complete search is cached and the next one is a hit) {
  for (auto code : {"alpha", "beta", "gamma"})
    conn_with_script(code, std::make_shared<script>());
  auto engine = keep(spawn_query_engine(sys, env));
  search_request req;
  req.query.city = "PEK";
  req.query.check_in = 20500;
  req.query.check_out = 20501;
  req.query.rooms = {{1, {}}};
  req.query.currency = "CNY";
  std::vector<search_result> results;
  for (int i = 0; i < 2; ++i) {
    auto h = self->request(engine, caf::infinite, search_atom::value, req);
    run_messages_only();
    h.receive([&](search_result& r) { results.push_back(std::move(r)); },
              [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  }
  CAF_REQUIRE_EQUAL(results.size(), 2u);
  CAF_CHECK(!results[0].cache_hit);
  CAF_CHECK(results[1].cache_hit);
  CAF_CHECK_EQUAL(results[0].hotels.size(), results[1].hotels.size());
  // Hotels sold by several suppliers are grouped under one platform id.
  bool grouped = false;
  for (const auto& h : results[0].hotels) {
    std::set<std::string> sellers;
    for (const auto& r : h.rates)
      sellers.insert(r.supplier);
    grouped |= sellers.size() > 1;
  }
  CAF_CHECK(grouped);
}

CAF_TEST(the supervisor restarts a crashed child with back - off and escalates past the limit) {
  auto starts = std::make_shared<int>(0);
  child_spec spec{
      "worker", [starts](caf::actor_system& s) {
        ++*starts;
        return caf::actor_cast<caf::strong_actor_ptr>(s.spawn(
            [](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; }));
      }};
  supervision_settings policy;
  policy.max_restarts = 2;
  policy.window = 60000ms;
  policy.backoff_min = 100ms;
  // Its restarts and its escalation are spans too: a stub journal keeps them.
  auto spans = std::make_shared<std::vector<span_record>>();
  auto journal = keep(sys.spawn([spans]() -> journal_actor::behavior_type {
    return {
        [spans](span_atom, span_record& s) { spans->push_back(std::move(s)); },
        [](span_atom, std::vector<span_record>&) {},
        [](flush_atom) { return journal_stats{}; },
        [](stats_atom) { return journal_stats{}; },
        [](tick_atom, uint64_t) {},
    };
  }));
  env->actors->put(directory::journal_name, caf::actor_cast<caf::strong_actor_ptr>(journal));
  auto dir = std::make_shared<directory>();
  auto sup = spawn_node_supervisor(sys, dir, {spec}, policy, env);
  self->monitor(sup);
  run_messages_only();
  CAF_CHECK_EQUAL(*starts, 1);
  auto first = dir->get<caf::actor>("worker");
  CAF_REQUIRE(first);
  // Crash 1: removed from the directory at once, back after the back-off.
  anon_send_exit(first, caf::exit_reason::unhandled_exception); // as a throwing actor would exit
  run_messages_only();
  CAF_CHECK(!dir->get<caf::actor>("worker"));
  CAF_REQUIRE(sched.trigger_timeout());
  run_messages_only();
  auto second = dir->get<caf::actor>("worker");
  CAF_REQUIRE(second);
  CAF_CHECK_NOT_EQUAL(first, second);
  CAF_CHECK_EQUAL(*starts, 2);
  // Crash 2: still within the intensity.
  anon_send_exit(second, caf::exit_reason::unhandled_exception);
  run_messages_only();
  CAF_REQUIRE(sched.trigger_timeout());
  run_messages_only();
  auto third = dir->get<caf::actor>("worker");
  CAF_REQUIRE(third);
  CAF_CHECK_EQUAL(*starts, 3);
  // Crash 3 within the window: more than max_restarts, the supervisor escalates.
  anon_send_exit(third, caf::exit_reason::unhandled_exception);
  run_messages_only();
  bool down = false;
  self->receive([&](caf::down_msg& m) { down = m.source == sup.address(); },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CAF_CHECK(down);
  CAF_CHECK_EQUAL(*starts, 3);
  run_messages_only();
  CAF_REQUIRE_EQUAL(spans->size(), 3u);
  for (const auto& sp : *spans) {
    CAF_CHECK_EQUAL(sp.event_type, "supervision");
    CAF_CHECK_EQUAL(sp.service, "node_supervisor");
    CAF_CHECK_EQUAL(sp.related_id, "worker");
    CAF_CHECK_EQUAL(sp.status, "error");
    CAF_CHECK(sp.error_detail.find("unhandled_exception") != std::string::npos);
  }
  CAF_CHECK((*spans)[0].request_data.find("\"restart\"") != std::string::npos);
  CAF_CHECK((*spans)[2].request_data.find("\"escalate\"") != std::string::npos);
  CAF_CHECK((*spans)[1].response_data.find("\"restarts_in_window\":2") != std::string::npos);
}

CAF_TEST(the journal scrubs secrets before anything is written) {
  auto batches = std::make_shared<std::vector<span_record>>();
  auto writer = sys.spawn([batches]() -> span_writer_actor::behavior_type {
    return {[batches](write_atom, std::vector<span_record>& xs) -> uint64_t {
      for (auto& x : xs)
        batches->push_back(std::move(x));
      return xs.size();
    }};
  });
  env->actors->put(span_writer_name, caf::actor_cast<caf::strong_actor_ptr>(writer));
  auto j = keep(spawn_journal(sys, env));
  run_messages_only(); // run() would fire the journal's tick forever
  span_record s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b7";
  s.event_type = "book";
  s.service = "order_engine";
  s.request_data = R"({"rate_key":"rk-1","card":{"number":"4111 1111 1111 1111","cvv":"123"},)"
                   R"("headers":{"X-Api-Key":"k-secret"},"paid_with":"4111111111111111"})";
  s.response_data = R"({"ok":true,"count":12})";
  s.status = "success";
  self->send(j, span_atom::value, s);
  self->send(j, flush_atom::value);
  run_messages_only();
  CAF_REQUIRE_EQUAL(batches->size(), 1u);
  const auto& got = batches->front();
  CAF_CHECK(got.request_data.find("4111 1111") == std::string::npos);
  CAF_CHECK(got.request_data.find("4111111111111111") == std::string::npos);
  CAF_CHECK(got.request_data.find("123") == std::string::npos);
  CAF_CHECK(got.request_data.find("k-secret") == std::string::npos);
  CAF_CHECK(got.request_data.find("rk-1") != std::string::npos);
  CAF_CHECK(got.request_data.find("1111") != std::string::npos); // the last four stay
  CAF_CHECK_EQUAL(got.response_data, s.response_data);           // nothing to scrub: untouched
  anon_send_exit(writer, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()
