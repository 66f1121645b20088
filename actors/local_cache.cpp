// Lock-striped TTL cache of search results.
#include "actors/local_cache.hpp"

#include <functional>

namespace bedbank {

local_cache::local_cache(size_t max_entries, std::chrono::milliseconds ttl)
    : per_stripe_(std::max<size_t>(1, max_entries / stripes)), ttl_(ttl) {}

local_cache::stripe& local_cache::stripe_of(const std::string& key) {
  return stripes_[std::hash<std::string>{}(key) % stripes];
}

local_cache::value_ptr local_cache::get(const std::string& key, clock::time_point now) {
  auto& s = stripe_of(key);
  std::lock_guard guard{s.mtx};
  auto i = s.map.find(key);
  if (i == s.map.end() || i->second.expires <= now) {
    if (i != s.map.end())
      s.map.erase(i);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return i->second.value;
}

void local_cache::put(const std::string& key, value_ptr value, clock::time_point now) {
  auto& s = stripe_of(key);
  std::lock_guard guard{s.mtx};
  if (s.map.size() >= per_stripe_ && s.map.find(key) == s.map.end()) {
    // Evict: the first expired entry found, else the oldest.
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

size_t local_cache::size() const {
  size_t n = 0;
  for (const auto& s : stripes_) {
    std::lock_guard guard{s.mtx};
    n += s.map.size();
  }
  return n;
}

} // namespace bedbank
