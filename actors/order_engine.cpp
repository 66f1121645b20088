// ORDER ENGINE: one per node. Runs trials (re-check at the supplier, price with the agent's
// markup, keep the trial for inventory.hold_ttl), the create transaction, and routes every
// other order message to the order's own actor — spawned on demand, linked (it dies with the
// engine), forgotten when it passivates. It also owns the hold actors and runs the hold sweep,
// which takes over every hold whose actor is gone (after a restart, say).
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "domain/credit.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "domain/intensity.hpp"
#include "domain/money.hpp"
#include "log/log.hpp"
#include "protocols/agent_json.hpp"
#include "protocols/errors.hpp"
#include "protocols/order_json.hpp"

namespace bedbank {

namespace {

using std::chrono::milliseconds;
using json = nlohmann::json;

constexpr milliseconds store_timeout{10000};
constexpr milliseconds cache_timeout{2000};
constexpr milliseconds supplier_grace{1000};
/// Trials kept in memory besides Redis (a create usually reaches the node that ran the trial).
constexpr size_t max_local_trials = 200000;
/// Holds taken over per sweep.
constexpr int32_t sweep_batch = 1000;

struct order_entry {
  order_actor actor;
  uint64_t forwarded = 0; ///< messages sent to it; compared with its count when it passivates
};

struct engine_state {
  static inline const char* name = "order_engine";
  std::shared_ptr<const node_env> env;
  std::unordered_map<std::string, order_entry> orders;
  std::unordered_map<caf::actor_addr, std::string> order_of; ///< order actor → order id
  std::unordered_map<std::string, hold_actor> holds;
  std::unordered_map<caf::actor_addr, std::string> hold_of;
  std::unordered_map<std::string, trial_record> trials;
  uint64_t sweep_gen = 0;
  /// Order and hold actors that ended with an error, within supervision.window.
  domain::restart_intensity crashes{0, 0};
};

using engine_pointer = order_engine_actor::stateful_pointer<engine_state>;

std::string trial_cache_key(const std::string& id) {
  return "bedbank:trial:v1:" + id;
}

int32_t markup_of(const config::bedbank_config& cfg, const std::string& agent_id) {
  for (const auto& a : cfg.agents)
    if (a.id == agent_id)
      return a.markup_bps >= 0 ? a.markup_bps : cfg.pricing.default_markup_bps;
  return cfg.pricing.default_markup_bps;
}

/// The agent's price of `net_minor` (supplier currency) in `currency`, markup included.
std::optional<int64_t> agent_price(const config::bedbank_config& cfg, int32_t markup_bps,
                                   int64_t net_minor, const std::string& net_currency,
                                   const std::string& currency) {
  auto converted = agent_json::convert_amount(net_minor, net_currency, currency, cfg.pricing);
  if (!converted)
    return std::nullopt;
  return domain::apply_markup(*converted, markup_bps);
}

/// The actor of `id`, spawned (and linked) when it is not running; a new actor starts from
/// `known` when given (else it loads the order).
order_entry& order_for(engine_pointer self, const std::string& id,
                       std::optional<order_record> known = std::nullopt) {
  auto& st = self->state;
  auto i = st.orders.find(id);
  if (i != st.orders.end())
    return i->second;
  auto a = spawn_order(self->system(), st.env, id, order_engine_actor{self}, std::move(known));
  self->link_to(a);
  st.order_of.emplace(a.address(), id);
  if (st.env->counters)
    ++st.env->counters->orders;
  return st.orders.emplace(id, order_entry{std::move(a), 0}).first->second;
}

/// Starts the hold actor of `h` unless one is running.
void ensure_hold(engine_pointer self, const hold_info& h) {
  auto& st = self->state;
  if (st.holds.count(h.order_id) != 0)
    return;
  auto a = spawn_hold(self->system(), st.env, h, order_engine_actor{self});
  self->link_to(a);
  st.hold_of.emplace(a.address(), h.order_id);
  st.holds.emplace(h.order_id, std::move(a));
  if (st.env->counters)
    ++st.env->counters->holds;
}

/// Whether this node owns order `id` (always, when it runs alone).
bool owned(engine_pointer self, const std::string& id) {
  const auto& place = self->state.env->place;
  return !place || place->owns(id);
}

/// An order or hold actor ended with an error: logged, counted, recorded as a span. More than
/// supervision.max_restarts within supervision.window escalates (the engine quits and the node
/// supervisor restarts it); the order itself is rebuilt from PostgreSQL by its next message,
/// and the relay (outbox leases) and the hold sweep bring back any work it had in progress.
void child_crashed(engine_pointer self, const char* kind, const std::string& id,
                   const caf::error& reason) {
  auto& st = self->state;
  const auto& sup = st.env->cfg->supervision;
  bool too_many = st.crashes.record(domain::now_us());
  if (st.env->counters)
    ++st.env->counters->crashes;
  auto why = self->system().render(reason);
  log::warn("order_engine", std::string{kind} + " actor crashed; rebuilt on its next message",
            {{"order_id", id}, {"reason", why}});
  auto s = incident_span(*st.env, "actor_crash", "order_engine", "order", id, "error");
  s.request_data = json{{"kind", kind}}.dump();
  s.response_data = json{{"crashes_in_window", st.crashes.count()}}.dump();
  s.error_detail = why;
  record_span(*st.env, std::move(s));
  if (too_many) {
    log::error("order_engine", "order actors crash too often; escalating",
               {{"crashes", st.crashes.count()}, {"window_ms", sup.window.count()}});
    self->quit(reason);
  }
}

/// The ring moved: holds of orders this node no longer owns are stopped (their new owner's
/// sweep takes them over), and this node's sweep runs now for the holds it gained.
void rebalance(engine_pointer self);

/// `span_id`, when given, was chosen before the supplier call the span times (the call's spans
/// nest under it).
void engine_span(engine_pointer self, const trace_context& tr, const char* event,
                 const std::string& order_id, int64_t started_us, const std::string& status,
                 const std::string& error, json request, json response, std::string span_id = {}) {
  auto& st = self->state;
  if (tr.trace_id.empty())
    return;
  span_record s;
  s.trace_id = tr.trace_id;
  s.span_id = span_id.empty() ? domain::new_span_id() : std::move(span_id);
  s.parent_span_id = tr.parent_span_id;
  s.event_type = event;
  s.service = "order_engine";
  s.related_type = "order";
  s.related_id = order_id;
  s.request_data = request.dump();
  s.response_data = response.dump();
  s.started_us = started_us;
  s.duration_us = domain::now_us() - started_us;
  s.status = status;
  s.error_detail = error;
  s.agent_id = tr.agent_id;
  s.node = st.env->node_id;
  record_span(*st.env, std::move(s));
}

/// Remembers a trial here and in Redis (for inventory.hold_ttl), then runs `kept`: a trial is
/// answered once Redis holds it, so the create finds it on whichever node it reaches (this one
/// may die in between). A Redis that does not store it (or not in time) is logged with why; the
/// trial then lives on this node only.
void keep_trial(engine_pointer self, const trial_record& t, std::function<void()> kept) {
  auto& st = self->state;
  if (st.trials.size() < max_local_trials)
    st.trials[t.trial_id] = t;
  auto cache = st.env->actors->cache();
  if (!cache) {
    kept();
    return;
  }
  auto id = t.trial_id;
  self->request(cache, cache_timeout, write_atom::value, trial_cache_key(t.trial_id),
                order_json::trial_to_cache(t),
                static_cast<int64_t>(st.env->cfg->inventory.hold_ttl.count()))
      .then([kept](bool) { kept(); },
            [kept, id](caf::error& err) {
              auto why = code_of(err) == ec::storage_unavailable
                             ? message_of(err)
                             : "no answer within " + std::to_string(cache_timeout.count()) + " ms";
              log::warn("order_engine", "Redis did not store a trial; it lives on this node only",
                        {{"trial_id", id}, {"reason", why}});
              kept();
            });
}

/// The trial `id` of `agent` (here, else from Redis); `ec::not_found` when unknown or expired.
void find_trial(engine_pointer self, const std::string& id, const std::string& agent,
                std::function<void(caf::expected<trial_record>)> k) {
  auto& st = self->state;
  auto gone = [id] {
    return make_error(ec::not_found, "trial " + id + " is unknown or has expired");
  };
  auto now = domain::now_us();
  if (auto i = st.trials.find(id); i != st.trials.end()) {
    if (i->second.agent_id != agent || i->second.expires_us <= now)
      k(gone());
    else
      k(i->second);
    return;
  }
  auto cache = st.env->actors->cache();
  if (!cache) {
    k(gone());
    return;
  }
  self->request(cache, cache_timeout, get_atom::value, trial_cache_key(id))
      .then(
          [k, gone, agent, now](cache_value& v) {
            auto t = v.found ? order_json::trial_from_cache(v.data) : std::nullopt;
            if (!t || t->agent_id != agent || t->expires_us <= now)
              k(gone());
            else
              k(std::move(*t));
          },
          [k](caf::error& e) {
            k(make_error(ec::storage_unavailable,
                         "the trial store (Redis) did not answer: " + message_of(e)));
          });
}

/// Runs one hold sweep: every active hold of a held order without an actor gets one (an
/// expired hold's actor fires at once).
void sweep(engine_pointer self) {
  auto& st = self->state;
  auto now = domain::now_us();
  for (auto i = st.trials.begin(); i != st.trials.end();)
    i = i->second.expires_us <= now ? st.trials.erase(i) : std::next(i);
  auto store = order_store_for(*st.env, "sweep");
  if (!store)
    return;
  self->request(store, store_timeout, holds_atom::value, sweep_batch)
      .then(
          [self](std::vector<hold_info>& holds) {
            for (const auto& h : holds)
              if (owned(self, h.order_id))
                ensure_hold(self, h);
          },
          [](caf::error&) {});
}

void arm_sweep(engine_pointer self) {
  auto gen = ++self->state.sweep_gen;
  self->delayed_send(self, self->state.env->cfg->inventory.cleanup_interval, tick_atom::value, gen);
}

order_engine_actor::behavior_type engine_behavior(engine_pointer self,
                                                  std::shared_ptr<const node_env> env) {
  answer_probes(self);
  self->state.env = std::move(env);
  const auto& sup = self->state.env->cfg->supervision;
  self->state.crashes = domain::restart_intensity{
      sup.max_restarts, std::chrono::duration_cast<std::chrono::microseconds>(sup.window).count()};
  // Order and hold actors are linked: their exits arrive here as messages (they never take
  // the engine down); anybody else's exit ends the engine and, through the links, them.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    bool failed = msg.reason && msg.reason != caf::exit_reason::user_shutdown;
    if (auto i = st.order_of.find(msg.source); i != st.order_of.end()) {
      auto id = i->second;
      auto o = st.orders.find(id);
      if (o != st.orders.end() && o->second.actor.address() == msg.source)
        st.orders.erase(o);
      st.order_of.erase(i);
      if (st.env->counters)
        --st.env->counters->orders;
      if (failed)
        child_crashed(self, "order", id, msg.reason);
      return;
    }
    if (auto i = st.hold_of.find(msg.source); i != st.hold_of.end()) {
      auto id = i->second;
      auto h = st.holds.find(id);
      if (h != st.holds.end() && h->second.address() == msg.source)
        st.holds.erase(h);
      st.hold_of.erase(i);
      if (st.env->counters)
        --st.env->counters->holds;
      if (failed)
        child_crashed(self, "hold", id, msg.reason);
      return;
    }
    self->quit(msg.reason);
  });
  // Take over the holds left by a previous run at once, then every cleanup_interval.
  sweep(self);
  arm_sweep(self);
  return {
      [=](trial_atom, const trial_request& req) -> caf::result<trial_record> {
        auto& st = self->state;
        auto rp = self->make_response_promise<trial_record>();
        auto conn = st.env->actors->supplier(req.supplier);
        if (!conn) {
          rp.deliver(make_error(ec::supplier_unavailable,
                                "supplier '" + req.supplier + "' is not available"));
          return rp;
        }
        const auto* sc = st.env->cfg->supplier(req.supplier);
        auto timeout = (sc != nullptr ? sc->timeout : milliseconds{5000}) + supplier_grace;
        // The trial span is chosen now: the supplier's span of the check nests under it.
        trace_context call{req.trace.trace_id, domain::new_span_id(), req.trace.agent_id};
        avail_request ar{req.hotel_code, req.room_code, req.board,    req.check_in,
                         req.check_out,  req.rooms,     req.scenario, call};
        auto started = domain::now_us();
        auto order_id = req.order_id.empty() ? domain::new_order_id() : req.order_id;
        self->request(conn, timeout, check_avail_atom::value, ar)
            .then(
                [self, rp, req, started, order_id, call](avail_reply& av) mutable {
                  auto& st = self->state;
                  const auto& cfg = *st.env->cfg;
                  trial_record t;
                  t.trial_id = domain::new_trial_id(order_id);
                  t.order_id = order_id;
                  t.agent_id = req.agent_id;
                  t.supplier = req.supplier;
                  t.hotel_id = req.hotel_id;
                  t.hotel_code = req.hotel_code;
                  t.room_code = req.room_code;
                  t.room_name = av.room_name;
                  t.board = req.board;
                  t.check_in = req.check_in;
                  t.check_out = req.check_out;
                  t.rooms = req.rooms;
                  t.guests_json = req.guests_json;
                  t.currency = req.currency;
                  t.price_minor = req.expected_minor;
                  t.net_minor = av.net_minor;
                  t.net_currency = av.currency;
                  t.refundable = av.refundable;
                  t.scenario = req.scenario;
                  t.expires_us = domain::now_us() + cfg.inventory.hold_ttl.count() * 1000;
                  t.trace_id = req.trace.trace_id;
                  auto markup = markup_of(cfg, req.agent_id);
                  if (!av.available) {
                    t.status = "sold_out";
                  } else {
                    auto price = agent_price(cfg, markup, av.net_minor, av.currency, req.currency);
                    if (!price) {
                      rp.deliver(make_error(ec::invalid_request, "no exchange rate from " +
                                                                     av.currency + " to " +
                                                                     req.currency));
                      return;
                    }
                    t.price_minor = *price;
                    for (const auto& p : av.policies) {
                      auto pen =
                          agent_price(cfg, markup, p.penalty_minor, av.currency, req.currency);
                      t.policies.push_back({p.from_us, std::min(pen.value_or(*price), *price)});
                    }
                    bool same = !cfg.risk.price_check_enabled ||
                                domain::check_price(req.expected_minor, *price,
                                                    cfg.risk.price_tolerance_bps) ==
                                    domain::price_check::available;
                    t.status = same ? "available" : "price_changed";
                  }
                  engine_span(self, req.trace, "trial", t.order_id, started, "success", {},
                              json{{"trial_id", t.trial_id},
                                   {"supplier", t.supplier},
                                   {"hotel_id", t.hotel_id},
                                   {"room_code", t.room_code},
                                   {"board", t.board},
                                   {"expected",
                                    agent_json::encode_money(req.expected_minor, req.currency)}},
                              json{{"status", t.status},
                                   {"price", agent_json::encode_money(t.price_minor, t.currency)},
                                   {"net", agent_json::encode_money(t.net_minor, t.net_currency)}},
                              call.parent_span_id);
                  keep_trial(self, t, [rp, t]() mutable { rp.deliver(t); });
                },
                [self, rp, req, started, order_id, call](caf::error& err) mutable {
                  engine_span(self, req.trace, "trial", order_id, started,
                              code_of(err) == ec::supplier_timeout ? "timeout" : "error",
                              to_string(code_of(err)), json{{"supplier", req.supplier}},
                              json{{"message", message_of(err)}}, call.parent_span_id);
                  rp.deliver(err);
                });
        return rp;
      },
      [=](create_atom, const create_request& req) -> caf::result<order_reply> {
        auto rp = self->make_response_promise<order_reply>();
        auto started = domain::now_us();
        find_trial(
            self, req.trial_id, req.agent_id,
            [self, rp, req, started](caf::expected<trial_record> t) mutable {
              auto& st = self->state;
              const auto& cfg = *st.env->cfg;
              if (!t) {
                // The same client reference again must return its order even after the trial is
                // gone (a retry after inventory.hold_ttl, say): look before refusing.
                auto err = t.error();
                auto store = order_store_for(*st.env, req.agent_id + req.client_reference);
                if (code_of(err) != ec::not_found || !store) {
                  rp.deliver(err);
                  return;
                }
                order_filter f;
                f.agent_id = req.agent_id;
                f.client_reference = req.client_reference;
                f.limit = 1;
                self->request(store, store_timeout, list_atom::value, f)
                    .then(
                        [rp, err](std::vector<order_record>& found) mutable {
                          if (found.empty())
                            rp.deliver(err);
                          else
                            rp.deliver(order_reply{std::move(found.front()), true});
                        },
                        [rp](caf::error& e) mutable { rp.deliver(e); });
                return;
              }
              if (t->status == "sold_out") {
                rp.deliver(make_error(ec::sold_out, "the trial found the rate sold out"));
                return;
              }
              if (t->status == "price_changed") {
                rp.deliver(make_error(ec::price_changed,
                                      "the price changed to " +
                                          domain::format_amount(t->price_minor, t->currency) + " " +
                                          t->currency + "; run a new trial with that price"));
                return;
              }
              auto now = domain::now_us();
              new_order n;
              auto& o = n.order;
              o.order_id = t->order_id;
              o.agent_id = req.agent_id;
              o.client_reference = req.client_reference;
              o.status = req.hold_only ? "held" : "booking";
              o.supplier = t->supplier;
              o.hotel_id = t->hotel_id;
              o.hotel_code = t->hotel_code;
              o.room_code = t->room_code;
              o.room_name = t->room_name;
              o.board = t->board;
              o.check_in = t->check_in;
              o.check_out = t->check_out;
              o.rooms = t->rooms;
              o.guests_json = t->guests_json;
              o.contact_json = req.contact_json;
              o.price_minor = t->price_minor;
              o.currency = t->currency;
              o.net_minor = t->net_minor;
              o.net_currency = t->net_currency;
              o.credit_currency = cfg.pricing.default_currency;
              if (cfg.risk.credit_check_enabled) {
                auto credit = agent_json::convert_amount(o.price_minor, o.currency,
                                                         o.credit_currency, cfg.pricing);
                if (!credit) {
                  rp.deliver(make_error(ec::invalid_request, "no exchange rate from " + o.currency +
                                                                 " to " + o.credit_currency));
                  return;
                }
                o.credit_minor = *credit;
              }
              o.refundable = t->refundable;
              o.policies = t->policies;
              o.hold_only = req.hold_only;
              o.hold_expires_us = now + cfg.inventory.hold_ttl.count() * 1000;
              o.scenario = req.scenario.empty() ? t->scenario : req.scenario;
              o.created_us = now;
              o.updated_us = now;
              o.trace_id = req.trace.trace_id;
              o.trace_ids = {req.trace.trace_id};
              const auto* sc = cfg.supplier(o.supplier);
              auto call = sc != nullptr ? sc->timeout : milliseconds{5000};
              n.max_attempts = sc != nullptr ? sc->booking.max_attempts : 5;
              n.outbox_due_us = now + (call + cfg.orders.lease).count() * 1000;
              auto store = order_store_for(*st.env, o.order_id);
              if (!store) {
                rp.deliver(make_error(ec::storage_unavailable, "no order store is running"));
                return;
              }
              self->request(store, store_timeout, create_atom::value, n)
                  .then(
                      [self, rp, req, started](order_reply& r) mutable {
                        auto& st = self->state;
                        const auto& o = r.order;
                        engine_span(
                            self, req.trace, "create", o.order_id, started, "success", {},
                            json{{"trial_id", req.trial_id},
                                 {"client_reference", req.client_reference},
                                 {"hold_only", req.hold_only}},
                            json{{"status", o.status},
                                 {"replay", r.replay},
                                 {"price", agent_json::encode_money(o.price_minor, o.currency)}});
                        if (r.replay || o.status != "booking") {
                          if (!r.replay && o.status == "held")
                            ensure_hold(self, hold_info{o.order_id, o.supplier, o.hold_expires_us});
                          rp.deliver(std::move(r));
                          return;
                        }
                        auto& e = order_for(self, o.order_id, o);
                        ++e.forwarded;
                        auto wait = st.env->cfg->orders.create_wait;
                        if (wait.count() == 0) {
                          caf::anon_send(e.actor, start_atom::value);
                          rp.deliver(std::move(r));
                          return;
                        }
                        self->request(e.actor, wait, start_atom::value)
                            .then([rp](order_reply& settled) mutable { rp.deliver(settled); },
                                  [rp, r](caf::error&) mutable {
                                    // Still booking: the answer shows that; the order carries on.
                                    rp.deliver(r);
                                  });
                      },
                      [self, rp, req, started, order_id = o.order_id](caf::error& err) mutable {
                        engine_span(self, req.trace, "create", order_id, started, "error",
                                    to_string(code_of(err)),
                                    json{{"trial_id", req.trial_id},
                                         {"client_reference", req.client_reference}},
                                    json{{"message", message_of(err)}});
                        rp.deliver(err);
                      });
            });
        return rp;
      },
      [=](confirm_atom, const order_command& cmd) {
        auto& e = order_for(self, cmd.order_id);
        ++e.forwarded;
        return self->delegate(e.actor, confirm_atom::value, cmd);
      },
      [=](cancel_atom, const order_command& cmd) {
        auto& e = order_for(self, cmd.order_id);
        ++e.forwarded;
        return self->delegate(e.actor, cancel_atom::value, cmd);
      },
      [=](get_atom, const order_command& cmd) {
        auto& e = order_for(self, cmd.order_id);
        ++e.forwarded;
        return self->delegate(e.actor, get_atom::value, cmd);
      },
      [=](list_atom, const order_filter& f) -> caf::result<std::vector<order_record>> {
        auto store = order_store_for(*self->state.env, f.agent_id + f.client_reference);
        if (!store)
          return make_error(ec::storage_unavailable, "no order store is running");
        return self->delegate(store, list_atom::value, f);
      },
      [=](work_atom, const outbox_item& item) {
        auto& e = order_for(self, item.order_id);
        ++e.forwarded;
        self->send(e.actor, work_atom::value, item);
      },
      [=](expire_atom, const std::string& order_id, const std::string& reason) {
        auto& e = order_for(self, order_id);
        ++e.forwarded;
        self->send(e.actor, expire_atom::value, reason);
      },
      [=](release_atom, const std::string& order_id) {
        auto& st = self->state;
        if (auto i = st.holds.find(order_id); i != st.holds.end())
          self->send(i->second, release_atom::value);
      },
      [=](passivate_atom, const std::string& order_id, uint64_t handled) -> bool {
        auto& st = self->state;
        auto i = st.orders.find(order_id);
        if (i == st.orders.end() || i->second.forwarded != handled)
          return false;
        st.order_of.erase(i->second.actor.address());
        self->unlink_from(i->second.actor);
        st.orders.erase(i);
        if (st.env->counters)
          --st.env->counters->orders;
        return true;
      },
      [=](rebalance_atom) { rebalance(self); },
      [=](tick_atom, uint64_t gen) {
        if (gen != self->state.sweep_gen)
          return;
        sweep(self);
        arm_sweep(self);
      },
  };
}

void rebalance(engine_pointer self) {
  auto& st = self->state;
  size_t handed = 0;
  for (auto& [id, hold] : st.holds)
    if (!owned(self, id)) {
      self->send(hold, release_atom::value);
      ++handed;
    }
  if (handed > 0)
    log::info("order_engine", "holds handed to their new owners", {{"holds", handed}});
  sweep(self);
}

} // namespace

order_engine_actor spawn_order_engine(caf::actor_system& sys, std::shared_ptr<const node_env> env) {
  return sys.spawn(engine_behavior, std::move(env));
}

} // namespace bedbank
