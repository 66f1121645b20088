// The in-process price cache (pricing.local_cache_ttl): shared by every search
// actor of the node and by the gateway's cache-hit path; bounded and lock-striped.
#pragma once

#include <memory>

#include "actors/ttl_cache.hpp"
#include "protocols/messages.hpp"

namespace bedbank {

/// Canonical query key → immutable merged search result.
using local_cache = ttl_cache<std::shared_ptr<const search_result>>;

} // namespace bedbank
