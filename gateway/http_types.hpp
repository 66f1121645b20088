// Plain request/response values passed between the Beast sessions and the
// router, so neither side needs the other's heavy headers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocols/errors.hpp"

namespace bedbank::gateway {

/// Which listener a request arrived on.
enum class port_kind { agent, admin };

/// One parsed HTTP request (only what routing needs).
struct http_request {
  std::string method; ///< upper case, e.g. "GET"
  std::string target; ///< path and query, e.g. "/api/hotels?city=SHA"
  std::string body;
  std::string authorization;
  std::string content_type;
  std::string traceparent;
  /// The `Test` header (mock supplier scenario, development only), when present.
  std::optional<std::string> test_scenario;
  /// Set when the request could not be read whole (413, 431, 400): the
  /// router answers with this code and the connection is closed.
  std::optional<ec> read_error;
};

/// One response to write.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body; ///< written first
  /// Written after `body` without a copy (a shared, immutable fragment), then `body_tail`.
  std::shared_ptr<const std::string> shared_body;
  std::string body_tail;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;     ///< close the connection after writing
  std::string error_code; ///< the API error code for 4xx/5xx (spans, logs)
};

/// Delivers the response of one request; callable from any thread, exactly once.
using reply_fn = std::function<void(http_response)>;

/// Outcome of an HTTP health probe (ClickHouse /ping).
struct ping_result {
  bool ok = false;
  int64_t latency_us = 0;
  std::string message;
};

/// Starts a probe and calls back (from any thread) with its outcome.
using ping_fn = std::function<void(std::function<void(ping_result)>)>;

} // namespace bedbank::gateway
