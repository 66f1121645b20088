// Where work lives: the interface the gateway and the order engine route by. The cluster's
// view (cluster/view.hpp) implements it from the node manager's membership; a node alone is a
// cluster of one, so there is a single code path. Also the node's live counters, read by the
// node manager for heartbeats (load) and by GET /admin/cluster (actors per kind).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/actors.hpp"

namespace bedbank {

/// Actors of the many-per-node kinds, counted as they start and stop.
struct actor_counters {
  std::atomic<int64_t> searches{0}; ///< search actors (one per price query in flight)
  std::atomic<int64_t> orders{0};   ///< order actors (one per live order)
  std::atomic<int64_t> holds{0};    ///< hold actors (one per held order)
  std::atomic<int64_t> crashes{0};  ///< search, order and hold actors that ended with an error
};

/// A query engine chosen for one search; `lease` counts the search as in flight on `node`
/// until it is released (destroyed).
struct engine_pick {
  query_engine_actor engine;
  std::string node;
  std::shared_ptr<void> lease;
};

/// The order engine and node that own one order.
struct owner_pick {
  order_engine_actor engine;
  std::string node;
  bool local = true; ///< this node's own engine
};

/// Where work lives in the cluster, as this node sees it. Thread-safe.
class placement {
public:
  virtual ~placement() = default;

  /// This node's id.
  virtual const std::string& self() const = 0;

  /// The owner of an order (`ord_…`) or of the order a trial will become (`tri_…`): the engine
  /// node its shard key (domain::shard_key) hashes to on the ring of live, undrained engine nodes.
  /// `avoid` names a node just found unreachable (skipped). A null engine when no engine node is
  /// live.
  virtual owner_pick order_owner(std::string_view key, std::string_view avoid = {}) const = 0;

  /// Whether this node owns `key` now (see order_owner).
  virtual bool owns(std::string_view key) const = 0;

  /// The least busy live engine node's query engine for one search (skipping `avoid`).
  virtual engine_pick search_engine(std::string_view avoid = {}) const = 0;

  /// Every live engine node's query engine, by node id (this node's included).
  virtual std::vector<std::pair<std::string, query_engine_actor>> query_engines() const = 0;

  /// Any live engine node's order engine, this node's own first (lists, reads by filter).
  virtual owner_pick any_order_engine(std::string_view avoid = {}) const = 0;

  /// A span writer for this node's journal: its own (journal role) or one of a live journal
  /// node; null when there is none.
  virtual span_writer_actor span_writer() const = 0;

  /// Whether this node runs the work one node of the cluster does (the archiver): the live
  /// journal node with the smallest id.
  virtual bool leads() const = 0;

  /// The archiver for an operator's pass: this node's own, else the leader's (null: none).
  virtual archiver_actor archiver() const = 0;

  /// Raised on every change of the ring (a node up, down, drained).
  virtual uint64_t epoch() const = 0;

  /// Every member as this node sees it, itself first (state up, draining or down).
  virtual std::vector<member_info> members() const = 0;

  /// The node manager of member `node` (null when unknown or down).
  virtual node_manager_actor manager_of(std::string_view node) const = 0;

  /// A call to `node` found it unreachable: route around it until it is heard from again.
  virtual void suspect(std::string_view node) const = 0;
};

} // namespace bedbank
