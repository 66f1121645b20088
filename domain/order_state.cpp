// The order transition table.
#include "domain/order_state.hpp"

namespace bedbank::domain {

namespace {

using S = order_status;
using E = order_event;

struct transition {
  S from;
  E event;
  S to;
};

/// Every legal transition; anything else is rejected.
constexpr std::array<transition, 13> table{{
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
}};

constexpr std::array<std::string_view, order_status_count> status_names{
    "held", "booking", "confirmed", "unknown", "failed", "cancelling", "cancelled", "closed"};

constexpr std::array<std::string_view, order_event_count> event_names{
    "confirm_requested", "supplier_confirmed", "supplier_refused",
    "supplier_silent",   "supplier_not_found", "hold_expired",
    "cancel_requested",  "supplier_cancelled", "cancel_refused"};

} // namespace

std::string_view to_string(order_status s) {
  return status_names[static_cast<size_t>(s)];
}

std::string_view to_string(order_event e) {
  return event_names[static_cast<size_t>(e)];
}

std::optional<order_status> parse_order_status(std::string_view s) {
  for (size_t i = 0; i < status_names.size(); ++i)
    if (status_names[i] == s)
      return static_cast<order_status>(i);
  return std::nullopt;
}

std::optional<order_status> next_status(order_status s, order_event e) {
  for (const auto& t : table)
    if (t.from == s && t.event == e)
      return t.to;
  return std::nullopt;
}

bool is_terminal(order_status s) {
  return s == S::confirmed || s == S::failed || s == S::cancelled || s == S::closed;
}

} // namespace bedbank::domain
