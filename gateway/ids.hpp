// Random W3C trace and span ids.
#pragma once

#include <string>

namespace bedbank::gateway {

/// Hex digits of a W3C trace id.
inline constexpr size_t trace_id_hex = 32;
/// Hex digits of a W3C span id.
inline constexpr size_t span_id_hex = 16;

/// `n` random lowercase hex digits, never all zero.
std::string random_hex(size_t n);

} // namespace bedbank::gateway
