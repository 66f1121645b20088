// Id generation from a per-thread generator seeded by the OS.
#include "domain/ids.hpp"

#include <cstdint>
#include <random>

namespace bedbank::domain {

namespace {

std::mt19937_64& generator() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }()};
  return gen;
}

void append_hex(std::string& out, uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i)
    out += digits[(v >> (i * 4)) & 0xF];
}

uint64_t nonzero() {
  uint64_t v;
  do {
    v = generator()();
  } while (v == 0);
  return v;
}

} // namespace

std::string new_trace_id() {
  std::string s;
  s.reserve(32);
  append_hex(s, nonzero());
  append_hex(s, generator()());
  return s;
}

std::string new_span_id() {
  std::string s;
  s.reserve(16);
  append_hex(s, nonzero());
  return s;
}

uint64_t random_token() {
  return nonzero();
}

bool is_hex_id(std::string_view s, size_t n) {
  if (s.size() != n)
    return false;
  bool nonzero_seen = false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
    nonzero_seen |= c != '0';
  }
  return nonzero_seen;
}

namespace {
constexpr std::string_view order_prefix = "ord_";
constexpr std::string_view trial_prefix = "tri_";
constexpr size_t key_chars = 16;
} // namespace

std::string new_order_id() {
  return std::string{order_prefix} + new_span_id();
}

std::string new_trial_id(std::string_view order_id) {
  auto key = shard_key(order_id);
  std::string s{trial_prefix};
  if (key.size() == key_chars)
    s += key;
  else
    s += new_span_id();
  s += new_span_id();
  return s;
}

std::string_view shard_key(std::string_view id) {
  if (id.starts_with(order_prefix) && id.size() > order_prefix.size())
    return id.substr(order_prefix.size());
  if (id.starts_with(trial_prefix) && id.size() >= trial_prefix.size() + key_chars)
    return id.substr(trial_prefix.size(), key_chars);
  return id;
}

} // namespace bedbank::domain
