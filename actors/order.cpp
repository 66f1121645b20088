// ORDER: one actor per live order. It loads the order from PostgreSQL on its first message,
// runs one operation at a time (the others wait in a queue), persists every transition with
// its credit, hold and outbox effects before it answers, and passivates when idle. Supplier
// calls follow the seed's local-message-table pattern: the outbox row written with the
// transition is what guarantees the call is made (the relay hands due rows back here), and a
// call without an answer makes the order `unknown`, resolved by GetBooking, never by booking
// blindly again.
#include <deque>
#include <functional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/factories.hpp"
#include "domain/credit.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "domain/order_state.hpp"
#include "domain/penalties.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

using std::chrono::milliseconds;
using json = nlohmann::json;

/// Extra time a request to a supplier connection gets beyond the connection's own deadline.
constexpr milliseconds supplier_grace{1000};
/// Deadline of one order store call.
constexpr milliseconds store_timeout{10000};

/// One queued operation: how to run it, and how to fail it if the order cannot be loaded.
struct pending_op {
  std::function<void()> run;
  std::function<void(const caf::error&)> fail;
};

struct order_state {
  static inline const char* name = "order";
  std::string id;
  std::shared_ptr<const node_env> env;
  order_engine_actor engine;
  std::optional<order_record> rec;
  std::deque<pending_op> queue;
  bool busy = false;
  uint64_t handled = 0;  ///< messages received from the engine
  uint64_t idle_gen = 0; ///< generation of the idle timer
};

using order_pointer = order_actor::stateful_pointer<order_state>;

std::string status_name(domain::order_status s) {
  return std::string{domain::to_string(s)};
}

const config::supplier_config* supplier_of(const order_state& st) {
  return st.env->cfg->supplier(st.rec->supplier);
}

milliseconds call_timeout(const order_state& st) {
  const auto* sc = supplier_of(st);
  return sc != nullptr ? sc->timeout : milliseconds{5000};
}

config::booking_policy booking_of(const order_state& st) {
  const auto* sc = supplier_of(st);
  return sc != nullptr ? sc->booking : config::booking_policy{};
}

/// When a claimed attempt that never reports back becomes due again.
int64_t lease_end_us(const order_state& st) {
  return domain::now_us() + (call_timeout(st) + st.env->cfg->orders.lease).count() * 1000;
}

/// Delay before retry number `attempt` (1-based): backoff doubling, at most 64 × backoff.
int64_t retry_due_us(const order_state& st, int32_t attempt) {
  auto base = booking_of(st).backoff.count() * 1000;
  int shift = std::clamp(attempt - 1, 0, 6);
  return domain::now_us() + (base << shift);
}

/// The context of a supplier call made inside a span of `tr`: the span's id (chosen now) is the
/// supplier spans' parent.
trace_context call_context(const trace_context& tr) {
  return trace_context{tr.trace_id, domain::new_span_id(), tr.agent_id};
}

trace_context background_trace(const order_record& o) {
  return trace_context{o.trace_id, {}, o.agent_id};
}

/// Records one span of this order (related_type order, related_id the order id).
/// `span_id`, when given, is the span's id chosen before the call it times (so that the
/// supplier's spans of that call nest under it).
void order_span(order_pointer self, const trace_context& tr, const char* event, int64_t started_us,
                const std::string& status, const std::string& error, json request, json response,
                std::string span_id = {}) {
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
  s.related_id = st.id;
  s.request_data = request.is_null() ? std::string{} : request.dump();
  s.response_data = response.is_null() ? std::string{} : response.dump();
  s.started_us = started_us;
  s.duration_us = domain::now_us() - started_us;
  s.status = status;
  s.error_detail = error;
  s.agent_id = st.rec ? st.rec->agent_id : tr.agent_id;
  s.node = st.env->node_id;
  record_span(*st.env, std::move(s));
}

/// A change of the loaded order by `event`, to the status the domain's transition table says;
/// an illegal transition leaves `to_status` empty and persist() refuses it.
order_change change_to(const order_state& st, domain::order_event event, std::string reason,
                       const std::string& trace_id) {
  order_change c;
  c.order_id = st.id;
  c.version = st.rec->version;
  c.from_status = st.rec->status;
  auto cur = domain::parse_order_status(st.rec->status);
  auto to = cur ? domain::next_status(*cur, event) : std::nullopt;
  if (to)
    c.to_status = status_name(*to);
  c.event = std::string{domain::to_string(event)};
  c.reason = std::move(reason);
  c.trace_id = trace_id;
  c.at_us = domain::now_us();
  return c;
}

/// The next status by the domain's table; empty when `event` is illegal in the current status.
std::optional<domain::order_status> next_of(const order_state& st, domain::order_event e) {
  auto cur = domain::parse_order_status(st.rec->status);
  if (!cur)
    return std::nullopt;
  return domain::next_status(*cur, e);
}

bool in_status(const order_state& st, domain::order_status s) {
  return st.rec && st.rec->status == domain::to_string(s);
}

void pump(order_pointer self);

/// Ends the running operation and starts the next.
void finish_op(order_pointer self) {
  self->state.busy = false;
  pump(self);
}

/// Runs `op` after every operation queued before it.
void enqueue(order_pointer self, pending_op op) {
  self->state.queue.push_back(std::move(op));
  pump(self);
}

void arm_idle(order_pointer self) {
  auto& st = self->state;
  auto gen = ++st.idle_gen;
  self->delayed_send(self, st.env->cfg->orders.idle_timeout, tick_atom::value, gen);
}

void pump(order_pointer self) {
  auto& st = self->state;
  if (st.busy)
    return;
  if (st.queue.empty()) {
    arm_idle(self);
    return;
  }
  st.busy = true;
  if (!st.rec) {
    auto store = order_store_for(*st.env, st.id);
    if (!store) {
      auto err = make_error(ec::storage_unavailable, "no order store is running");
      for (auto& op : st.queue)
        op.fail(err);
      st.queue.clear();
      st.busy = false;
      return;
    }
    self->request(store, store_timeout, get_atom::value, st.id)
        .then(
            [self](order_record& rec) {
              self->state.rec = std::move(rec);
              finish_op(self);
            },
            [self](caf::error& err) {
              auto& st = self->state;
              for (auto& op : st.queue)
                op.fail(err);
              st.queue.clear();
              st.busy = false;
              if (code_of(err) == ec::not_found)
                self->quit(); // nothing to keep alive; the engine forgets us
              else
                arm_idle(self);
            });
    return;
  }
  auto op = std::move(st.queue.front());
  st.queue.pop_front();
  op.run();
}

/// Persists `c`; on success the order is updated and `then` runs, on failure `fail` runs (a
/// conflict reloads the order first, so the next operation sees what is stored).
void persist(order_pointer self, order_change c, std::function<void()> then,
             std::function<void(const caf::error&)> fail) {
  auto& st = self->state;
  if (c.to_status.empty()) {
    fail(make_error(ec::conflict, "order " + st.id + " cannot take event '" + c.event + "' while " +
                                      c.from_status));
    return;
  }
  auto store = order_store_for(*st.env, st.id);
  if (!store) {
    fail(make_error(ec::storage_unavailable, "no order store is running"));
    return;
  }
  self->request(store, store_timeout, apply_atom::value, std::move(c))
      .then(
          [self, then](order_record& rec) {
            self->state.rec = std::move(rec);
            then();
          },
          [self, fail](caf::error& err) {
            if (code_of(err) == ec::conflict)
              self->state.rec.reset(); // reload before the next operation
            fail(err);
          });
}

/// Re-arms the order's pending outbox row; fire and forget (a lost write only means the row
/// comes due at its earlier time, and every handler checks the order's status first).
void reschedule(order_pointer self, const std::string& kind, int32_t attempts, int64_t due_us,
                const std::string& last_error) {
  auto& st = self->state;
  auto store = order_store_for(*st.env, st.id);
  if (!store)
    return;
  self->request(store, store_timeout, schedule_atom::value,
                outbox_schedule{st.id, kind, attempts, due_us, last_error})
      .then([](bool) {}, [](caf::error&) {});
}

void tell_engine_released(order_pointer self) {
  caf::anon_send(self->state.engine, release_atom::value, self->state.id);
}

using settle_fn = std::function<void(caf::expected<order_record>)>;

/// Adds the effects of reaching `confirmed` (capture, hold converted, outbox row done).
void confirmed_effects(const order_state& st, order_change& c, const std::string& ref) {
  c.supplier_ref = ref;
  c.credit_capture = st.rec->credit_minor;
  c.hold_status = "converted";
  c.outbox_done_kind = "book";
}

/// Adds the effects of ending without a booking (release, hold released, outbox done).
void released_effects(const order_state& st, order_change& c, const char* hold_status) {
  c.credit_release = st.rec->credit_minor;
  c.hold_status = hold_status;
  c.outbox_done_kind = "book";
}

/// Persists confirmed (from booking or unknown) after the supplier showed booking `ref`.
void settle_confirmed(order_pointer self, domain::order_event event, const std::string& ref,
                      const trace_context& tr, settle_fn done) {
  auto& st = self->state;
  if (!next_of(st, event)) {
    done(st.rec.value());
    return;
  }
  auto c = change_to(st, event, {}, tr.trace_id);
  confirmed_effects(st, c, ref);
  auto started = domain::now_us();
  persist(
      self, std::move(c),
      [self, tr, started, done] {
        auto& rec = *self->state.rec;
        order_span(self, tr, "confirm", started, "success", {}, json{{"source", "supplier"}},
                   json{{"status", rec.status}, {"supplier_booking_ref", rec.supplier_ref}});
        done(rec);
      },
      [done](const caf::error& e) { done(e); });
}

/// One CreateBooking call for the order in `booking` (this call is attempt `attempt`, already
/// claimed in the outbox), and the persisted outcome.
void create_booking(order_pointer self, int32_t attempt, trace_context tr, settle_fn done) {
  auto& st = self->state;
  auto& rec = *st.rec;
  auto conn = st.env->actors->supplier(rec.supplier);
  auto started = domain::now_us();
  auto call = call_context(tr);
  booking_request req;
  req.idempotency_key = rec.order_id;
  req.hotel_code = rec.hotel_code;
  req.room_code = rec.room_code;
  req.board = rec.board;
  req.check_in = rec.check_in;
  req.check_out = rec.check_out;
  req.rooms = rec.rooms;
  req.expected_net_minor = rec.net_minor;
  req.currency = rec.net_currency;
  req.scenario = rec.scenario;
  req.trace = call;
  auto on_error = [self, attempt, tr, call, started, done](const caf::error& err) {
    auto& st = self->state;
    auto code = code_of(err);
    auto detail = message_of(err);
    json rq{{"attempt", attempt}, {"idempotency_key", st.id}};
    bool silent = code == ec::supplier_timeout || code == ec::supplier_unavailable;
    order_span(self, tr, "book", started, silent ? "timeout" : "error", to_string(code), rq,
               json{{"error", to_string(code)}, {"message", detail}}, call.parent_span_id);
    if (silent) {
      // No answer is not a failure: the booking may exist. Resolve by GetBooking later.
      auto c = change_to(st, domain::order_event::supplier_silent, to_string(code), tr.trace_id);
      c.outbox_done_kind = "book";
      c.outbox_add_kind = "book";
      c.outbox_add_attempts = attempt;
      c.outbox_add_max_attempts = booking_of(st).max_attempts;
      c.outbox_add_due_us = retry_due_us(st, 1);
      persist(
          self, std::move(c), [self, done] { done(*self->state.rec); },
          [done](const caf::error& e) { done(e); });
      return;
    }
    bool refused = code == ec::sold_out || code == ec::price_changed;
    if (refused || attempt >= booking_of(st).max_attempts) {
      auto c = change_to(st, domain::order_event::supplier_refused, to_string(code), tr.trace_id);
      released_effects(st, c, "released");
      persist(
          self, std::move(c),
          [self, done] {
            tell_engine_released(self);
            done(*self->state.rec);
          },
          [done](const caf::error& e) { done(e); });
      return;
    }
    reschedule(self, "book", attempt, retry_due_us(st, attempt), to_string(code));
    done(*st.rec);
  };
  if (!conn) {
    on_error(
        make_error(ec::supplier_unavailable, "supplier '" + rec.supplier + "' is not running"));
    return;
  }
  self->request(conn, call_timeout(st) + supplier_grace, create_booking_atom::value, req)
      .then(
          [self, attempt, tr, call, started, done](booking_detail& d) {
            order_span(self, tr, "book", started, "success", {},
                       json{{"attempt", attempt}, {"idempotency_key", self->state.id}},
                       json{{"supplier_booking_ref", d.supplier_ref}, {"status", d.status}},
                       call.parent_span_id);
            settle_confirmed(self, domain::order_event::supplier_confirmed, d.supplier_ref, tr,
                             done);
          },
          [on_error](caf::error& err) { on_error(err); });
}

/// Asks the supplier what it holds under the order id: found → confirmed; not found → book
/// (again) if attempts remain; no answer → try later.
void resolve_then_book(order_pointer self, const outbox_item& item, trace_context tr,
                       settle_fn done) {
  auto& st = self->state;
  auto& rec = *st.rec;
  auto conn = st.env->actors->supplier(rec.supplier);
  auto started = domain::now_us();
  auto call = call_context(tr);
  if (!conn) {
    reschedule(self, "book", item.attempts, retry_due_us(st, 1), "supplier_unavailable");
    done(rec);
    return;
  }
  booking_query q{rec.order_id, rec.scenario, call};
  self->request(conn, call_timeout(st) + supplier_grace, get_booking_atom::value, q)
      .then(
          [self, item, tr, call, started, done](booking_detail& d) {
            auto& st = self->state;
            order_span(self, tr, "resolve", started, "success", {},
                       json{{"idempotency_key", st.id}, {"attempts", item.attempts}},
                       json{{"found", d.found}, {"supplier_booking_ref", d.supplier_ref}},
                       call.parent_span_id);
            if (d.found) {
              settle_confirmed(self, domain::order_event::supplier_confirmed, d.supplier_ref, tr,
                               done);
              return;
            }
            auto max = booking_of(st).max_attempts;
            bool exhausted = item.attempts >= max;
            // Not there. From unknown, that is a transition back to booking; in booking, no
            // transition. Either way the next attempt is claimed in the same transaction
            // (or, with every attempt spent, the order fails).
            auto c = change_to(st, domain::order_event::supplier_not_found, "not_found_at_supplier",
                               tr.trace_id);
            if (!in_status(st, domain::order_status::unknown)) {
              c.to_status = c.from_status;
              c.event.clear();
              c.reason = st.rec->status_reason;
            }
            if (exhausted) {
              persist(
                  self, std::move(c),
                  [self, tr, done] {
                    auto& st = self->state;
                    auto f = change_to(st, domain::order_event::supplier_refused,
                                       "attempts_exhausted", tr.trace_id);
                    released_effects(st, f, "released");
                    persist(
                        self, std::move(f),
                        [self, done] {
                          tell_engine_released(self);
                          done(*self->state.rec);
                        },
                        [done](const caf::error& e) { done(e); });
                  },
                  [done](const caf::error& e) { done(e); });
              return;
            }
            int32_t next_attempt = item.attempts + 1;
            c.outbox_done_kind = "book";
            c.outbox_add_kind = "book";
            c.outbox_add_attempts = next_attempt;
            c.outbox_add_max_attempts = max;
            c.outbox_add_due_us = lease_end_us(st);
            persist(
                self, std::move(c),
                [self, next_attempt, tr, done] { create_booking(self, next_attempt, tr, done); },
                [done](const caf::error& e) { done(e); });
          },
          [self, item, tr, call, started, done](caf::error& err) {
            auto& st = self->state;
            order_span(self, tr, "resolve", started,
                       code_of(err) == ec::supplier_timeout ? "timeout" : "error",
                       to_string(code_of(err)), json{{"idempotency_key", st.id}},
                       json{{"message", message_of(err)}}, call.parent_span_id);
            reschedule(self, "book", item.attempts, retry_due_us(st, 1), to_string(code_of(err)));
            done(*st.rec);
          });
}

/// Closes a held order (hold expired or inventory gone) and releases its credit.
void close_held(order_pointer self, const std::string& reason, trace_context tr, settle_fn done) {
  auto& st = self->state;
  auto c = change_to(st, domain::order_event::hold_expired, reason, tr.trace_id);
  c.credit_release = st.rec->credit_minor;
  c.hold_status = "expired";
  auto started = domain::now_us();
  persist(
      self, std::move(c),
      [self, reason, tr, started, done] {
        order_span(self, tr, "hold_expired", started, "success", {}, json{{"reason", reason}},
                   json{{"status", self->state.rec->status}});
        tell_engine_released(self);
        done(*self->state.rec);
      },
      [done](const caf::error& e) { done(e); });
}

bool hold_expired_now(const order_state& st) {
  return in_status(st, domain::order_status::held) && st.rec->hold_expires_us > 0 &&
         st.rec->hold_expires_us <= domain::now_us();
}

/// The credit (line currency) given back when `refund` of the price is refunded.
int64_t credit_refund_of(const order_record& o, int64_t refund) {
  if (o.price_minor <= 0 || o.credit_minor <= 0)
    return 0;
  if (refund >= o.price_minor)
    return o.credit_minor;
  return static_cast<int64_t>((static_cast<__int128>(o.credit_minor) * refund) / o.price_minor);
}

/// One CancelBooking call for the order in `cancelling`, and the persisted outcome.
void cancel_booking(order_pointer self, int32_t attempt, const std::string& scenario,
                    trace_context tr, settle_fn done) {
  auto& st = self->state;
  auto& rec = *st.rec;
  auto conn = st.env->actors->supplier(rec.supplier);
  auto started = domain::now_us();
  auto call = call_context(tr);
  cancel_request req{rec.supplier_ref, rec.order_id, scenario.empty() ? rec.scenario : scenario,
                     call};
  auto on_error = [self, attempt, tr, call, started, done](const caf::error& err) {
    auto& st = self->state;
    auto code = code_of(err);
    order_span(self, tr, "cancel", started, code == ec::supplier_timeout ? "timeout" : "error",
               to_string(code), json{{"attempt", attempt}},
               json{{"error", to_string(code)}, {"message", message_of(err)}}, call.parent_span_id);
    bool refused = code == ec::conflict;
    if (refused || attempt >= booking_of(st).max_attempts) {
      auto c = change_to(st, domain::order_event::cancel_refused,
                         refused ? "cancel_refused" : "cancel_failed", tr.trace_id);
      c.penalty_minor = 0;
      c.refund_minor = 0;
      c.outbox_done_kind = "cancel";
      persist(
          self, std::move(c),
          [self, refused, done] {
            if (refused)
              done(make_error(ec::conflict, "the supplier refused the cancellation; the "
                                            "booking stands"));
            else
              done(*self->state.rec);
          },
          [done](const caf::error& e) { done(e); });
      return;
    }
    reschedule(self, "cancel", attempt, retry_due_us(st, attempt), to_string(code));
    done(*st.rec);
  };
  if (!conn) {
    on_error(
        make_error(ec::supplier_unavailable, "supplier '" + rec.supplier + "' is not running"));
    return;
  }
  self->request(conn, call_timeout(st) + supplier_grace, cancel_booking_atom::value, req)
      .then(
          [self, attempt, tr, call, started, done](booking_detail& d) {
            auto& st = self->state;
            order_span(self, tr, "cancel", started, "success", {}, json{{"attempt", attempt}},
                       json{{"status", d.status}}, call.parent_span_id);
            auto c = change_to(st, domain::order_event::supplier_cancelled, st.rec->status_reason,
                               tr.trace_id);
            c.credit_refund = credit_refund_of(*st.rec, st.rec->refund_minor);
            c.outbox_done_kind = "cancel";
            persist(
                self, std::move(c), [self, done] { done(*self->state.rec); },
                [done](const caf::error& e) { done(e); });
          },
          [on_error](caf::error& err) { on_error(err); });
}

/// Marks a stale outbox row done (its order has moved on).
void retire_row(order_pointer self, const outbox_item& item, settle_fn done) {
  auto& st = self->state;
  order_change c;
  c.order_id = st.id;
  c.version = st.rec->version;
  c.from_status = st.rec->status;
  c.to_status = st.rec->status;
  c.reason = st.rec->status_reason;
  c.at_us = domain::now_us();
  c.outbox_done_kind = item.kind;
  persist(
      self, std::move(c), [self, done] { done(*self->state.rec); },
      [done](const caf::error& e) { done(e); });
}

/// An order_reply promise's settle function that also ends the operation.
template <class Promise> settle_fn reply_with(order_pointer self, Promise rp, bool replay = false) {
  return [self, rp, replay](caf::expected<order_record> r) mutable {
    if (r)
      rp.deliver(order_reply{std::move(*r), replay});
    else
      rp.deliver(r.error());
    finish_op(self);
  };
}

settle_fn just_finish(order_pointer self) {
  return [self](caf::expected<order_record>) { finish_op(self); };
}

/// Checks the caller may see this order (operators pass an empty agent id).
bool visible_to(const order_state& st, const std::string& agent_id) {
  return agent_id.empty() || st.rec->agent_id == agent_id;
}

caf::error not_found(const std::string& id) {
  return make_error(ec::not_found, "no order " + id);
}

caf::error conflict_with(const order_record& o, const char* what) {
  return make_error(ec::conflict,
                    std::string{"cannot "} + what + " an order that is " + o.status +
                        (o.status_reason.empty() ? "" : " (" + o.status_reason + ")"));
}

order_actor::behavior_type order_behavior(order_pointer self, std::shared_ptr<const node_env> env,
                                          std::string id, order_engine_actor engine,
                                          std::optional<order_record> known) {
  auto& st = self->state;
  st.env = std::move(env);
  st.id = std::move(id);
  st.engine = std::move(engine);
  st.rec = std::move(known);
  return {
      [=](start_atom) -> caf::result<order_reply> {
        ++self->state.handled;
        auto rp = self->make_response_promise<order_reply>();
        enqueue(self,
                {[self, rp] {
                   auto& st = self->state;
                   // Only the creation's own attempt: once anything else touched the
                   // order (the relay, after the lease), it is not ours to book.
                   if (!in_status(st, domain::order_status::booking) || st.rec->version != 1) {
                     reply_with(self, rp)(*st.rec);
                     return;
                   }
                   create_booking(self, 1, background_trace(*st.rec), reply_with(self, rp));
                 },
                 [rp](const caf::error& e) mutable { rp.deliver(e); }});
        return rp;
      },
      [=](confirm_atom, const order_command& cmd) -> caf::result<order_reply> {
        ++self->state.handled;
        auto rp = self->make_response_promise<order_reply>();
        enqueue(self, {[self, rp, cmd]() mutable {
                         auto& st = self->state;
                         auto& rec = *st.rec;
                         if (!visible_to(st, cmd.agent_id)) {
                           reply_with(self, rp)(not_found(st.id));
                           return;
                         }
                         if (hold_expired_now(st)) {
                           close_held(self, "hold_expired", cmd.trace,
                                      [self, rp](caf::expected<order_record>) mutable {
                                        rp.deliver(make_error(ec::conflict, "the hold expired; the "
                                                                            "order is closed"));
                                        finish_op(self);
                                      });
                           return;
                         }
                         if (rec.status == "booking" || rec.status == "unknown" ||
                             rec.status == "confirmed") {
                           reply_with(self, rp, true)(rec);
                           return;
                         }
                         if (rec.status != "held") {
                           reply_with(self, rp)(conflict_with(rec, "confirm"));
                           return;
                         }
                         auto started = domain::now_us();
                         auto c = change_to(st, domain::order_event::confirm_requested, {},
                                            cmd.trace.trace_id);
                         c.hold_status = "converted";
                         c.outbox_add_kind = "book";
                         c.outbox_add_attempts = 1;
                         c.outbox_add_max_attempts = booking_of(st).max_attempts;
                         c.outbox_add_due_us = lease_end_us(st);
                         auto scenario = cmd.scenario;
                         persist(
                             self, std::move(c),
                             [self, rp, cmd, started, scenario] {
                               auto& st = self->state;
                               if (!scenario.empty())
                                 st.rec->scenario = scenario;
                               order_span(self, cmd.trace, "confirm", started, "success", {},
                                          json{{"source", "agent"}},
                                          json{{"status", st.rec->status}});
                               tell_engine_released(self);
                               create_booking(self, 1, cmd.trace, reply_with(self, rp));
                             },
                             [self, rp](const caf::error& e) mutable { reply_with(self, rp)(e); });
                       },
                       [rp](const caf::error& e) mutable { rp.deliver(e); }});
        return rp;
      },
      [=](cancel_atom, const order_command& cmd) -> caf::result<order_reply> {
        ++self->state.handled;
        auto rp = self->make_response_promise<order_reply>();
        enqueue(self,
                {[self, rp, cmd]() mutable {
                   auto& st = self->state;
                   auto& rec = *st.rec;
                   if (!visible_to(st, cmd.agent_id)) {
                     reply_with(self, rp)(not_found(st.id));
                     return;
                   }
                   if (rec.status == "cancelled" || rec.status == "cancelling") {
                     reply_with(self, rp, true)(rec);
                     return;
                   }
                   if (hold_expired_now(st)) {
                     close_held(self, "hold_expired", cmd.trace,
                                [self, rp](caf::expected<order_record> r) mutable {
                                  if (r)
                                    rp.deliver(conflict_with(*r, "cancel"));
                                  else
                                    rp.deliver(r.error());
                                  finish_op(self);
                                });
                     return;
                   }
                   auto started = domain::now_us();
                   if (rec.status == "held") {
                     auto c = change_to(st, domain::order_event::cancel_requested,
                                        "cancelled_by_agent", cmd.trace.trace_id);
                     c.credit_release = rec.credit_minor;
                     c.hold_status = "released";
                     c.penalty_minor = 0;
                     c.refund_minor = rec.price_minor;
                     persist(
                         self, std::move(c),
                         [self, rp, cmd, started] {
                           order_span(self, cmd.trace, "cancel", started, "success", {},
                                      json{{"source", "agent"}, {"held", true}},
                                      json{{"status", self->state.rec->status}});
                           tell_engine_released(self);
                           reply_with(self, rp)(*self->state.rec);
                         },
                         [self, rp](const caf::error& e) mutable { reply_with(self, rp)(e); });
                     return;
                   }
                   if (rec.status != "confirmed") {
                     reply_with(self, rp)(conflict_with(rec, "cancel"));
                     return;
                   }
                   auto charge = domain::charge_at(rec.policies, rec.price_minor, domain::now_us());
                   auto c = change_to(st, domain::order_event::cancel_requested,
                                      "cancelled_by_agent", cmd.trace.trace_id);
                   c.penalty_minor = charge.penalty;
                   c.refund_minor = charge.refund;
                   c.outbox_add_kind = "cancel";
                   c.outbox_add_attempts = 1;
                   c.outbox_add_max_attempts = booking_of(st).max_attempts;
                   c.outbox_add_due_us = lease_end_us(st);
                   persist(
                       self, std::move(c),
                       [self, rp, cmd] {
                         cancel_booking(self, 1, cmd.scenario, cmd.trace, reply_with(self, rp));
                       },
                       [self, rp](const caf::error& e) mutable { reply_with(self, rp)(e); });
                 },
                 [rp](const caf::error& e) mutable { rp.deliver(e); }});
        return rp;
      },
      [=](get_atom, const order_command& cmd) -> caf::result<order_reply> {
        ++self->state.handled;
        auto rp = self->make_response_promise<order_reply>();
        enqueue(self, {[self, rp, cmd]() mutable {
                         auto& st = self->state;
                         if (!visible_to(st, cmd.agent_id)) {
                           reply_with(self, rp)(not_found(st.id));
                           return;
                         }
                         if (hold_expired_now(st)) {
                           // Passive close: a read of an expired hold closes the order.
                           close_held(self, "hold_expired", background_trace(*st.rec),
                                      reply_with(self, rp));
                           return;
                         }
                         reply_with(self, rp)(*st.rec);
                       },
                       [rp](const caf::error& e) mutable { rp.deliver(e); }});
        return rp;
      },
      [=](work_atom, const outbox_item& item) {
        ++self->state.handled;
        enqueue(self,
                {[self, item] {
                   auto& st = self->state;
                   auto tr = background_trace(*st.rec);
                   auto done = just_finish(self);
                   if (item.kind == "book" && (in_status(st, domain::order_status::booking) ||
                                               in_status(st, domain::order_status::unknown))) {
                     resolve_then_book(self, item, tr, done);
                   } else if (item.kind == "cancel" &&
                              in_status(st, domain::order_status::cancelling)) {
                     int32_t attempt = item.attempts + 1;
                     reschedule(self, "cancel", attempt, lease_end_us(st), {});
                     cancel_booking(self, attempt, {}, tr, done);
                   } else {
                     retire_row(self, item, done);
                   }
                 },
                 [](const caf::error&) {}});
      },
      [=](expire_atom, const std::string& reason) {
        ++self->state.handled;
        enqueue(self, {[self, reason] {
                         auto& st = self->state;
                         if (!in_status(st, domain::order_status::held)) {
                           tell_engine_released(self);
                           finish_op(self);
                           return;
                         }
                         close_held(self, reason, background_trace(*st.rec), just_finish(self));
                       },
                       [](const caf::error&) {}});
      },
      [=](tick_atom, uint64_t gen) {
        auto& st = self->state;
        if (gen != st.idle_gen || st.busy || !st.queue.empty())
          return;
        self->request(st.engine, std::chrono::seconds{5}, passivate_atom::value, st.id, st.handled)
            .then(
                [self](bool ok) {
                  if (ok)
                    self->quit();
                },
                [](caf::error&) {});
      },
  };
}

} // namespace

order_actor spawn_order(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                        std::string order_id, order_engine_actor engine,
                        std::optional<order_record> known) {
  return sys.spawn(order_behavior, std::move(env), std::move(order_id), std::move(engine),
                   std::move(known));
}

} // namespace bedbank
