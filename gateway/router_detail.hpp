// Private to the router's translation units: the per-request exchange, the
// response helpers and the request-actor bridge. Includes CAF; never include
// it from a Beast translation unit.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "gateway/router.hpp"
#include "protocols/errors.hpp"

namespace bedbank::gateway {

/// One request on its way through the router. Shared between the router and
/// the request actor; answers exactly once (a dropped exchange answers 503).
struct exchange {
  exchange(std::shared_ptr<router> owner, port_kind port, http_request request, reply_fn reply);
  ~exchange();
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  std::shared_ptr<router> owner;
  port_kind port;
  http_request req;
  reply_fn reply;
  std::string path;  ///< target without the query
  std::string query; ///< after '?', raw
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id; ///< from an incoming valid traceparent
  route rt = route::other;
  const router::agent_entry* agent = nullptr;
  std::vector<std::pair<std::string, std::string>> headers; ///< added to the response
  nlohmann::json span_body; ///< parsed request body for the span (search)
  int64_t started_us = 0;
  std::atomic<bool> done{false};
};

/// Answers `x` with an API error.
void fail(exchange& x, ec code, const std::string& message, const std::string& field = {});

/// Answers `x` with the error of a failed actor call; `what` names the callee.
void fail_call(exchange& x, const caf::error& err, const char* what);

/// Answers `x` with a JSON body.
void answer(exchange& x, unsigned status, const nlohmann::json& body);

/// Answers `x` with `head`, then the shared `fragment` (not copied), then `tail`.
void answer_spliced(exchange& x, unsigned status, std::string head,
                    std::shared_ptr<const std::string> fragment, std::string tail);

/// 405 with an Allow header.
void method_not_allowed(exchange& x, const char* allow);

/// True when `x` has a body but no JSON content type (and answers 415).
bool reject_media_type(exchange& x);

/// Parses the body as JSON or answers 400 (empty result).
std::optional<nlohmann::json> parse_body(exchange& x);

/// For actions that take no fields (confirm, cancel, drain): true when `x` has a body that is
/// not `{}` — then it has been answered (415, or 400 naming `what` takes no fields).
bool reject_fields(exchange& x, const std::string& what);

/// Query-string parameters, percent-decoded (first value of each name wins).
std::map<std::string, std::string> parse_query(std::string_view query);

/// Bearer token of an Authorization header (empty when absent or another scheme).
std::string bearer_token(std::string_view header);

/// Compares without an early exit on the first difference.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Escapes a Prometheus label value.
inline std::string prometheus_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

/// The cluster's series for /metrics: nodes by state, and per node that answered its actors,
/// mailbox backlogs, supervisor restarts and crashed actors (cluster_routes.cpp).
void cluster_series(std::string& out, const std::vector<member_info>& members,
                    const std::map<std::string, node_status>& answers);

/// Sends one request from a short-lived actor; exactly one of `ok` / `err` runs. A receiver on
/// another node is monitored: when its node dies during the call (CAF 0.17 would only time the
/// request out), `err` gets sec::request_receiver_down at once.
template <class Handle, class Ok, class Err, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, std::chrono::milliseconds timeout, Ok ok,
         Err err, Ts... xs) {
  sys.spawn([=](caf::event_based_actor* self) mutable {
    if (dest && dest->node() != self->node()) {
      self->monitor(dest);
      // Runs only while the answer is awaited: once it has come, the actor is gone.
      auto on_down = std::make_shared<Err>(err);
      self->set_down_handler([self, on_down](caf::down_msg&) {
        (*on_down)(caf::make_error(caf::sec::request_receiver_down));
        self->quit();
      });
    }
    self->request(dest, timeout, xs...).then(ok, [err](caf::error& e) mutable { err(e); });
  });
}

/// Sends one request to the actor `pick(avoid)` chooses (an engine_pick or owner_pick: `.engine`
/// and `.node`). When the receiver is gone — its node died during the call or before — that
/// node is suspected (routed around) and the call goes once more to the next choice: every call
/// routed this way is idempotent (searches and reads; trials; creates by client reference;
/// confirm and cancel). The pick (a search's in-flight lease) lives until the call settles.
template <class Pick, class Ok, class Err, class... Ts>
void ask_routed(caf::actor_system& sys, std::shared_ptr<const placement> place, Pick pick,
                std::chrono::milliseconds timeout, Ok ok, Err err, Ts... xs) {
  auto first = pick(std::string_view{});
  if (!first.engine) {
    err(make_error(ec::node_unavailable, "no engine node is up to take this; retry shortly"));
    return;
  }
  auto first_engine = first.engine;
  auto* system = &sys;
  // The error handlers hold the picks (a search's in-flight lease) until the calls settle.
  ask(
      sys, first_engine, timeout, ok,
      [=](const caf::error& e) mutable {
        if (!place || !is_receiver_gone(e)) {
          err(e);
          return;
        }
        place->suspect(first.node);
        auto second = pick(std::string_view{first.node});
        if (!second.engine || second.node == first.node) {
          err(e);
          return;
        }
        auto second_engine = second.engine;
        ask(
            *system, second_engine, timeout, ok,
            [err, second](const caf::error& e2) mutable { err(e2); }, xs...);
      },
      xs...);
}

} // namespace bedbank::gateway
