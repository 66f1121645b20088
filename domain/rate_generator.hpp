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

/// How a simulated supplier's prices move over time, as real ones do: stable for a while, then
/// changed now and then. Time is cut into windows of `window_us` aligned to the Unix epoch; in
/// each window a rate's price changes with probability `chance` to its list price times
/// (1 + u), u uniform in [-bound, +bound], and holds until its next change.
struct price_moves {
  double bound = 0.0;    ///< 0..1, largest relative change from the list price
  double chance = 0.0;   ///< 0..1, probability that a rate's price changes in one window
  int64_t window_us = 0; ///< > 0
};

/// How many windows back a price change is looked for: a rate whose price has not changed for
/// this many windows is back at its list price (itself a change, at most once in so long).
constexpr int price_move_lookback = 64;

/// The price at `now_us` of a rate listed at `net_minor`, moved as `moves` says. Deterministic
/// in (seed, rate, window of now_us), so every node of a cluster sees the same price at the same
/// instant; `rate` names the rate (hotel, room, board, dates). Never below 1.
int64_t moved_price(int64_t net_minor, uint64_t seed, std::string_view rate,
                    const price_moves& moves, int64_t now_us);

/// Rates of `hotel_code` at a supplier seeded with `seed`, for the stay and rooms.
/// `stars` scales the price level. Prices are in minor units of the supplier's currency.
std::vector<generated_rate> generate_rates(uint64_t seed, std::string_view hotel_code, int stars,
                                           day check_in, day check_out,
                                           const std::vector<room_occupancy>& rooms);

} // namespace bedbank::domain
