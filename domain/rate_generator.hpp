// Deterministic room rates for mock suppliers: the same (seed, hotel, dates,
// rooms) always gives the same rates, so tests can assert prices.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/dates.hpp"
#include "domain/search_query.hpp"

namespace bedbank::domain {

/// From `from_us` on, cancelling costs `penalty_minor`.
struct cancellation_policy {
  int64_t from_us = 0;
  int64_t penalty_minor = 0;

  friend bool operator==(const cancellation_policy&, const cancellation_policy&) = default;
};

/// One bookable offer of one supplier for one hotel, for the whole stay and all rooms.
struct generated_rate {
  std::string room_code;
  std::string room_name;
  std::string board; ///< RO, BB, HB, FB or AI
  int64_t net_minor = 0;
  bool refundable = true;
  bool bookable = true; ///< false: rate_type "recheck"
  std::vector<cancellation_policy> policies;
};

/// Rates of `hotel_code` at a supplier seeded with `seed`, for the stay and rooms.
/// `stars` scales the price level. Prices are in minor units of the supplier's currency.
std::vector<generated_rate> generate_rates(uint64_t seed, std::string_view hotel_code, int stars,
                                           day check_in, day check_out,
                                           const std::vector<room_occupancy>& rooms);

} // namespace bedbank::domain
