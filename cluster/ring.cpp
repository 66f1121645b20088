// The shard ring.
#include "cluster/ring.hpp"

#include <algorithm>

namespace bedbank::cluster {

namespace {

constexpr uint64_t fnv_offset = 14695981039346656037ull;
constexpr uint64_t fnv_prime = 1099511628211ull;
const std::string no_node;

/// MurmurHash3's 64-bit finaliser: spreads FNV's clustered low bits over the whole word.
uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

} // namespace

uint64_t stable_hash(std::string_view s) {
  uint64_t h = fnv_offset;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= fnv_prime;
  }
  return fmix64(h);
}

shard_ring::shard_ring(int vnodes) : vnodes_(vnodes > 0 ? vnodes : 1) {}

void shard_ring::assign(std::vector<std::string> nodes) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  nodes_ = std::move(nodes);
  points_.clear();
  points_.reserve(nodes_.size() * static_cast<size_t>(vnodes_));
  for (uint32_t n = 0; n < nodes_.size(); ++n)
    for (int v = 0; v < vnodes_; ++v)
      points_.push_back({stable_hash(nodes_[n] + '#' + std::to_string(v)), n});
  // Equal hashes (practically never) are ordered by node so every node builds the same ring.
  std::sort(points_.begin(), points_.end(), [this](const point& a, const point& b) {
    return a.hash != b.hash ? a.hash < b.hash : nodes_[a.node] < nodes_[b.node];
  });
}

const std::string& shard_ring::owner(std::string_view key, std::string_view skip) const {
  if (points_.empty())
    return no_node;
  auto h = stable_hash(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const point& p, uint64_t v) { return p.hash < v; });
  for (size_t i = 0; i < points_.size(); ++i, ++it) {
    if (it == points_.end())
      it = points_.begin();
    const auto& node = nodes_[it->node];
    if (skip.empty() || node != skip)
      return node;
  }
  return no_node;
}

size_t shard_ring::points_of(std::string_view node) const {
  return static_cast<size_t>(std::count_if(points_.begin(), points_.end(),
                                           [&](const point& p) { return nodes_[p.node] == node; }));
}

} // namespace bedbank::cluster
