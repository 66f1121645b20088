// The node's view of the cluster: what the node manager last published of the membership,
// turned into routing answers (placement) for the gateway and the order engine. Reads take a
// shared lock and copy a pointer to an immutable snapshot; the node manager publishes a new
// snapshot on every change. This node's own actors are resolved through its directory at
// each call, so a restarted local actor is found at once.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "actors/directory.hpp"
#include "actors/placement.hpp"
#include "cluster/ring.hpp"

namespace bedbank::cluster {

class view : public placement {
public:
  /// `self` with the roles of this node; `vnodes` points per engine on the ring; a suspected
  /// node is avoided for `suspicion` unless it is heard from again.
  view(std::string self, std::vector<std::string> roles, std::shared_ptr<const directory> local,
       std::shared_ptr<const actor_counters> counters, int vnodes,
       std::chrono::milliseconds suspicion);

  /// A new membership (this node first, as membership::list() gives it). Answers whether the
  /// ring or the leader changed (the epoch was raised).
  bool publish(std::vector<member_info> members);

  // -- placement ---------------------------------------------------------------------
  const std::string& self() const override { return self_; }
  owner_pick order_owner(std::string_view key, std::string_view avoid = {}) const override;
  bool owns(std::string_view key) const override;
  engine_pick search_engine(std::string_view avoid = {}) const override;
  std::vector<std::pair<std::string, query_engine_actor>> query_engines() const override;
  owner_pick any_order_engine(std::string_view avoid = {}) const override;
  span_writer_actor span_writer() const override;
  bool leads() const override;
  archiver_actor archiver() const override;
  uint64_t epoch() const override;
  std::vector<member_info> members() const override;
  node_manager_actor manager_of(std::string_view node) const override;
  void suspect(std::string_view node) const override;

  /// Points of this node on the ring, and points in all.
  std::pair<size_t, size_t> shard_points() const;

private:
  struct snapshot {
    std::vector<member_info> members; ///< this node first
    shard_ring ring;
    std::vector<size_t> engines;  ///< indices of live engine members (draining ones included)
    std::vector<size_t> journals; ///< indices of live journal members
    std::string leader;           ///< the live journal node with the smallest id
    uint64_t epoch = 0;
    explicit snapshot(int vnodes) : ring(vnodes) {}
  };

  std::shared_ptr<const snapshot> current() const;
  bool suspected(const std::string& node) const;
  const member_info* member(const snapshot& s, std::string_view node) const;
  owner_pick pick_order_engine(const snapshot& s, const std::string& node) const;
  std::shared_ptr<std::atomic<int64_t>> inflight(const std::string& node) const;

  std::string self_;
  std::vector<std::string> roles_;
  std::shared_ptr<const directory> local_;
  std::shared_ptr<const actor_counters> counters_;
  int vnodes_;
  std::chrono::milliseconds suspicion_;
  mutable std::shared_mutex mtx_;
  std::shared_ptr<const snapshot> snap_;
  mutable std::mutex side_mtx_; ///< suspicions and in-flight counters
  mutable std::map<std::string, int64_t, std::less<>> suspected_until_us_;
  mutable std::map<std::string, std::shared_ptr<std::atomic<int64_t>>, std::less<>> inflight_;
};

} // namespace bedbank::cluster
