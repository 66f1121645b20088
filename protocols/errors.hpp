// bedbank's error codes, registered with CAF as the error category "bedbank".
// Drivers' exceptions stop at persistence/ and protocols/ and become these.
// The gateway maps each to an HTTP status in one place (gateway/errors.cpp).
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace bedbank {

/// Every failure a bedbank actor reports.
enum class ec : uint8_t {
  none = 0,
  invalid_request,        ///< bad input; the context names the field
  unauthorized,           ///< missing or unknown credentials
  not_found,              ///< no such resource (or not the caller's)
  rate_limited,           ///< per-agent limit reached
  conflict,               ///< state does not allow the operation
  price_changed,          ///< the supplier's price moved past the tolerance
  sold_out,               ///< the supplier has no more of it
  insufficient_credit,    ///< the agent's credit line cannot cover it
  supplier_unavailable,   ///< no supplier could answer
  supplier_error,         ///< the supplier answered with an error
  supplier_timeout,       ///< the supplier did not answer by the deadline
  circuit_open,           ///< the breaker fails the call fast
  bulkhead_full,          ///< too many calls in flight to that supplier
  unsupported,            ///< the operation is declared but not offered here
  storage_unavailable,    ///< PostgreSQL / Redis / ClickHouse down or failing
  overloaded,             ///< a bounded queue is full
  internal,               ///< a bug: never bad input
  payload_too_large,      ///< request body over the configured limit
  unsupported_media_type, ///< a POST body that is not application/json
  method_not_allowed,     ///< the path exists, the method does not
  headers_too_large,      ///< request line or headers over the configured limit
  node_unavailable,       ///< the node that owns the work is down and no other took it yet
  version_mismatch,       ///< a peer node speaks another wire version (cluster only)
};

/// The snake_case code of the API's error body.
const char* to_string(ec x);

/// CAF error category of `ec`.
inline constexpr caf::atom_value ec_category = caf::atom("bedbank");

/// Makes a CAF error of category bedbank with a human sentence as context.
caf::error make_error(ec code, std::string message);

/// The bedbank code in `err`, `ec::internal` for foreign categories (and for
/// CAF's request_timeout / request_receiver_down, which map to supplier_timeout
/// and supplier_unavailable respectively).
ec code_of(const caf::error& err);

/// Whether `err` says the receiver is gone — it exited, or its node died or cannot be reached —
/// so that the same call to another actor may succeed.
bool is_receiver_gone(const caf::error& err);

/// The human sentence carried by an error made with make_error (empty otherwise).
std::string message_of(const caf::error& err);

} // namespace bedbank
