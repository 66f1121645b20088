// Error code → HTTP status: the only place that decides it.
#include "gateway/errors.hpp"

namespace bedbank::gateway {

unsigned http_status(ec code) {
  switch (code) {
  case ec::none:
    return 200;
  case ec::invalid_request:
    return 400;
  case ec::unauthorized:
    return 401;
  case ec::insufficient_credit:
    return 402;
  case ec::not_found:
    return 404;
  case ec::method_not_allowed:
    return 405;
  case ec::conflict:
  case ec::price_changed:
  case ec::sold_out:
    return 409;
  case ec::payload_too_large:
    return 413;
  case ec::unsupported_media_type:
    return 415;
  case ec::rate_limited:
    return 429;
  case ec::headers_too_large:
    return 431;
  case ec::unsupported:
    return 501;
  case ec::supplier_unavailable:
  case ec::supplier_error:
  case ec::supplier_timeout:
  case ec::circuit_open:
  case ec::bulkhead_full:
  case ec::storage_unavailable:
  case ec::overloaded:
  case ec::node_unavailable:
  case ec::version_mismatch:
    return 503;
  case ec::internal:
    return 500;
  }
  return 500;
}

const char* reason_phrase(unsigned status) {
  switch (status) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 402:
    return "Payment Required";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 409:
    return "Conflict";
  case 413:
    return "Payload Too Large";
  case 415:
    return "Unsupported Media Type";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  }
  return "Unknown";
}

} // namespace bedbank::gateway
