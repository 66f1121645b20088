// Restart intensity.
#include "domain/intensity.hpp"

namespace bedbank::domain {

restart_intensity::restart_intensity(int max_restarts, int64_t window_us)
    : max_(max_restarts), window_us_(window_us) {}

size_t restart_intensity::prune(int64_t now_us) {
  while (!at_us_.empty() && now_us - at_us_.front() > window_us_)
    at_us_.pop_front();
  return at_us_.size();
}

bool restart_intensity::record(int64_t now_us) {
  prune(now_us);
  at_us_.push_back(now_us);
  return static_cast<int64_t>(at_us_.size()) > max_;
}

} // namespace bedbank::domain
