// Random identifiers in W3C trace-context form and friends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bedbank::domain {

/// 32 lowercase hex characters, never all zero (W3C trace-id).
std::string new_trace_id();

/// 16 lowercase hex characters, never all zero (W3C span-id / parent-id).
std::string new_span_id();

/// A random non-zero 64-bit number.
uint64_t random_token();

/// True when `s` is `n` lowercase hex characters and not all zero.
bool is_hex_id(std::string_view s, size_t n);

} // namespace bedbank::domain
