// The order shard ring: a consistent hash of shard keys over the live engine nodes, with
// `vnodes` points per node, so that a node joining or leaving moves only the keys of the arc
// it takes or gives back (about 1/n of them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bedbank::cluster {

/// A hash that is the same on every node and every build (FNV-1a, then a 64-bit finaliser).
uint64_t stable_hash(std::string_view s);

class shard_ring {
public:
  /// Points per node (cluster.vnodes).
  explicit shard_ring(int vnodes = 64);

  /// Rebuilds the ring over `nodes` (node ids; order and duplicates do not matter).
  void assign(std::vector<std::string> nodes);

  /// The node owning `key`: the first point clockwise of its hash. Points of `skip` are passed
  /// over (a node just found unreachable). Empty when no node is left.
  const std::string& owner(std::string_view key, std::string_view skip = {}) const;

  /// Points of `node` on the ring.
  size_t points_of(std::string_view node) const;

  /// Points on the ring.
  size_t points() const { return points_.size(); }

  /// The nodes, sorted.
  const std::vector<std::string>& nodes() const { return nodes_; }

  bool empty() const { return nodes_.empty(); }

private:
  struct point {
    uint64_t hash;
    uint32_t node;
  };
  int vnodes_;
  std::vector<point> points_; ///< sorted by hash
  std::vector<std::string> nodes_;
};

} // namespace bedbank::cluster
