// OUTBOX RELAY: the seed's local message table, read. Every orders.relay_interval it claims
// the due outbox rows (FOR UPDATE SKIP LOCKED, pushing each row's due time out by a lease so
// an attempt in progress is not handed out twice) and hands them to the order engine, which
// routes each to its order's actor. A full batch polls again at once.
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "log/log.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds store_timeout{10000};

struct relay_state {
  static inline const char* name = "outbox_relay";
  std::shared_ptr<const node_env> env;
  uint64_t gen = 0;
  bool polling = false;
  int64_t lease_us = 0;
};

using relay_pointer = outbox_relay_actor::stateful_pointer<relay_state>;

void relay_span(relay_pointer self, const outbox_item& item, int64_t started_us) {
  auto& st = self->state;
  span_record s;
  s.trace_id = domain::new_trace_id();
  s.span_id = domain::new_span_id();
  s.event_type = "outbox_relay";
  s.service = "order_engine";
  s.related_type = "order";
  s.related_id = item.order_id;
  s.request_data = nlohmann::json{{"outbox_id", item.id},
                                  {"kind", item.kind},
                                  {"attempts", item.attempts},
                                  {"max_attempts", item.max_attempts}}
                       .dump();
  if (!item.last_error.empty())
    s.response_data = nlohmann::json{{"last_error", item.last_error}}.dump();
  s.started_us = started_us;
  s.duration_us = domain::now_us() - started_us;
  s.status = "success";
  s.agent_id = item.agent_id;
  s.node = st.env->node_id;
  record_span(*st.env, std::move(s));
}

void arm(relay_pointer self, milliseconds delay) {
  auto gen = ++self->state.gen;
  self->delayed_send(self, delay, tick_atom::value, gen);
}

/// Claims and hands over one batch; `done` gets the number of rows handed over.
void poll(relay_pointer self, std::function<void(int32_t)> done) {
  auto& st = self->state;
  auto store = order_store_for(*st.env, "relay");
  auto engine = st.env->actors->orders();
  if (!store || !engine || st.polling) {
    done(0);
    return;
  }
  st.polling = true;
  auto batch = st.env->cfg->orders.relay_batch;
  auto started = domain::now_us();
  self->request(store, store_timeout, claim_atom::value, started, batch, st.lease_us)
      .then(
          [self, engine, started, done](std::vector<outbox_item>& items) {
            auto& st = self->state;
            st.polling = false;
            for (const auto& item : items) {
              relay_span(self, item, started);
              // The order's owner runs it (this node's engine when it owns the order or
              // nobody else is up).
              auto owner = st.env->place ? st.env->place->order_owner(item.order_id).engine
                                         : order_engine_actor{};
              self->send(owner ? owner : engine, work_atom::value, item);
            }
            done(static_cast<int32_t>(items.size()));
          },
          [self, done](caf::error& e) {
            self->state.polling = false;
            log::warn("outbox_relay", "could not claim due rows: " + message_of(e));
            done(0);
          });
}

outbox_relay_actor::behavior_type relay_behavior(relay_pointer self,
                                                 std::shared_ptr<const node_env> env) {
  answer_probes(self);
  auto& st = self->state;
  st.env = std::move(env);
  // The lease outlasts the slowest supplier call, so a row in progress is never handed out
  // twice by this node's relay.
  milliseconds slowest{0};
  for (const auto& s : st.env->cfg->suppliers)
    slowest = std::max(slowest, s.timeout);
  st.lease_us = (slowest + st.env->cfg->orders.lease).count() * 1000;
  arm(self, milliseconds{0});
  return {
      [=](tick_atom, uint64_t gen) {
        if (gen != self->state.gen)
          return;
        poll(self, [self](int32_t n) {
          auto& st = self->state;
          bool full = n >= st.env->cfg->orders.relay_batch;
          arm(self, full ? milliseconds{0} : st.env->cfg->orders.relay_interval);
        });
      },
      [=](claim_atom) -> caf::result<int32_t> {
        auto rp = self->make_response_promise<int32_t>();
        poll(self, [rp](int32_t n) mutable { rp.deliver(n); });
        return rp;
      },
  };
}

} // namespace

outbox_relay_actor spawn_outbox_relay(caf::actor_system& sys, std::shared_ptr<const node_env> env) {
  return sys.spawn(relay_behavior, std::move(env));
}

} // namespace bedbank
