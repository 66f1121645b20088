// SUPPLIER CONNECTION: one per supplier. Every adapter call passes a bulkhead
// (at most max_concurrent in flight, a bounded queue behind it), the circuit
// breaker (domain/circuit_breaker.hpp) and a per-call deadline. Breaker
// transitions are actor messages, spans and counters.
#include <algorithm>
#include <deque>
#include <functional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "domain/circuit_breaker.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

/// Calls that may wait behind a full bulkhead, per allowed concurrent call.
constexpr size_t queue_per_slot = 8;
/// Latency samples kept for the percentiles.
constexpr size_t latency_window = 1024;

using steady = std::chrono::steady_clock;

struct supplier_conn_state {
  static inline const char* name = "supplier_conn";
  std::shared_ptr<const node_env> env;
  std::string code;
  std::string display_name;
  supplier_actor adapter;
  domain::circuit_breaker breaker;
  int max_concurrent = 10;
  int in_flight = 0;
  std::deque<std::function<void()>> queue;
  std::chrono::milliseconds search_timeout{3000};
  std::chrono::milliseconds call_timeout{5000};
  uint64_t calls = 0, successes = 0, errors = 0, timeouts = 0, rejected = 0;
  std::vector<int64_t> latencies_us;
  size_t latency_pos = 0;

  void record_latency(int64_t us) {
    if (latencies_us.size() < latency_window) {
      latencies_us.push_back(us);
    } else {
      latencies_us[latency_pos] = us;
      latency_pos = (latency_pos + 1) % latency_window;
    }
  }

  supplier_stats stats() const {
    supplier_stats s;
    s.code = code;
    s.name = display_name;
    s.enabled = true;
    s.circuit = std::string{domain::to_string(breaker.state())};
    s.mode = std::string{domain::to_string(breaker.mode())};
    s.consecutive_failures = breaker.consecutive_failures();
    s.reset_timeout_ms = breaker.current_reset_timeout().count();
    s.calls = calls;
    s.successes = successes;
    s.errors = errors;
    s.timeouts = timeouts;
    s.rejected = rejected;
    s.in_flight = in_flight;
    s.max_concurrent = max_concurrent;
    if (!latencies_us.empty()) {
      auto v = latencies_us;
      std::sort(v.begin(), v.end());
      auto pct = [&](double p) {
        auto idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
        return static_cast<double>(v[idx]) / 1000.0;
      };
      s.p50_ms = pct(0.50);
      s.p95_ms = pct(0.95);
      s.p99_ms = pct(0.99);
    }
    return s;
  }
};

using conn_pointer = supplier_conn_actor::stateful_pointer<supplier_conn_state>;

/// Reports a breaker transition as a span of its own trace and schedules the
/// end of an open period as a message to itself.
void on_transition(conn_pointer self, const std::optional<domain::breaker_transition>& t,
                   const std::string& cause) {
  if (!t)
    return;
  auto& st = self->state;
  if (t->to == domain::breaker_state::open && st.breaker.mode() == domain::breaker_mode::automatic)
    self->delayed_send(self, st.breaker.current_reset_timeout(), reset_atom::value,
                       st.breaker.generation());
  span_record s;
  s.trace_id = domain::new_trace_id();
  s.span_id = domain::new_span_id();
  s.event_type = "circuit_transition";
  s.service = "supplier_adapter";
  s.related_type = "supplier";
  s.related_id = st.code;
  s.request_data = nlohmann::json{
      {"from", domain::to_string(t->from)},
      {"to", domain::to_string(t->to)},
      {"cause", cause}}.dump();
  s.started_us = domain::now_us();
  s.status = "success";
  s.node = st.env->node_id;
  record_span(*st.env, std::move(s));
}

/// What a failed call counts as.
enum class failure_kind { none, error, timeout, neutral };

failure_kind classify(const caf::error& e) {
  switch (code_of(e)) {
  case ec::supplier_timeout:
    return failure_kind::timeout;
  case ec::supplier_error:
  case ec::supplier_unavailable:
  case ec::internal:
    return failure_kind::error;
  default:
    return failure_kind::neutral; // e.g. unsupported, sold_out: the supplier is healthy
  }
}

/// Starts queued calls while there is room in the bulkhead.
void drain(conn_pointer self) {
  auto& st = self->state;
  while (st.in_flight < st.max_concurrent && !st.queue.empty()) {
    auto next = std::move(st.queue.front());
    st.queue.pop_front();
    next();
  }
}

/// Describes the trace side of one adapter call.
struct call_trace {
  trace_context ctx;
  std::string event_type;
  std::string request_data;
};

/// One adapter call through bulkhead, breaker and deadline; `describe` turns a
/// reply into the span's response data.
template <class Reply, class Atom, class Request, class Describe>
caf::result<Reply> guarded_call(conn_pointer self, Atom atom, Request req,
                                std::chrono::milliseconds timeout, call_trace tr,
                                Describe describe) {
  auto& st = self->state;
  auto rp = self->make_response_promise<Reply>();
  ++st.calls;
  auto enqueued = steady::now();
  auto run = [self, atom, req, timeout, tr, describe, rp, enqueued]() mutable {
    auto& st = self->state;
    auto started_us = domain::now_us();
    auto finish_span = [self, tr, started_us](const std::string& status, const std::string& detail,
                                              std::string response) {
      auto& st = self->state;
      if (tr.ctx.trace_id.empty())
        return;
      span_record s;
      s.trace_id = tr.ctx.trace_id;
      s.span_id = domain::new_span_id();
      s.parent_span_id = tr.ctx.parent_span_id;
      s.event_type = tr.event_type;
      s.service = "supplier_adapter";
      s.related_type = "supplier";
      s.related_id = st.code;
      s.request_data = tr.request_data;
      s.response_data = std::move(response);
      s.started_us = started_us;
      s.duration_us = domain::now_us() - started_us;
      s.status = status;
      s.error_detail = detail;
      s.agent_id = tr.ctx.agent_id;
      s.node = st.env->node_id;
      record_span(*st.env, std::move(s));
    };
    auto circuit = [self] { return std::string{domain::to_string(self->state.breaker.state())}; };
    if (steady::now() - enqueued >= timeout) {
      ++st.timeouts;
      finish_span("timeout", "deadline passed while queued behind the bulkhead",
                  nlohmann::json{{"circuit", circuit()}}.dump());
      rp.deliver(make_error(ec::supplier_timeout,
                            "deadline passed in the bulkhead queue of '" + st.code + "'"));
      return;
    }
    auto admit = st.breaker.admit();
    if (admit == domain::breaker_admit::reject) {
      ++st.rejected;
      finish_span("error", "circuit_open", nlohmann::json{{"circuit", circuit()}}.dump());
      rp.deliver(make_error(ec::circuit_open, "circuit of supplier '" + st.code + "' is open"));
      return;
    }
    bool probe = admit == domain::breaker_admit::probe;
    ++st.in_flight;
    auto t0 = steady::now();
    self->request(st.adapter, timeout, atom, req)
        .then(
            [=](Reply& reply) mutable {
              auto& st = self->state;
              --st.in_flight;
              ++st.successes;
              st.record_latency(
                  std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0)
                      .count());
              on_transition(self, st.breaker.on_success(probe), "probe succeeded");
              auto response = describe(reply);
              response["circuit"] = circuit();
              finish_span("success", "", response.dump());
              rp.deliver(std::move(reply));
              drain(self);
            },
            [=](caf::error& err) mutable {
              auto& st = self->state;
              --st.in_flight;
              auto kind = classify(err);
              auto us =
                  std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0).count();
              st.record_latency(us);
              caf::error out;
              std::string status = "error";
              if (kind == failure_kind::timeout) {
                ++st.timeouts;
                status = "timeout";
                out = make_error(ec::supplier_timeout, "supplier '" + st.code +
                                                           "' did not answer within " +
                                                           std::to_string(timeout.count()) + " ms");
              } else if (kind == failure_kind::error) {
                ++st.errors;
                auto msg = message_of(err);
                if (msg.empty())
                  msg = self->system().render(err);
                // A lost connection stays distinguishable from an answered error: a
                // booking whose connection broke may have been made.
                out = make_error(code_of(err) == ec::supplier_unavailable ? ec::supplier_unavailable
                                                                          : ec::supplier_error,
                                 msg);
              } else {
                out = err;
              }
              if (kind == failure_kind::neutral) {
                on_transition(self, st.breaker.on_success(probe), "probe answered");
              } else {
                auto cause = kind == failure_kind::timeout ? "timeout" : "error";
                on_transition(self, st.breaker.on_failure(probe), cause);
              }
              finish_span(status, message_of(out), nlohmann::json{{"circuit", circuit()}}.dump());
              rp.deliver(std::move(out));
              drain(self);
            });
  };
  if (st.in_flight < st.max_concurrent) {
    run();
  } else if (st.queue.size() < queue_per_slot * static_cast<size_t>(st.max_concurrent)) {
    st.queue.push_back(std::move(run));
  } else {
    ++st.rejected;
    rp.deliver(
        make_error(ec::bulkhead_full, "too many calls in flight to supplier '" + st.code + "'"));
  }
  return rp;
}

supplier_conn_actor::behavior_type supplier_conn(conn_pointer self,
                                                 std::shared_ptr<const node_env> env,
                                                 std::string code, supplier_actor adapter) {
  answer_probes(self);
  auto& st = self->state;
  st.env = env;
  st.code = code;
  st.adapter = std::move(adapter);
  if (const auto* sc = env->cfg->supplier(code)) {
    st.display_name = sc->name.empty() ? code : sc->name;
    st.max_concurrent = std::max(1, sc->max_concurrent);
    st.call_timeout = sc->timeout;
    st.breaker = domain::circuit_breaker{domain::breaker_settings{
        sc->breaker.max_failures, sc->breaker.reset_timeout, sc->breaker.max_reset_timeout}};
  }
  st.search_timeout = env->cfg->pricing.supplier_timeout;
  // The adapter lives and dies with its connection.
  self->link_to(st.adapter);
  return {
      [=](search_hotels_atom a, const hotels_request& req) {
        auto& st = self->state;
        return guarded_call<hotels_reply>(
            self, a, req, st.search_timeout,
            {req.trace, "supplier_search_hotels", nlohmann::json{{"city", req.city}}.dump()},
            [](const hotels_reply& r) {
              return nlohmann::json{{"hotels", r.hotel_codes.size()}};
            });
      },
      [=](search_rates_atom a, const rates_request& req) {
        auto& st = self->state;
        nlohmann::json rq{{"hotels", req.hotel_codes.size()},
                          {"check_in", domain::format_date(req.check_in)},
                          {"check_out", domain::format_date(req.check_out)},
                          {"rooms", req.rooms.size()}};
        return guarded_call<rates_reply>(self, a, req, st.search_timeout,
                                         {req.trace, "supplier_query", rq.dump()},
                                         [](const rates_reply& r) {
                                           return nlohmann::json{{"rates", r.rates.size()}};
                                         });
      },
      [=](create_booking_atom a, const booking_request& req) {
        return guarded_call<booking_detail>(
            self, a, req, self->state.call_timeout,
            {req.trace, "supplier_create_booking",
             nlohmann::json{{"idempotency_key", req.idempotency_key}}.dump()},
            [](const booking_detail& d) {
              return nlohmann::json{{"ref", d.supplier_ref}};
            });
      },
      [=](cancel_booking_atom a, const cancel_request& req) {
        return guarded_call<booking_detail>(self, a, req, self->state.call_timeout,
                                            {req.trace, "supplier_cancel_booking",
                                             nlohmann::json{{"ref", req.supplier_ref}}.dump()},
                                            [](const booking_detail& d) {
                                              return nlohmann::json{{"status", d.status}};
                                            });
      },
      [=](get_booking_atom a, const booking_query& q) {
        return guarded_call<booking_detail>(
            self, a, q, self->state.call_timeout,
            {q.trace, "supplier_get_booking",
             nlohmann::json{{"idempotency_key", q.idempotency_key}}.dump()},
            [](const booking_detail& d) {
              return nlohmann::json{{"found", d.found}};
            });
      },
      [=](check_avail_atom a, const avail_request& req) {
        return guarded_call<avail_reply>(self, a, req, self->state.call_timeout,
                                         {req.trace, "supplier_check_availability",
                                          nlohmann::json{{"hotel", req.hotel_code}}.dump()},
                                         [](const avail_reply& r) {
                                           return nlohmann::json{{"available", r.available}};
                                         });
      },
      [=](health_atom) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        self->request(self->state.adapter, self->state.call_timeout, health_atom::value)
            .then([=](bool ok) mutable { rp.deliver(ok); },
                  [=](caf::error&) mutable { rp.deliver(false); });
        return rp;
      },
      [=](stats_atom) -> supplier_stats { return self->state.stats(); },
      [=](circuit_atom, const std::string& state) -> caf::result<supplier_stats> {
        auto& st = self->state;
        domain::breaker_mode mode;
        if (state == "open")
          mode = domain::breaker_mode::forced_open;
        else if (state == "closed")
          mode = domain::breaker_mode::forced_closed;
        else if (state == "auto")
          mode = domain::breaker_mode::automatic;
        else
          return make_error(ec::invalid_request, "state must be open, closed or auto");
        on_transition(self, st.breaker.force(mode), "operator set " + state);
        return st.stats();
      },
      [=](reset_atom, uint64_t gen) {
        on_transition(self, self->state.breaker.on_reset_timer(gen), "reset timeout elapsed");
      },
  };
}

} // namespace

supplier_conn_actor spawn_supplier_conn(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                                        const std::string& code, supplier_actor adapter) {
  return sys.spawn(supplier_conn, std::move(env), code, std::move(adapter));
}

} // namespace bedbank
