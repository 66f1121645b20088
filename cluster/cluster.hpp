// How a node joins the cluster: its node manager (published on cluster.port, joining through
// cluster.seeds) and the view it keeps for the gateway and the order engine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/factories.hpp"
#include "cluster/view.hpp"

namespace bedbank::cluster {

/// The roles of `--role` ("all" or a comma list of gateway, engine, journal), expanded and
/// sorted: "all" → {engine, gateway, journal}.
std::vector<std::string> expand_roles(const std::string& spec);

/// This node as it describes itself to the others (handles are filled in by the manager).
member_info describe_self(const config::bedbank_config& cfg, const std::vector<std::string>& roles,
                          int64_t up_since_us);

/// The node manager: keeps `v` up to date and tells the node's order engine when the ring
/// moves. It joins `cfg.cluster.seeds` and heartbeats every member it knows. With `timed`
/// false it arms no timer of its own and runs one heartbeat round per (tick_atom, 0) it is sent
/// (deterministic tests).
node_manager_actor spawn_node_manager(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                                      std::shared_ptr<view> v, member_info self, bool timed = true);

/// Publishes `manager` on cluster.bind:cluster.port (nothing when the port is 0), then starts
/// it (it reaches the seeds); answers the port, or an error naming the address.
caf::expected<uint16_t> publish_manager(caf::actor_system& sys, const node_manager_actor& manager,
                                        const config::cluster_config& cfg);

} // namespace bedbank::cluster
