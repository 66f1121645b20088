// The one mapping from bedbank error codes to HTTP status codes.
#pragma once

#include "protocols/errors.hpp"

namespace bedbank::gateway {

/// The HTTP status for `code` (api.md): 4xx for the caller's mistakes, 503 for
/// dependencies that are down or full, 500 only for bugs.
unsigned http_status(ec code);

/// The standard reason phrase of `status` ("Not Found"); "Unknown" otherwise.
const char* reason_phrase(unsigned status);

} // namespace bedbank::gateway
