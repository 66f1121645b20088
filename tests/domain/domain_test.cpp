// Unit tests of the plain business rules in domain/.
#define CAF_SUITE domain
#include <caf/test/unit_test_impl.hpp>

#include <cmath>
#include <set>

#include "domain/catalog.hpp"
#include "domain/circuit_breaker.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "domain/intensity.hpp"
#include "domain/money.hpp"
#include "domain/rate_generator.hpp"
#include "domain/search_query.hpp"

using namespace bedbank::domain;

CAF_TEST(money formatting and parsing) {
  CAF_CHECK_EQUAL(format_amount(123450, "CNY"), "1234.50");
  CAF_CHECK_EQUAL(format_amount(5, "CNY"), "0.05");
  CAF_CHECK_EQUAL(format_amount(-5, "USD"), "-0.05");
  CAF_CHECK_EQUAL(format_amount(1234, "JPY"), "1234");
  CAF_CHECK_EQUAL(parse_amount("1234.5", "CNY").value_or(-1), 123450);
  CAF_CHECK_EQUAL(parse_amount("12", "CNY").value_or(-1), 1200);
  CAF_CHECK(!parse_amount("1.234", "CNY"));
  CAF_CHECK(!parse_amount("1.", "CNY"));
  CAF_CHECK(!parse_amount("abc", "CNY"));
  CAF_CHECK(!parse_amount("1.5", "XXX"));
  CAF_CHECK(!parse_amount("1.5", "JPY"));
}

CAF_TEST(markup and conversion round half up) {
  CAF_CHECK_EQUAL(apply_markup(10000, 800), 10800);
  CAF_CHECK_EQUAL(apply_markup(12345, 1000), 13580); // 1234.5 → 1235 rounds up
  CAF_CHECK_EQUAL(apply_markup(10000, 0), 10000);
  // 100.00 CNY at 0.1389 USD per CNY = 13.89 USD
  CAF_CHECK_EQUAL(convert_minor(10000, 2, 2, 138900), 1389);
  // 100.00 CNY at 20.5 JPY per CNY = 2050 JPY
  CAF_CHECK_EQUAL(convert_minor(10000, 2, 0, 20500000), 2050);
}

CAF_TEST(dates and instants) {
  auto d = parse_date("2026-12-01");
  CAF_REQUIRE(d.has_value());
  CAF_CHECK_EQUAL(format_date(*d), "2026-12-01");
  CAF_CHECK_EQUAL(parse_date("1970-01-02").value_or(-1), 1);
  CAF_CHECK(!parse_date("2026-02-30"));
  CAF_CHECK(!parse_date("2026-2-01"));
  CAF_CHECK(!parse_date("2026-12-01T00"));
  CAF_CHECK_EQUAL(format_instant_us(1500), "1970-01-01T00:00:00.001Z");
  auto t = parse_instant_us("2026-11-21T23:44:45.123Z");
  CAF_REQUIRE(t.has_value());
  CAF_CHECK_EQUAL(format_instant_us(*t), "2026-11-21T23:44:45.123Z");
  CAF_CHECK_EQUAL(parse_instant_us("2026-11-22T01:44:45.123+02:00").value_or(-1), *t);
  CAF_CHECK(!parse_instant_us("2026-11-21 23:44:45Z"));
}

CAF_TEST(canonical keys ignore room order and duplicate ids) {
  search_query a;
  a.hotel_ids = {"B", "A", "A"};
  a.check_in = 100;
  a.check_out = 102;
  a.rooms = {{2, {5, 3}}, {1, {}}};
  search_query b = a;
  b.hotel_ids = {"A", "B"};
  b.rooms = {{1, {}}, {2, {3, 5}}};
  CAF_CHECK_EQUAL(canonical_key(a), canonical_key(b));
  b.check_out = 103;
  CAF_CHECK_NOT_EQUAL(canonical_key(a), canonical_key(b));
}

CAF_TEST(breaker opens after max failures and half - opens on its timer) {
  circuit_breaker br{{3, std::chrono::milliseconds{1000}, std::chrono::milliseconds{3000}}};
  CAF_CHECK(br.admit() == breaker_admit::allow);
  CAF_CHECK(!br.on_failure(false));
  CAF_CHECK(!br.on_failure(false));
  auto t = br.on_failure(false);
  CAF_REQUIRE(t.has_value());
  CAF_CHECK(t->to == breaker_state::open);
  CAF_CHECK(br.admit() == breaker_admit::reject);
  CAF_CHECK(!br.on_reset_timer(br.generation() + 1)); // stale timer ignored
  CAF_CHECK(br.on_reset_timer(br.generation()).has_value());
  CAF_CHECK(br.state() == breaker_state::half_open);
  CAF_CHECK(br.admit() == breaker_admit::probe);
  CAF_CHECK(br.admit() == breaker_admit::reject); // only one probe
  br.on_failure(true);
  CAF_CHECK(br.state() == breaker_state::open);
  CAF_CHECK_EQUAL(br.current_reset_timeout().count(), 2000);
  br.on_reset_timer(br.generation());
  br.admit();
  br.on_failure(true);
  CAF_CHECK_EQUAL(br.current_reset_timeout().count(), 3000); // capped
  br.on_reset_timer(br.generation());
  CAF_CHECK(br.admit() == breaker_admit::probe);
  CAF_CHECK(br.on_success(true).has_value());
  CAF_CHECK(br.state() == breaker_state::closed);
  CAF_CHECK_EQUAL(br.consecutive_failures(), 0);
}

CAF_TEST(a success resets the failure count) {
  circuit_breaker br{{2, std::chrono::milliseconds{1000}, std::chrono::milliseconds{3000}}};
  br.on_failure(false);
  br.on_success(false);
  CAF_CHECK(!br.on_failure(false));
  CAF_CHECK(br.state() == breaker_state::closed);
}

CAF_TEST(operators force the breaker) {
  circuit_breaker br;
  br.force(breaker_mode::forced_open);
  CAF_CHECK(br.admit() == breaker_admit::reject);
  br.force(breaker_mode::forced_closed);
  for (int i = 0; i < 20; ++i)
    br.on_failure(false);
  CAF_CHECK(br.admit() == breaker_admit::allow);
  br.force(breaker_mode::automatic);
  CAF_CHECK(br.state() == breaker_state::closed);
  CAF_CHECK(br.admit() == breaker_admit::allow);
}

CAF_TEST(demo catalog has 200 hotels in 5 cities and shared hotels) {
  auto hotels = demo_hotels();
  CAF_CHECK_GREATER_OR_EQUAL(hotels.size(), 200u);
  catalog cat{hotels, {"hotelbeds", "expedia", "dida"}};
  auto cities = cat.cities();
  CAF_CHECK_GREATER_OR_EQUAL(cities.size(), 5u);
  CAF_CHECK(std::find(cities.begin(), cities.end(), "SHA") != cities.end());
  size_t shared = 0;
  for (const auto& h : cat.hotels())
    if (cat.suppliers_of(h.hotel_id).size() >= 2)
      ++shared;
  CAF_CHECK_GREATER(shared, 100u);
  // Codes map both ways, in each supplier's own style.
  auto code = cat.supplier_code("hotelbeds", hotels[0].hotel_id);
  if (code) {
    CAF_CHECK_EQUAL(cat.by_supplier_code("hotelbeds", *code)->hotel_id, hotels[0].hotel_id);
  }
  std::set<std::string> ids;
  for (const auto& h : hotels)
    ids.insert(h.hotel_id);
  CAF_CHECK_EQUAL(ids.size(), hotels.size());
}

CAF_TEST(rates are deterministic and depend on their inputs) {
  std::vector<room_occupancy> rooms{{2, {}}};
  auto a = generate_rates(7, "10007", 4, 20000, 20002, rooms);
  auto b = generate_rates(7, "10007", 4, 20000, 20002, rooms);
  CAF_REQUIRE(!a.empty());
  CAF_REQUIRE_EQUAL(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAF_CHECK_EQUAL(a[i].net_minor, b[i].net_minor);
    CAF_CHECK_EQUAL(a[i].room_code, b[i].room_code);
    CAF_CHECK_GREATER(a[i].net_minor, 0);
  }
  auto other_seed = generate_rates(8, "10007", 4, 20000, 20002, rooms);
  auto longer = generate_rates(7, "10007", 4, 20000, 20003, rooms);
  CAF_CHECK_NOT_EQUAL(a[0].net_minor, other_seed[0].net_minor);
  CAF_CHECK_GREATER(longer[0].net_minor, a[0].net_minor);
}

CAF_TEST(a price holds within its window and moves now and then within its bound) {
  constexpr int64_t window = 600'000'000; // ten minutes
  constexpr int64_t list = 123'400;
  price_moves never{0.05, 0.0, window};
  price_moves still{0.0, 1.0, window};
  CAF_CHECK_EQUAL(moved_price(list, 7, "H1|STD|RO|20000|20002", never, 5 * window), list);
  CAF_CHECK_EQUAL(moved_price(list, 7, "H1|STD|RO|20000|20002", still, 5 * window), list);
  // chance 1: a new price in every window, the same at every instant of one window.
  price_moves always{0.05, 1.0, window};
  int differing = 0;
  int64_t previous = moved_price(list, 7, "H1|STD|RO|20000|20002", always, 0);
  for (int64_t w = 1; w <= 200; ++w) {
    auto start = moved_price(list, 7, "H1|STD|RO|20000|20002", always, w * window);
    auto end = moved_price(list, 7, "H1|STD|RO|20000|20002", always, (w + 1) * window - 1);
    CAF_CHECK_EQUAL(start, end);
    CAF_CHECK_GREATER_OR_EQUAL(start, static_cast<int64_t>(std::floor(list * 0.95)));
    CAF_CHECK_LESS_OR_EQUAL(start, static_cast<int64_t>(std::ceil(list * 1.05)));
    differing += start != previous ? 1 : 0;
    previous = start;
  }
  CAF_CHECK_GREATER(differing, 190);
  // chance 0.1: about one window in ten changes the price, which then holds.
  price_moves sometimes{0.05, 0.1, window};
  int changes = 0;
  previous = moved_price(list, 9, "H2|DLX|BB|20010|20013", sometimes, 0);
  for (int64_t w = 1; w <= 5000; ++w) {
    auto p = moved_price(list, 9, "H2|DLX|BB|20010|20013", sometimes, w * window + w);
    changes += p != previous ? 1 : 0;
    previous = p;
  }
  CAF_CHECK_GREATER(changes, 350);
  CAF_CHECK_LESS(changes, 650);
  // Deterministic in its inputs; another rate or seed moves on its own.
  auto t = 42 * window + 17;
  CAF_CHECK_EQUAL(moved_price(list, 7, "H1|STD|RO|20000|20002", always, t),
                  moved_price(list, 7, "H1|STD|RO|20000|20002", always, t));
  int independent = 0;
  for (int64_t w = 0; w < 50; ++w) {
    auto a = moved_price(list, 7, "H1|STD|RO|20000|20002", always, w * window);
    independent += a != moved_price(list, 7, "H1|SUP|RO|20000|20002", always, w * window) ? 1 : 0;
    independent += a != moved_price(list, 8, "H1|STD|RO|20000|20002", always, w * window) ? 1 : 0;
  }
  CAF_CHECK_GREATER(independent, 95);
  // Instants before the epoch fall in whole windows too; a price never drops below 1.
  CAF_CHECK_EQUAL(moved_price(list, 7, "r", always, -1),
                  moved_price(list, 7, "r", always, -window));
  CAF_CHECK_GREATER_OR_EQUAL(moved_price(1, 7, "r", price_moves{1.0, 1.0, window}, 3), 1);
}

CAF_TEST(ids are w3c shaped) {
  auto t = new_trace_id();
  auto s = new_span_id();
  CAF_CHECK(is_hex_id(t, 32));
  CAF_CHECK(is_hex_id(s, 16));
  CAF_CHECK_NOT_EQUAL(new_trace_id(), t);
  CAF_CHECK(!is_hex_id(std::string(32, '0'), 32));
  CAF_CHECK(!is_hex_id("ABCDEF0123456789", 16));
}

CAF_TEST(restart intensity counts restarts within the window) {
  restart_intensity r{2, 1000};
  CAF_CHECK_EQUAL(r.prune(0), 0u);
  CAF_CHECK(!r.record(100));
  CAF_CHECK(!r.record(200));
  CAF_CHECK(r.record(300)); // a third within 1000 µs: too many
  CAF_CHECK_EQUAL(r.count(), 3u);
  CAF_CHECK_EQUAL(r.prune(1150), 2u); // the first left the window
  CAF_CHECK_EQUAL(r.prune(5000), 0u);
  CAF_CHECK(!r.record(5000));
  restart_intensity never{0, 1000};
  CAF_CHECK(never.record(1)); // max_restarts 0: the first crash escalates
}
