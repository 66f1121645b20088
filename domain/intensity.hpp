// Restart intensity: how many restarts (crashes) a supervisor has seen within a sliding window,
// and whether one more exceeds what it allows (OTP's intensity and period).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace bedbank::domain {

class restart_intensity {
public:
  /// More than `max_restarts` within `window_us` microseconds is too many.
  restart_intensity(int max_restarts, int64_t window_us);

  /// Forgets restarts older than the window before `now_us`; answers how many remain.
  size_t prune(int64_t now_us);

  /// Counts one restart at `now_us` (pruning first); answers whether the count now exceeds
  /// max_restarts (the supervisor escalates).
  bool record(int64_t now_us);

  /// Restarts within the window at the last prune or record.
  size_t count() const { return at_us_.size(); }

private:
  int max_;
  int64_t window_us_;
  std::deque<int64_t> at_us_;
};

} // namespace bedbank::domain
