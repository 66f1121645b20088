// ORDER STORE: a detached actor owning one PostgreSQL connection for the order engine's
// transactions. The node runs orders.store_connections of them; an order always goes to the
// same one (by a hash of its id), so one order's writes never overtake each other.
#include <functional>

#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "persistence/order_store.hpp"

namespace bedbank {

namespace {

struct order_store_state {
  static inline const char* name = "order_store";
  std::unique_ptr<persistence::order_store> store;
};

using store_pointer = order_store_actor::stateful_pointer<order_store_state>;

/// Unwraps an expected into a result (errors pass through as they are).
template <class T> caf::result<T> result_of(caf::expected<T>&& x) {
  if (!x)
    return std::move(x.error());
  return std::move(*x);
}

order_store_actor::behavior_type order_store_behavior(store_pointer self, std::string conninfo) {
  answer_probes(self);
  self->state.store = std::make_unique<persistence::order_store>(std::move(conninfo));
  auto& db = *self->state.store;
  return {
      [&db](create_atom, const new_order& o) -> caf::result<order_reply> {
        auto res = db.create(o);
        if (!res)
          return std::move(res.error());
        return order_reply{std::move(res->order), res->replay};
      },
      [&db](get_atom, const std::string& id) { return result_of(db.load(id)); },
      [&db](apply_atom, const order_change& c) { return result_of(db.apply(c)); },
      [&db](schedule_atom, const outbox_schedule& s) -> caf::result<bool> {
        if (auto err = db.reschedule(s))
          return err;
        return true;
      },
      [&db](claim_atom, int64_t now_us, int32_t limit, int64_t lease_us) {
        return result_of(db.claim_due(now_us, limit, lease_us));
      },
      [&db](holds_atom, int32_t limit) { return result_of(db.active_holds(limit)); },
      [&db](list_atom, const order_filter& f) { return result_of(db.list(f)); },
      [&db](credit_atom, const std::string& agent) { return result_of(db.credit(agent)); },
      [&db](health_atom) { return db.ping(); },
  };
}

} // namespace

order_store_actor spawn_order_store(caf::actor_system& sys, const std::string& conninfo) {
  return sys.spawn<caf::detached>(order_store_behavior, conninfo);
}

order_store_actor order_store_for(const node_env& env, const std::string& key) {
  if (!env.actors)
    return {};
  int n = env.cfg ? env.cfg->orders.store_connections : 1;
  auto i = static_cast<int>(std::hash<std::string>{}(key) % static_cast<size_t>(n));
  return env.actors->get<order_store_actor>(directory::order_store_name(i));
}

} // namespace bedbank
