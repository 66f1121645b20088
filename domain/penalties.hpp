// Cancellation penalties: what cancelling costs at an instant, by the rate's policies.
#pragma once

#include <cstdint>
#include <vector>

#include "domain/rate_generator.hpp"

namespace bedbank::domain {

/// The outcome of a cancellation at one instant, in minor units of the order's currency.
struct cancellation_charge {
  int64_t penalty = 0;
  int64_t refund = 0;
};

/// The penalty in force at `now_us` is the one of the latest policy whose `from_us` is
/// not after `now_us` (none yet: free), capped at `price`; the refund is the rest.
cancellation_charge charge_at(const std::vector<cancellation_policy>& policies, int64_t price,
                              int64_t now_us);

} // namespace bedbank::domain
