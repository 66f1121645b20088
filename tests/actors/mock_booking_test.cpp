// Deterministic tests of the mock supplier's booking scenarios (no mock ledger in the
// directory, so bookings live in the actor): CreateBooking, GetBooking, CancelBooking and
// CheckAvailability under every scenario, searches under the error rates, and prices that
// move and hold, on the test coordinator's virtual time.
#define CAF_SUITE mock_booking
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <cmath>

#include <caf/test/dsl.hpp>

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

constexpr int32_t check_in = 20500;
constexpr int32_t check_out = 20502;

const std::vector<domain::room_occupancy> two_adults{{2, {}}};

struct fixture : test_coordinator_fixture<test_config> {
  std::shared_ptr<config::bedbank_config> cfg = std::make_shared<config::bedbank_config>();
  std::shared_ptr<node_env> env = std::make_shared<node_env>();
  std::vector<caf::actor> spawned;
  std::string hotel_code;      ///< a hotel alpha sells
  domain::generated_rate rate; ///< the first of its rates for the stay
  mock_supplier_actor mock;

  fixture() {
    config::supplier_config s;
    s.code = "alpha";
    s.name = "alpha";
    s.timeout = 5000ms;
    config::mock_profile m;
    m.latency.shape = config::latency_profile::kind::fixed;
    m.latency.fixed = 0ms;
    m.seed = 42;
    m.slow_booking = 2000ms;
    s.mock = m;
    cfg->suppliers = {s};
    env->cfg = cfg;
    env->catalog = std::make_shared<const domain::catalog>(domain::demo_hotels(),
                                                           std::vector<std::string>{"alpha"});
    env->actors = std::make_shared<directory>();
    env->cache = std::make_shared<local_cache>(100, 60000ms);
    env->node_id = "test-node";
    for (const auto& h : env->catalog->hotels()) {
      auto code = env->catalog->supplier_code("alpha", h.hotel_id);
      if (!code)
        continue;
      auto rates = domain::generate_rates(42, *code, h.stars, check_in, check_out, two_adults);
      if (rates.empty())
        continue;
      hotel_code = *code;
      rate = rates.front();
      break;
    }
  }

  ~fixture() {
    for (auto& a : spawned)
      anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  config::mock_profile& profile() { return *cfg->suppliers.front().mock; }

  /// Spawns the mock with the profile as it is now.
  void start() {
    mock = spawn_mock_supplier(sys, env, "alpha");
    spawned.push_back(caf::actor_cast<caf::actor>(mock));
    run_messages_only();
  }

  /// Delivers pending messages without firing timers.
  void run_messages_only() {
    while (sched.try_run_once())
      ; // nop
  }

  /// Whether an answer waits in the test's mailbox.
  bool answered() { return !self->mailbox().empty(); }

  /// The answer to request `h` (which must have arrived).
  template <class T, class Handle> caf::expected<T> take(Handle& h) {
    if (!answered())
      return make_error(ec::internal, "no answer yet");
    caf::expected<T> out{make_error(ec::internal, "nothing received")};
    h.receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  /// One request, run until the mock is idle (no timers fired), its answer.
  template <class T, class... Ts> caf::expected<T> ask(Ts&&... xs) {
    auto h = self->request(mock, caf::infinite, std::forward<Ts>(xs)...);
    run_messages_only();
    return take<T>(h);
  }

  booking_request booking(const std::string& key, const std::string& scenario = "") {
    booking_request r;
    r.idempotency_key = key;
    r.hotel_code = hotel_code;
    r.room_code = rate.room_code;
    r.board = rate.board;
    r.check_in = check_in;
    r.check_out = check_out;
    r.rooms = two_adults;
    r.expected_net_minor = rate.net_minor;
    r.currency = "CNY";
    r.holder_name = "Li Lei";
    r.scenario = scenario;
    return r;
  }

  caf::expected<booking_detail> create(const std::string& key, const std::string& scenario = "") {
    return ask<booking_detail>(create_booking_atom::value, booking(key, scenario));
  }

  caf::expected<booking_detail> get(const std::string& key, const std::string& scenario = "") {
    return ask<booking_detail>(get_booking_atom::value, booking_query{key, scenario, {}});
  }

  caf::expected<booking_detail> cancel(const std::string& ref, const std::string& scenario = "") {
    return ask<booking_detail>(cancel_booking_atom::value, cancel_request{ref, "", scenario, {}});
  }

  avail_request avail(const std::string& scenario = "") {
    return avail_request{hotel_code, rate.room_code, rate.board, check_in,
                         check_out,  two_adults,     scenario,   {}};
  }

  caf::expected<avail_reply> check(const avail_request& req) {
    return ask<avail_reply>(check_avail_atom::value, req);
  }
};

template <class T> ec code(const caf::expected<T>& x) {
  return x ? ec::none : code_of(x.error());
}

template <class T> std::string message(const caf::expected<T>& x) {
  return x ? std::string{} : message_of(x.error());
}

int64_t ten_percent_more(int64_t net) {
  return (net * 11 + 5) / 10;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(mock_booking_tests, fixture)

CAF_TEST(ok books and GetBooking finds the booking) {
  CAF_REQUIRE(!hotel_code.empty());
  start();
  auto booked = create("order-ok");
  CAF_REQUIRE(booked);
  CAF_CHECK(booked->found);
  CAF_CHECK_EQUAL(booked->status, "confirmed");
  CAF_CHECK_EQUAL(booked->idempotency_key, "order-ok");
  CAF_CHECK_EQUAL(booked->net_minor, rate.net_minor);
  CAF_CHECK_EQUAL(booked->currency, "CNY");
  CAF_CHECK_EQUAL(booked->supplier_ref.rfind("ALPHA-", 0), 0u);
  CAF_CHECK_EQUAL(booked->supplier_ref.size(), 16u);
  auto found = get("order-ok");
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
  CAF_CHECK_EQUAL(found->supplier_ref, booked->supplier_ref);
  CAF_CHECK_EQUAL(found->status, "confirmed");
  CAF_CHECK_EQUAL(found->net_minor, rate.net_minor);
  CAF_CHECK_EQUAL(found->currency, "CNY");
  // Nothing under another key, whatever the scenario of the query.
  auto none = get("order-unknown", "answer_lost");
  CAF_REQUIRE(none);
  CAF_CHECK(!none->found);
  CAF_CHECK_EQUAL(none->idempotency_key, "order-unknown");
}

CAF_TEST(sold_out price_changed and booking_error answer errors and book nothing) {
  start();
  auto sold = create("order-sold", "sold_out");
  CAF_CHECK_EQUAL(code(sold), ec::sold_out);
  auto moved = create("order-moved", "price_changed");
  CAF_CHECK_EQUAL(code(moved), ec::price_changed);
  CAF_CHECK_NOT_EQUAL(
      message(moved).find("price is now " + std::to_string(ten_percent_more(rate.net_minor))),
      std::string::npos);
  auto broken = create("order-broken", "booking_error");
  CAF_CHECK_EQUAL(code(broken), ec::supplier_error);
  CAF_CHECK_EQUAL(message(broken), "mock supplier 'alpha' answered HTTP 500");
  for (auto key : {"order-sold", "order-moved", "order-broken"}) {
    auto found = get(key);
    CAF_REQUIRE(found);
    CAF_CHECK(!found->found);
  }
}

CAF_TEST(the configured scenario applies unless the request names one) {
  profile().scenario = "booking_error";
  start();
  CAF_CHECK_EQUAL(code(create("order-cfg")), ec::supplier_error);
  auto booked = create("order-cfg", "ok");
  CAF_REQUIRE(booked);
  CAF_CHECK_EQUAL(booked->status, "confirmed");
  CAF_CHECK_EQUAL(code(create("order-cfg", "no_such_scenario")), ec::invalid_request);
}

CAF_TEST(slow_booking answers after mock slow_booking with the booking already made) {
  start();
  auto t0 = sched.clock().now();
  auto h = self->request(mock, caf::infinite, create_booking_atom::value,
                         booking("order-slow", "slow_booking"));
  run_messages_only();
  CAF_CHECK(!answered());
  // The supplier already holds it while the answer is on its way.
  auto found = get("order-slow");
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
  advance_time(1999ms);
  run_messages_only();
  CAF_CHECK(!answered());
  advance_time(1ms);
  run_messages_only();
  auto booked = take<booking_detail>(h);
  CAF_REQUIRE(booked);
  CAF_CHECK_EQUAL(booked->supplier_ref, found->supplier_ref);
  CAF_CHECK_EQUAL(booked->status, "confirmed");
  CAF_CHECK_EQUAL((sched.clock().now() - t0).count(), caf::timespan{2000ms}.count());
}

CAF_TEST(answer_lost books but the caller times out first) {
  start();
  auto h =
      self->request(mock, 1000ms, create_booking_atom::value, booking("order-lost", "answer_lost"));
  run_messages_only();
  CAF_CHECK(!answered());
  CAF_REQUIRE(sched.trigger_timeout()); // the caller's 1 s deadline comes first
  run_messages_only();
  auto lost = take<booking_detail>(h);
  CAF_CHECK_EQUAL(code(lost), ec::supplier_timeout);
  auto found = get("order-lost");
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
  CAF_CHECK_EQUAL(found->status, "confirmed");
  CAF_CHECK_EQUAL(found->net_minor, rate.net_minor);
}

CAF_TEST(answer_lost answers supplier_timeout only after four supplier timeouts) {
  start();
  auto h = self->request(mock, caf::infinite, create_booking_atom::value,
                         booking("order-late", "answer_lost"));
  run_messages_only();
  advance_time(19999ms);
  run_messages_only();
  CAF_CHECK(!answered());
  advance_time(1ms);
  run_messages_only();
  auto late = take<booking_detail>(h);
  CAF_CHECK_EQUAL(code(late), ec::supplier_timeout);
  CAF_CHECK(!sched.has_pending_timeout()); // nothing left behind
}

CAF_TEST(two CreateBookings with one key make two bookings) {
  start();
  auto first = create("order-twice");
  auto second = create("order-twice");
  CAF_REQUIRE(first);
  CAF_REQUIRE(second);
  CAF_CHECK_NOT_EQUAL(first->supplier_ref, second->supplier_ref);
  auto found = get("order-twice");
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(found->supplier_ref, second->supplier_ref);
  // Both exist: each can be cancelled on its own.
  auto c1 = cancel(first->supplier_ref);
  CAF_REQUIRE(c1);
  CAF_CHECK_EQUAL(c1->status, "cancelled");
  found = get("order-twice");
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(found->supplier_ref, second->supplier_ref);
  CAF_CHECK_EQUAL(found->status, "confirmed");
}

CAF_TEST(cancel ok and twice and refused and unknown) {
  start();
  auto booked = create("order-cancel");
  CAF_REQUIRE(booked);
  auto refused = cancel(booked->supplier_ref, "cancel_refused");
  CAF_CHECK_EQUAL(code(refused), ec::conflict);
  CAF_CHECK_NOT_EQUAL(message(refused).find("supplier refused the cancellation"),
                      std::string::npos);
  auto still = get("order-cancel");
  CAF_REQUIRE(still);
  CAF_CHECK_EQUAL(still->status, "confirmed");
  auto cancelled = cancel(booked->supplier_ref);
  CAF_REQUIRE(cancelled);
  CAF_CHECK(cancelled->found);
  CAF_CHECK_EQUAL(cancelled->status, "cancelled");
  CAF_CHECK_EQUAL(cancelled->supplier_ref, booked->supplier_ref);
  CAF_CHECK_EQUAL(cancelled->idempotency_key, "order-cancel");
  CAF_CHECK_EQUAL(cancelled->net_minor, rate.net_minor);
  auto again = cancel(booked->supplier_ref);
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(again->status, "cancelled");
  auto after = get("order-cancel");
  CAF_REQUIRE(after);
  CAF_CHECK_EQUAL(after->status, "cancelled");
  CAF_CHECK_EQUAL(code(cancel("ALPHA-NOSUCHREF0")), ec::not_found);
}

CAF_TEST(CheckAvailability answers the generated rate) {
  start();
  auto ok = check(avail());
  CAF_REQUIRE(ok);
  CAF_CHECK(ok->available);
  CAF_CHECK_EQUAL(ok->net_minor, rate.net_minor);
  CAF_CHECK_EQUAL(ok->currency, "CNY");
  CAF_CHECK_EQUAL(ok->room_name, rate.room_name);
  CAF_CHECK_EQUAL(ok->refundable, rate.refundable);
  CAF_CHECK(ok->policies == rate.policies);
  auto other_room = avail();
  other_room.room_code = "NO-SUCH-ROOM";
  auto missing = check(other_room);
  CAF_REQUIRE(missing);
  CAF_CHECK(!missing->available);
  auto other_hotel = avail();
  other_hotel.hotel_code = "NO-SUCH-HOTEL";
  auto unknown = check(other_hotel);
  CAF_REQUIRE(unknown);
  CAF_CHECK(!unknown->available);
}

CAF_TEST(CheckAvailability plays sold_out and price_changed) {
  start();
  auto sold = check(avail("sold_out"));
  CAF_REQUIRE(sold);
  CAF_CHECK(!sold->available);
  auto moved = check(avail("price_changed"));
  CAF_REQUIRE(moved);
  CAF_CHECK(moved->available);
  CAF_CHECK_EQUAL(moved->net_minor, ten_percent_more(rate.net_minor));
  // Booking scenarios do not change the re-check.
  auto lost = check(avail("answer_lost"));
  CAF_REQUIRE(lost);
  CAF_CHECK(lost->available);
  CAF_CHECK_EQUAL(lost->net_minor, rate.net_minor);
}

CAF_TEST(a hotel sold out for the dates is not available) {
  profile().sold_out_rate = 1.0;
  start();
  auto sold = check(avail());
  CAF_REQUIRE(sold);
  CAF_CHECK(!sold->available);
}

CAF_TEST(a re - check finds the price a search just answered and prices move within their bound) {
  profile().price_drift = 0.05;
  profile().price_change_chance = 1.0; // a new price in every window
  profile().price_change_window = 3600000ms;
  start();
  domain::price_moves moves{0.05, 1.0, 3600LL * 1000000};
  auto rate_id = hotel_code + "|" + rate.room_code + "|" + rate.board + "|" +
                 std::to_string(check_in) + "|" + std::to_string(check_out);
  // A window may end between the two calls (once an hour): then the pair is taken again.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto window = domain::now_us() / moves.window_us;
    auto found = ask<rates_reply>(search_rates_atom::value,
                                  rates_request{{hotel_code}, check_in, check_out, two_adults, {}});
    auto rechecked = check(avail());
    if (domain::now_us() / moves.window_us != window)
      continue;
    CAF_REQUIRE(found);
    CAF_REQUIRE(rechecked);
    CAF_REQUIRE(rechecked->available);
    auto searched = std::find_if(found->rates.begin(), found->rates.end(), [&](const auto& r) {
      return r.room_code == rate.room_code && r.board == rate.board;
    });
    CAF_REQUIRE(searched != found->rates.end());
    CAF_CHECK_EQUAL(rechecked->net_minor, searched->net_minor);
    CAF_CHECK_EQUAL(rechecked->net_minor, domain::moved_price(rate.net_minor, 42, rate_id, moves,
                                                              window * moves.window_us));
    auto low = static_cast<int64_t>(std::floor(static_cast<double>(rate.net_minor) * 0.95));
    auto high = static_cast<int64_t>(std::ceil(static_cast<double>(rate.net_minor) * 1.05));
    CAF_CHECK_GREATER_OR_EQUAL(rechecked->net_minor, low);
    CAF_CHECK_LESS_OR_EQUAL(rechecked->net_minor, high);
    // price_changed still answers 10 % above the price of the moment.
    auto dearer = check(avail("price_changed"));
    CAF_REQUIRE(dearer);
    if (domain::now_us() / moves.window_us == window)
      CAF_CHECK_EQUAL(dearer->net_minor, ten_percent_more(rechecked->net_minor));
    return;
  }
  CAF_FAIL("two window ends within two pairs of calls");
}

CAF_TEST(answers wait for the sampled latency) {
  profile().latency.fixed = 50ms;
  start();
  auto h = self->request(mock, caf::infinite, check_avail_atom::value, avail());
  run_messages_only();
  CAF_CHECK(!answered());
  advance_time(49ms);
  run_messages_only();
  CAF_CHECK(!answered());
  advance_time(1ms);
  run_messages_only();
  auto r = take<avail_reply>(h);
  CAF_REQUIRE(r);
  CAF_CHECK(r->available);
  auto g = self->request(mock, caf::infinite, get_booking_atom::value,
                         booking_query{"order-latency", "", {}});
  run_messages_only();
  CAF_CHECK(!answered());
  CAF_REQUIRE(sched.trigger_timeout());
  run_messages_only();
  auto none = take<booking_detail>(g);
  CAF_REQUIRE(none);
  CAF_CHECK(!none->found);
}

CAF_TEST(the error rate hits searches but not re - checks or bookings) {
  profile().error_rate = 1.0;
  start();
  auto searched = ask<rates_reply>(
      search_rates_atom::value, rates_request{{hotel_code}, check_in, check_out, two_adults, {}});
  CAF_CHECK_EQUAL(code(searched), ec::supplier_error);
  auto rechecked = check(avail());
  CAF_REQUIRE(rechecked);
  CAF_CHECK(rechecked->available);
  CAF_CHECK_EQUAL(rechecked->net_minor, rate.net_minor);
  auto booked = create("order-rates");
  CAF_REQUIRE(booked);
  CAF_CHECK_EQUAL(booked->status, "confirmed");
  auto found = get("order-rates");
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
  auto cancelled = cancel(booked->supplier_ref);
  CAF_REQUIRE(cancelled);
  CAF_CHECK_EQUAL(cancelled->status, "cancelled");
}

CAF_TEST(a silent search answers only after four search deadlines and re - checks stay answered) {
  profile().timeout_rate = 1.0;
  start();
  auto rechecked = check(avail());
  CAF_REQUIRE(rechecked);
  CAF_CHECK(rechecked->available);
  auto h = self->request(mock, caf::infinite, search_rates_atom::value,
                         rates_request{{hotel_code}, check_in, check_out, two_adults, {}});
  run_messages_only();
  advance_time(4 * cfg->pricing.supplier_timeout - 1ms);
  run_messages_only();
  CAF_CHECK(!answered());
  advance_time(1ms);
  run_messages_only();
  CAF_CHECK_EQUAL(code(take<rates_reply>(h)), ec::supplier_timeout);
}

CAF_TEST_FIXTURE_SCOPE_END()
