// An agent's credit line: reserve on create, capture on confirm, release on
// failure, close or cancel (refund). Integer minor units of one currency.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace bedbank::domain {

/// Why a credit movement was refused.
enum class credit_refusal : uint8_t {
  insufficient,    ///< the reservation does not fit in the available credit
  not_reserved,    ///< capture/release of more than is reserved
  not_captured,    ///< refund of more than was captured
  negative_amount, ///< amounts are never negative
};

std::string_view to_string(credit_refusal r);

/// The state of one credit line; every movement keeps `reserved + captured <= limit`.
struct credit_line {
  int64_t limit = 0;    ///< credit granted
  int64_t reserved = 0; ///< held for orders not yet confirmed
  int64_t captured = 0; ///< spent on confirmed orders

  int64_t available() const { return limit - reserved - captured; }

  /// Reserves `amount` for a new order.
  std::optional<credit_refusal> reserve(int64_t amount);
  /// Turns a reservation into spending (order confirmed).
  std::optional<credit_refusal> capture(int64_t amount);
  /// Gives a reservation back (order failed or closed).
  std::optional<credit_refusal> release(int64_t amount);
  /// Gives back captured money (order cancelled: the refund part).
  std::optional<credit_refusal> refund(int64_t amount);
};

/// Trial outcome of comparing the supplier's current price with the agent's expected price.
enum class price_check { available, price_changed };

/// `available` when `current` is within `tolerance_bps` (1/100 %) of `expected`
/// (either direction), else `price_changed`.
price_check check_price(int64_t expected, int64_t current, int32_t tolerance_bps);

} // namespace bedbank::domain
