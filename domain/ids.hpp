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

/// A new order id: `ord_` and 16 lowercase hex.
std::string new_order_id();

/// The trial id of a trial that becomes `order_id`: `tri_`, the order id's 16 hex, then 16
/// random hex — so the trial routes to the same shard as its order.
std::string new_trial_id(std::string_view order_id);

/// The shard key of an order id (`ord_<hex>` → the hex) or of a trial id (`tri_<16 hex>…` →
/// the first 16 hex: the order it becomes); any other id is its own key.
std::string_view shard_key(std::string_view id);

} // namespace bedbank::domain
