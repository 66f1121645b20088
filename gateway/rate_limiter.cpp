// Fixed-window rate limiting.
#include "gateway/rate_limiter.hpp"

#include <algorithm>
#include <functional>

namespace bedbank::gateway {

namespace {

constexpr int64_t ms_per_s = 1000;

int64_t floor_window(int64_t now_ms) {
  int64_t r = now_ms % rate_window_ms;
  if (r < 0)
    r += rate_window_ms;
  return now_ms - r;
}

} // namespace

rate_decision take(rate_window& w, int64_t now_ms, int64_t limit) {
  int64_t start = floor_window(now_ms);
  if (start != w.start_ms) {
    w.start_ms = start;
    w.count = 0;
  }
  rate_decision d;
  d.limit = limit;
  int64_t left_ms = w.start_ms + rate_window_ms - now_ms;
  d.reset_s = std::max<int64_t>(1, (left_ms + ms_per_s - 1) / ms_per_s);
  if (w.count >= limit) {
    d.allowed = false;
    d.remaining = 0;
    return d;
  }
  ++w.count;
  d.remaining = std::max<int64_t>(0, limit - w.count);
  return d;
}

rate_decision rate_limiter::check(const std::string& agent, int64_t limit, int64_t now_ms) {
  auto& s = stripes_[std::hash<std::string>{}(agent) % stripes];
  std::lock_guard guard{s.mtx};
  auto& w = s.windows[agent];
  return take(w, now_ms, limit);
}

} // namespace bedbank::gateway
