// PRICE CACHE: a detached actor owning the Redis connection of the price
// cache. A failing Redis is a miss, never an error for the search.
#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "persistence/redis_cache.hpp"

namespace bedbank {

namespace {

/// Redis connect and command timeout.
constexpr std::chrono::milliseconds redis_timeout{200};

struct price_cache_state {
  static inline const char* name = "price_cache";
  std::unique_ptr<persistence::redis_cache> redis;
};

using cache_pointer = price_cache_actor::stateful_pointer<price_cache_state>;

price_cache_actor::behavior_type price_cache(cache_pointer self, config::redis_config cfg) {
  answer_probes(self);
  self->state.redis = std::make_unique<persistence::redis_cache>(cfg.host, cfg.port, cfg.password,
                                                                 cfg.db, redis_timeout);
  return {
      [=](get_atom, const std::string& key) -> cache_value {
        auto res = self->state.redis->get(key);
        return res ? std::move(*res) : cache_value{};
      },
      [=](put_atom, const std::string& key, const std::string& value, int64_t ttl_ms) {
        // A failed write only costs a later miss.
        static_cast<void>(self->state.redis->set(key, value, std::chrono::milliseconds{ttl_ms}));
      },
      [=](write_atom, const std::string& key, const std::string& value,
          int64_t ttl_ms) -> caf::result<bool> {
        // `set` answers an error when Redis did not store the value (a caf::error is true
        // when it holds one): that error is the answer.
        if (auto err = self->state.redis->set(key, value, std::chrono::milliseconds{ttl_ms}))
          return err;
        return true;
      },
      [=](health_atom) -> dependency_health { return self->state.redis->ping(); },
  };
}

} // namespace

price_cache_actor spawn_price_cache(caf::actor_system& sys, const config::redis_config& cfg) {
  return sys.spawn<caf::detached>(price_cache, cfg);
}

} // namespace bedbank
