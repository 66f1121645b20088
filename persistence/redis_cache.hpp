// redis_cache: the price cache's Redis side, over hiredis's synchronous API with connect and
// command timeouts. Not thread-safe: one actor owns one cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "protocols/messages.hpp"

namespace bedbank::persistence {

/// GET / SET with expiry against one Redis server. Connects lazily (AUTH and SELECT when
/// configured); after a failure the next call reconnects, and a command that failed on a
/// connection that had worked before is retried once on a fresh one. Failures come back as
/// `ec::storage_unavailable`, never thrown.
class redis_cache {
public:
  /// A cache on `host`:`port`; `password` empty for no AUTH, `db` 0 for no SELECT;
  /// `timeout` bounds connecting and every command. Does not connect yet.
  redis_cache(std::string host, uint16_t port, std::string password, int db,
              std::chrono::milliseconds timeout);

  ~redis_cache();
  redis_cache(redis_cache&&) noexcept;
  redis_cache& operator=(redis_cache&&) noexcept;
  redis_cache(const redis_cache&) = delete;
  redis_cache& operator=(const redis_cache&) = delete;

  /// The value at `key`; `found` is false on a miss.
  caf::expected<bedbank::cache_value> get(const std::string& key);

  /// Stores `value` at `key` for `ttl` (no expiry when `ttl` is zero or negative).
  caf::error set(const std::string& key, const std::string& value, std::chrono::milliseconds ttl);

  /// Runs PING and reports the round trip as dependency "redis".
  bedbank::dependency_health ping();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::persistence
