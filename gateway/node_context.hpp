// What the gateway needs from the node: configuration, catalog, the actor
// system and the directory of the node's actors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/directory.hpp"
#include "actors/local_cache.hpp"
#include "actors/placement.hpp"
#include "config/config.hpp"
#include "domain/catalog.hpp"

namespace bedbank::gateway {

/// Shared, immutable view of the node for every HTTP session.
struct node_context {
  caf::actor_system* sys = nullptr;
  std::shared_ptr<const config::bedbank_config> cfg;
  std::shared_ptr<const domain::catalog> catalog;
  std::shared_ptr<const directory> actors;
  /// The node's in-process price cache; searches it answers skip the actor hop (may be null).
  std::shared_ptr<local_cache> cache;
  /// Where searches and orders go in the cluster (null: this node's own actors, unit tests).
  std::shared_ptr<const placement> place;
  std::string node_id;
  std::string roles = "all";
  int64_t started_us = 0; ///< when the node started (microseconds since epoch)
};

} // namespace bedbank::gateway
