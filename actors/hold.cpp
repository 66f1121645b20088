// HOLD: one actor per inventory hold of a held order. Fires the expiry at the hold's
// expires_at (at once when it has passed, e.g. when the sweep takes over after a restart) and
// re-checks the held inventory with the supplier every inventory.sync_interval; gone
// inventory closes the order early. The engine hears of both and routes them to the order.
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/factories.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds store_timeout{10000};
constexpr milliseconds supplier_grace{1000};

struct hold_state {
  static inline const char* name = "hold";
  std::shared_ptr<const node_env> env;
  hold_info hold;
  order_engine_actor engine;
};

using hold_pointer = hold_actor::stateful_pointer<hold_state>;

void hold_span(hold_pointer self, const order_record& o, const char* event, int64_t started_us,
               const std::string& status, nlohmann::json response) {
  auto& st = self->state;
  if (o.trace_id.empty())
    return;
  span_record s;
  s.trace_id = o.trace_id;
  s.span_id = domain::new_span_id();
  s.event_type = event;
  s.service = "inventory";
  s.related_type = "order";
  s.related_id = o.order_id;
  s.request_data = nlohmann::json{{"supplier", o.supplier}, {"hotel_code", o.hotel_code}}.dump();
  s.response_data = response.dump();
  s.started_us = started_us;
  s.duration_us = domain::now_us() - started_us;
  s.status = status;
  s.agent_id = o.agent_id;
  s.node = st.env->node_id;
  record_span(*st.env, std::move(s));
}

/// Re-checks the inventory: still held and available → sync again later; order no longer
/// held → quit; inventory gone → tell the engine and quit.
void sync(hold_pointer self) {
  auto& st = self->state;
  auto store = order_store_for(*st.env, st.hold.order_id);
  if (!store) {
    self->delayed_send(self, st.env->cfg->inventory.sync_interval, sync_atom::value);
    return;
  }
  self->request(store, store_timeout, get_atom::value, st.hold.order_id)
      .then(
          [self](order_record& o) {
            auto& st = self->state;
            if (o.status != "held") {
              self->quit();
              return;
            }
            auto conn = st.env->actors->supplier(o.supplier);
            const auto* sc = st.env->cfg->supplier(o.supplier);
            if (!conn || sc == nullptr) {
              self->delayed_send(self, st.env->cfg->inventory.sync_interval, sync_atom::value);
              return;
            }
            avail_request req{o.hotel_code, o.room_code, o.board,    o.check_in,
                              o.check_out,  o.rooms,     o.scenario, {o.trace_id, {}, o.agent_id}};
            auto started = domain::now_us();
            self->request(conn, sc->timeout + supplier_grace, check_avail_atom::value, req)
                .then(
                    [self, o, started](avail_reply& r) {
                      auto& st = self->state;
                      hold_span(self, o, "hold_sync", started, "success",
                                {{"available", r.available}});
                      if (!r.available) {
                        self->send(st.engine, expire_atom::value, o.order_id,
                                   std::string{"inventory_gone"});
                        self->quit();
                        return;
                      }
                      self->delayed_send(self, st.env->cfg->inventory.sync_interval,
                                         sync_atom::value);
                    },
                    [self, o, started](caf::error& e) {
                      // A supplier that cannot answer now is asked again next time.
                      hold_span(self, o, "hold_sync", started, "error",
                                {{"error", to_string(code_of(e))}});
                      self->delayed_send(self, self->state.env->cfg->inventory.sync_interval,
                                         sync_atom::value);
                    });
          },
          [self](caf::error&) {
            self->delayed_send(self, self->state.env->cfg->inventory.sync_interval,
                               sync_atom::value);
          });
}

hold_actor::behavior_type hold_behavior(hold_pointer self, std::shared_ptr<const node_env> env,
                                        hold_info hold, order_engine_actor engine) {
  auto& st = self->state;
  st.env = std::move(env);
  st.hold = std::move(hold);
  st.engine = std::move(engine);
  auto left_us = st.hold.expires_us - domain::now_us();
  if (left_us <= 0)
    self->send(self, expire_atom::value);
  else
    self->delayed_send(self, std::chrono::microseconds{left_us}, expire_atom::value);
  if (std::chrono::microseconds{left_us} > st.env->cfg->inventory.sync_interval)
    self->delayed_send(self, st.env->cfg->inventory.sync_interval, sync_atom::value);
  return {
      [=](expire_atom) {
        auto& st = self->state;
        self->send(st.engine, expire_atom::value, st.hold.order_id, std::string{"hold_expired"});
        self->quit();
      },
      [=](sync_atom) {
        auto left = std::chrono::microseconds{self->state.hold.expires_us - domain::now_us()};
        if (left > std::chrono::microseconds{0})
          sync(self);
      },
      [=](release_atom) { self->quit(); },
  };
}

} // namespace

hold_actor spawn_hold(caf::actor_system& sys, std::shared_ptr<const node_env> env, hold_info hold,
                      order_engine_actor engine) {
  return sys.spawn(hold_behavior, std::move(env), std::move(hold), std::move(engine));
}

} // namespace bedbank
