// The price cache's stored form of a search result (JSON text, versioned), so
// that any node of any build that shares the Redis can read it back.
#pragma once

#include <optional>
#include <string>

#include "protocols/messages.hpp"

namespace bedbank {

/// Version tag inside every cached value; a value of another version is a miss.
inline constexpr int cache_format_version = 1;

/// Serialises the cacheable part of a result (hotels and supplier outcomes).
std::string encode_cached_result(const search_result& r);

/// Parses a cached value; empty when it is malformed or of another version.
std::optional<search_result> decode_cached_result(const std::string& text);

} // namespace bedbank
