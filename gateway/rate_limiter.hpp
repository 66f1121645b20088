// Per-agent fixed one-minute windows: the pure arithmetic and a small
// lock-striped table for the gateway's hot path.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bedbank::gateway {

/// Length of one rate-limit window.
inline constexpr int64_t rate_window_ms = 60000;

/// One agent's current window: aligned to the wall-clock minute.
struct rate_window {
  int64_t start_ms = 0; ///< start of the window (multiple of rate_window_ms)
  int64_t count = 0;    ///< requests admitted in it
};

/// What the limiter decided for one request, with the values of the
/// X-RateLimit-* headers.
struct rate_decision {
  bool allowed = true;
  int64_t limit = 0;
  int64_t remaining = 0; ///< requests left in this window after this one
  int64_t reset_s = 0;   ///< seconds until the window resets (at least 1)
};

/// Admits one request at `now_ms` against `limit` per window, updating `w`
/// (a new window starts when the minute has turned). Refused requests are not counted.
rate_decision take(rate_window& w, int64_t now_ms, int64_t limit);

/// Thread-safe table of windows keyed by agent id, striped to keep lock
/// contention low.
class rate_limiter {
public:
  /// Number of independently locked stripes.
  static constexpr size_t stripes = 16;

  /// Admits one request of `agent` at `now_ms`.
  rate_decision check(const std::string& agent, int64_t limit, int64_t now_ms);

private:
  struct stripe {
    std::mutex mtx;
    std::unordered_map<std::string, rate_window> windows;
  };
  std::array<stripe, stripes> stripes_;
};

} // namespace bedbank::gateway
