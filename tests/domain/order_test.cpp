// Unit tests of the order state machine (exhaustive) and cancellation penalties.
#define CAF_SUITE order
#include <caf/test/unit_test_impl.hpp>

#include <set>
#include <tuple>

#include "domain/credit.hpp"
#include "domain/order_state.hpp"
#include "domain/penalties.hpp"

using namespace bedbank::domain;
using S = order_status;
using E = order_event;

namespace {

/// The legal transitions, written out independently of the table under test.
const std::set<std::tuple<S, E, S>> legal{
    {S::held, E::confirm_requested, S::booking},
    {S::held, E::hold_expired, S::closed},
    {S::held, E::cancel_requested, S::cancelled},
    {S::booking, E::supplier_confirmed, S::confirmed},
    {S::booking, E::supplier_refused, S::failed},
    {S::booking, E::supplier_silent, S::unknown},
    {S::unknown, E::supplier_confirmed, S::confirmed},
    {S::unknown, E::supplier_not_found, S::booking},
    {S::unknown, E::supplier_refused, S::failed},
    {S::confirmed, E::cancel_requested, S::cancelling},
    {S::cancelling, E::supplier_cancelled, S::cancelled},
    {S::cancelling, E::cancel_refused, S::confirmed},
    {S::cancelling, E::supplier_silent, S::cancelling},
};

} // namespace

CAF_TEST(every status and event pair is legal exactly as listed) {
  size_t legal_seen = 0;
  for (size_t si = 0; si < order_status_count; ++si) {
    for (size_t ei = 0; ei < order_event_count; ++ei) {
      auto s = static_cast<S>(si);
      auto e = static_cast<E>(ei);
      auto got = next_status(s, e);
      std::optional<S> want;
      for (const auto& [from, ev, to] : legal)
        if (from == s && ev == e)
          want = to;
      if (want)
        ++legal_seen;
      CAF_CHECK(got == want);
      if (got != want)
        CAF_MESSAGE("mismatch for " << to_string(s) << " + " << to_string(e));
    }
  }
  CAF_CHECK_EQUAL(legal_seen, legal.size());
}

CAF_TEST(no transition leaves failed cancelled or closed) {
  for (auto s : {S::failed, S::cancelled, S::closed})
    for (size_t ei = 0; ei < order_event_count; ++ei)
      CAF_CHECK(!next_status(s, static_cast<E>(ei)).has_value());
}

CAF_TEST(an unknown booking is never booked again without asking) {
  // From unknown, only the supplier's answer to GetBooking moves the order on.
  CAF_CHECK(!next_status(S::unknown, E::confirm_requested));
  CAF_CHECK(!next_status(S::unknown, E::cancel_requested));
  CAF_CHECK(next_status(S::unknown, E::supplier_not_found) == S::booking);
}

CAF_TEST(terminal statuses and names) {
  CAF_CHECK(is_terminal(S::confirmed));
  CAF_CHECK(is_terminal(S::failed));
  CAF_CHECK(is_terminal(S::cancelled));
  CAF_CHECK(is_terminal(S::closed));
  CAF_CHECK(!is_terminal(S::held));
  CAF_CHECK(!is_terminal(S::booking));
  CAF_CHECK(!is_terminal(S::unknown));
  CAF_CHECK(!is_terminal(S::cancelling));
  for (size_t si = 0; si < order_status_count; ++si) {
    auto s = static_cast<S>(si);
    CAF_CHECK(parse_order_status(to_string(s)) == s);
  }
  CAF_CHECK(!parse_order_status("pending"));
}

CAF_TEST(penalties follow the policy in force at the instant) {
  std::vector<cancellation_policy> policies{{1000, 5000}, {2000, 20000}};
  auto before = charge_at(policies, 20000, 999);
  CAF_CHECK_EQUAL(before.penalty, 0);
  CAF_CHECK_EQUAL(before.refund, 20000);
  auto first = charge_at(policies, 20000, 1000);
  CAF_CHECK_EQUAL(first.penalty, 5000);
  CAF_CHECK_EQUAL(first.refund, 15000);
  auto later = charge_at(policies, 20000, 5000);
  CAF_CHECK_EQUAL(later.penalty, 20000);
  CAF_CHECK_EQUAL(later.refund, 0);
  // Order of the list does not matter; a penalty never exceeds the price.
  std::vector<cancellation_policy> shuffled{{2000, 90000}, {1000, 5000}};
  auto capped = charge_at(shuffled, 20000, 3000);
  CAF_CHECK_EQUAL(capped.penalty, 20000);
  CAF_CHECK_EQUAL(capped.refund, 0);
  CAF_CHECK_EQUAL(charge_at({}, 20000, 3000).penalty, 0);
}

CAF_TEST(credit lines reserve capture release and refund without going over) {
  credit_line c{100000, 0, 0};
  CAF_CHECK(!c.reserve(60000));
  CAF_CHECK_EQUAL(c.available(), 40000);
  CAF_CHECK(c.reserve(40001) == credit_refusal::insufficient);
  CAF_CHECK_EQUAL(c.reserved, 60000); // a refused reservation changes nothing
  CAF_CHECK(!c.capture(60000));
  CAF_CHECK_EQUAL(c.reserved, 0);
  CAF_CHECK_EQUAL(c.captured, 60000);
  CAF_CHECK(c.release(1) == credit_refusal::not_reserved);
  CAF_CHECK(!c.refund(45000));
  CAF_CHECK_EQUAL(c.captured, 15000);
  CAF_CHECK(c.refund(15001) == credit_refusal::not_captured);
  CAF_CHECK(c.reserve(-1) == credit_refusal::negative_amount);
  CAF_CHECK(!c.reserve(85000));
  CAF_CHECK_EQUAL(c.available(), 0);
  CAF_CHECK(!c.release(85000));
  CAF_CHECK_EQUAL(c.available(), 85000);
}

CAF_TEST(the trial price check allows the tolerance in both directions) {
  CAF_CHECK(check_price(100000, 100000, 0) == price_check::available);
  CAF_CHECK(check_price(100000, 100001, 0) == price_check::price_changed);
  CAF_CHECK(check_price(100000, 101000, 100) == price_check::available); // +1% at 1%
  CAF_CHECK(check_price(100000, 101001, 100) == price_check::price_changed);
  CAF_CHECK(check_price(100000, 99000, 100) == price_check::available); // -1% at 1%
  CAF_CHECK(check_price(100000, 98999, 100) == price_check::price_changed);
}
