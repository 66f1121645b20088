// The member table of one node: who is in the cluster, as heard directly from each member,
// and the failure detector's verdicts. Plain logic with the clock passed in, so that the
// node manager stays thin and the rules are tested without a network.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocols/messages.hpp"

namespace bedbank::cluster {

/// Member states as the table reports them.
inline constexpr const char* state_up = "up";
inline constexpr const char* state_draining = "draining";
inline constexpr const char* state_down = "down";

/// Whether `roles` has `role` ("all" has every role).
bool has_role(const std::vector<std::string>& roles, const std::string& role);

/// What this node knows of one other node.
struct member_entry {
  member_info info;         ///< as the member last described itself
  int64_t last_seen_us = 0; ///< local clock: when it was last heard from directly
  bool down = true;         ///< until heard from; then the failure detector's verdict
  std::string down_reason;  ///< why it is down (silent, connection lost, ...)
};

/// What a message from a member changed.
enum class change {
  none,    ///< a heartbeat like the last one
  details, ///< handles, load or sequence only
  ring,    ///< up, down, drained, roles: the ring (and who leads) may move
};

class membership {
public:
  /// `self` is this node; a member silent for `failure_timeout_us` is down.
  membership(member_info self, int64_t failure_timeout_us);

  member_info& self() { return self_; }
  const member_info& self() const { return self_; }

  /// `m` describes itself in a join, a heartbeat or a heartbeat's answer. A message of an
  /// older incarnation (up_since_us) than the one known is ignored; a newer one replaces it.
  change heard(member_info m, int64_t now_us);

  /// Members named in `list` this node has no entry for (itself excluded): to reach.
  std::vector<member_info> strangers(const std::vector<member_info>& list) const;

  /// Marks members silent for longer than the failure timeout down; answers whether any was.
  bool expire(int64_t now_us);

  /// Marks incarnation `up_since_us` of `node` down at once (its node manager went away);
  /// answers whether it was up. A later incarnation is left as it is.
  bool lost(const std::string& node, int64_t up_since_us, const std::string& reason);

  /// This node first, then the others by id, each with its state (up, draining, down) and,
  /// for the others, when it was last heard from.
  std::vector<member_info> list() const;

  /// list() for other nodes: the members without their actor handles (a node reaches a member
  /// it hears of directly and takes the handles from it, so no message is routed through a
  /// third node).
  std::vector<member_info> gossip() const;

  /// The entry of `node` (null when unknown; never this node).
  const member_entry* find(const std::string& node) const;

  /// Nodes on the order ring: this node and the members that are up (not down, not draining)
  /// and have the engine role.
  std::vector<std::string> ring_nodes() const;

  /// Members other than this node that are not down.
  std::vector<const member_entry*> live() const;

  /// Every member other than this node.
  const std::map<std::string, member_entry>& others() const { return others_; }

private:
  member_info self_;
  int64_t failure_us_;
  std::map<std::string, member_entry> others_;
};

} // namespace bedbank::cluster
