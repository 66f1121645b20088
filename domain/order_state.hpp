// The order state machine as a transition table: which event moves an order
// from which status to which. Every other (status, event) pair is illegal.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bedbank::domain {

/// Order statuses of api.md.
enum class order_status : uint8_t {
  held,       ///< inventory held, waiting for confirm (hold_only)
  booking,    ///< the supplier booking is being made
  confirmed,  ///< the supplier confirmed (terminal until cancelled)
  unknown,    ///< the supplier did not answer; resolved by GetBooking, never by booking blindly
  failed,     ///< the supplier refused; terminal
  cancelling, ///< a cancel is on its way to the supplier
  cancelled,  ///< terminal
  closed,     ///< closed without a booking (the hold expired); terminal
};

/// What can happen to an order.
enum class order_event : uint8_t {
  confirm_requested,  ///< the agent confirms a held order
  supplier_confirmed, ///< CreateBooking or GetBooking says: booked
  supplier_refused,   ///< CreateBooking says no (sold out, price, error after retries)
  supplier_silent,    ///< CreateBooking timed out or lost its connection
  supplier_not_found, ///< GetBooking says: no such booking (book again)
  hold_expired,       ///< the hold's TTL passed
  cancel_requested,   ///< the agent cancels
  supplier_cancelled, ///< CancelBooking succeeded
  cancel_refused,     ///< CancelBooking was refused: the booking stands
};

inline constexpr size_t order_status_count = 8;
inline constexpr size_t order_event_count = 9;

std::string_view to_string(order_status s);
std::string_view to_string(order_event e);

/// Parses a status name of the API; empty for an unknown name.
std::optional<order_status> parse_order_status(std::string_view s);

/// The status after `e` in status `s`; empty when the transition is illegal.
std::optional<order_status> next_status(order_status s, order_event e);

/// True for confirmed, failed, cancelled and closed (confirmed may still be cancelled).
bool is_terminal(order_status s);

} // namespace bedbank::domain
