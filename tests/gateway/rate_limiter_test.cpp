// Fixed one-minute windows: limit, remaining, reset.
#define CAF_SUITE rate_limiter
#include <caf/test/unit_test_impl.hpp>

#include "gateway/rate_limiter.hpp"

using namespace bedbank::gateway;

namespace {
constexpr int64_t minute = rate_window_ms;
constexpr int64_t t0 = 1'700'000'000'000 - 1'700'000'000'000 % minute; // a window start
} // namespace

CAF_TEST(admits up to the limit then refuses) {
  rate_window w;
  for (int i = 0; i < 3; ++i) {
    auto d = take(w, t0 + i * 1000, 3);
    CAF_CHECK(d.allowed);
    CAF_CHECK_EQUAL(d.limit, 3);
    CAF_CHECK_EQUAL(d.remaining, 2 - i);
  }
  auto d = take(w, t0 + 5000, 3);
  CAF_CHECK(!d.allowed);
  CAF_CHECK_EQUAL(d.remaining, 0);
  CAF_CHECK_EQUAL(d.reset_s, 55);
  CAF_CHECK_EQUAL(w.count, 3); // refused requests are not counted
}

CAF_TEST(reset counts the seconds left and rounds up) {
  rate_window w;
  CAF_CHECK_EQUAL(take(w, t0, 10).reset_s, 60);
  CAF_CHECK_EQUAL(take(w, t0 + 59'001, 10).reset_s, 1);
  CAF_CHECK_EQUAL(take(w, t0 + 59'999, 10).reset_s, 1);
  CAF_CHECK_EQUAL(take(w, t0 + 30'500, 10).reset_s, 30);
}

CAF_TEST(a new minute starts a new window) {
  rate_window w;
  take(w, t0, 1);
  CAF_CHECK(!take(w, t0 + 59'999, 1).allowed);
  auto d = take(w, t0 + minute, 1);
  CAF_CHECK(d.allowed);
  CAF_CHECK_EQUAL(d.remaining, 0);
  CAF_CHECK_EQUAL(w.start_ms, t0 + minute);
  CAF_CHECK(take(w, t0 + 3 * minute + 10, 1).allowed);
}

CAF_TEST(the table keeps agents apart) {
  rate_limiter rl;
  CAF_CHECK(rl.check("a", 1, t0).allowed);
  CAF_CHECK(!rl.check("a", 1, t0 + 1).allowed);
  CAF_CHECK(rl.check("b", 1, t0 + 2).allowed);
  CAF_CHECK(rl.check("a", 1, t0 + minute).allowed);
}
