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

/// Query-string parameters, percent-decoded (first value of each name wins).
std::map<std::string, std::string> parse_query(std::string_view query);

/// Bearer token of an Authorization header (empty when absent or another scheme).
std::string bearer_token(std::string_view header);

/// Compares without an early exit on the first difference.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Sends one request from a short-lived actor; exactly one of `ok` / `err` runs.
template <class Handle, class Ok, class Err, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, std::chrono::milliseconds timeout, Ok ok,
         Err err, Ts... xs) {
  sys.spawn([=](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, xs...).then(ok, [err](caf::error& e) mutable { err(e); });
  });
}

} // namespace bedbank::gateway
