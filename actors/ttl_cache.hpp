// A bounded, lock-striped map whose entries expire after a TTL. Shared by
// threads (search actors, gateway I/O threads); values should be cheap to
// copy (shared pointers).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bedbank {

/// Bounded TTL map from string keys to `Value`; `Value{}` means "absent".
template <class Value> class ttl_cache {
public:
  using clock = std::chrono::steady_clock;

  /// `max_entries` bounds the whole cache; `ttl` is how long an entry is served.
  ttl_cache(size_t max_entries, std::chrono::milliseconds ttl)
      : per_stripe_(std::max<size_t>(1, max_entries / stripes)), ttl_(ttl) {}

  /// The entry for `key` if present and fresh at `now`, else `Value{}`.
  Value get(const std::string& key, clock::time_point now = clock::now()) {
    auto& s = stripe_of(key);
    std::lock_guard guard{s.mtx};
    auto i = s.map.find(key);
    if (i == s.map.end() || i->second.expires <= now) {
      if (i != s.map.end())
        s.map.erase(i);
      misses_.fetch_add(1, std::memory_order_relaxed);
      return Value{};
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return i->second.value;
  }

  /// Stores `value` under `key` from `now` on; when the stripe is full it
  /// evicts an expired entry, else the oldest.
  void put(const std::string& key, Value value, clock::time_point now = clock::now()) {
    auto& s = stripe_of(key);
    std::lock_guard guard{s.mtx};
    if (s.map.size() >= per_stripe_ && s.map.find(key) == s.map.end()) {
      auto victim = s.map.begin();
      for (auto i = s.map.begin(); i != s.map.end(); ++i) {
        if (i->second.expires <= now) {
          victim = i;
          break;
        }
        if (i->second.stored < victim->second.stored)
          victim = i;
      }
      s.map.erase(victim);
    }
    s.map[key] = entry{std::move(value), now + ttl_, now};
  }

  /// Number of entries (all stripes), expired ones included until touched.
  size_t size() const {
    size_t n = 0;
    for (const auto& s : stripes_) {
      std::lock_guard guard{s.mtx};
      n += s.map.size();
    }
    return n;
  }

  uint64_t hits() const { return hits_.load(); }
  uint64_t misses() const { return misses_.load(); }

private:
  static constexpr size_t stripes = 16;
  struct entry {
    Value value;
    clock::time_point expires;
    clock::time_point stored;
  };
  struct stripe {
    mutable std::mutex mtx;
    std::unordered_map<std::string, entry> map;
  };
  stripe& stripe_of(const std::string& key) {
    return stripes_[std::hash<std::string>{}(key) % stripes];
  }

  size_t per_stripe_;
  std::chrono::milliseconds ttl_;
  std::array<stripe, stripes> stripes_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

} // namespace bedbank
