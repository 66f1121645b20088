// bedbank error codes as CAF errors.
#include "protocols/errors.hpp"

#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace bedbank {

const char* to_string(ec x) {
  switch (x) {
  case ec::none:
    return "none";
  case ec::invalid_request:
    return "invalid_request";
  case ec::unauthorized:
    return "unauthorized";
  case ec::not_found:
    return "not_found";
  case ec::rate_limited:
    return "rate_limited";
  case ec::conflict:
    return "conflict";
  case ec::price_changed:
    return "price_changed";
  case ec::sold_out:
    return "sold_out";
  case ec::insufficient_credit:
    return "insufficient_credit";
  case ec::supplier_unavailable:
    return "supplier_unavailable";
  case ec::supplier_error:
    return "supplier_error";
  case ec::supplier_timeout:
    return "supplier_timeout";
  case ec::circuit_open:
    return "circuit_open";
  case ec::bulkhead_full:
    return "bulkhead_full";
  case ec::unsupported:
    return "unsupported";
  case ec::storage_unavailable:
    return "storage_unavailable";
  case ec::overloaded:
    return "overloaded";
  case ec::internal:
    return "internal";
  case ec::payload_too_large:
    return "payload_too_large";
  case ec::unsupported_media_type:
    return "unsupported_media_type";
  case ec::method_not_allowed:
    return "method_not_allowed";
  case ec::headers_too_large:
    return "headers_too_large";
  case ec::node_unavailable:
    return "node_unavailable";
  case ec::version_mismatch:
    return "version_mismatch";
  }
  return "internal";
}

caf::error make_error(ec code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), ec_category, caf::make_message(std::move(message))};
}

ec code_of(const caf::error& err) {
  if (!err)
    return ec::none;
  if (err.category() == ec_category)
    return static_cast<ec>(err.code());
  if (err.category() == caf::atom("system")) {
    auto s = static_cast<caf::sec>(err.code());
    if (s == caf::sec::request_timeout)
      return ec::supplier_timeout;
    if (s == caf::sec::request_receiver_down)
      return ec::supplier_unavailable;
  }
  return ec::internal;
}

bool is_receiver_gone(const caf::error& err) {
  if (!err)
    return false;
  if (err.category() == ec_category)
    return static_cast<ec>(err.code()) == ec::node_unavailable;
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
    case caf::sec::request_receiver_down:
    case caf::sec::no_route_to_receiving_node:
    case caf::sec::cannot_forward_to_invalid_actor:
    case caf::sec::connection_timeout:
    case caf::sec::cannot_connect_to_node:
      return true;
    default:
      return false;
    }
  }
  static const auto exit_category =
      caf::make_error(caf::exit_reason::remote_link_unreachable).category();
  if (err.category() == exit_category) {
    auto r = static_cast<caf::exit_reason>(err.code());
    return r == caf::exit_reason::remote_link_unreachable || r == caf::exit_reason::unreachable ||
           r == caf::exit_reason::kill || r == caf::exit_reason::unknown;
  }
  return false;
}

std::string message_of(const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return {};
}

} // namespace bedbank
