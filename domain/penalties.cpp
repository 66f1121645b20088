// Cancellation penalty arithmetic.
#include "domain/penalties.hpp"

#include <algorithm>

namespace bedbank::domain {

cancellation_charge charge_at(const std::vector<cancellation_policy>& policies, int64_t price,
                              int64_t now_us) {
  const cancellation_policy* in_force = nullptr;
  for (const auto& p : policies)
    if (p.from_us <= now_us && (in_force == nullptr || p.from_us >= in_force->from_us))
      in_force = &p;
  int64_t penalty = in_force ? std::clamp<int64_t>(in_force->penalty_minor, 0, price) : 0;
  return {penalty, price - penalty};
}

} // namespace bedbank::domain
