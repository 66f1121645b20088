// The in-process price cache (pricing.local_cache_ttl): shared by every search
// actor of the node, bounded, lock-striped so parallel searches rarely contend.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "protocols/messages.hpp"

namespace bedbank {

/// Bounded TTL map from a canonical query key to an immutable search result.
class local_cache {
public:
  using clock = std::chrono::steady_clock;
  using value_ptr = std::shared_ptr<const search_result>;

  /// `max_entries` bounds the whole cache; `ttl` is how long an entry is served.
  local_cache(size_t max_entries, std::chrono::milliseconds ttl);

  /// The entry for `key` if present and fresh at `now`.
  value_ptr get(const std::string& key, clock::time_point now = clock::now());

  /// Stores `value` under `key` from `now` on; evicts an expired or the oldest entry of the stripe
  /// when full.
  void put(const std::string& key, value_ptr value, clock::time_point now = clock::now());

  /// Number of entries (all stripes).
  size_t size() const;

  uint64_t hits() const { return hits_.load(); }
  uint64_t misses() const { return misses_.load(); }

private:
  static constexpr size_t stripes = 16;
  struct entry {
    value_ptr value;
    clock::time_point expires;
    clock::time_point stored;
  };
  struct stripe {
    mutable std::mutex mtx;
    std::unordered_map<std::string, entry> map;
  };
  stripe& stripe_of(const std::string& key);

  size_t per_stripe_;
  std::chrono::milliseconds ttl_;
  std::array<stripe, stripes> stripes_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

} // namespace bedbank
