// The member table.
#include "cluster/membership.hpp"

#include <algorithm>

namespace bedbank::cluster {

bool has_role(const std::vector<std::string>& roles, const std::string& role) {
  return std::any_of(roles.begin(), roles.end(),
                     [&](const std::string& r) { return r == role || r == "all"; });
}

membership::membership(member_info self, int64_t failure_timeout_us)
    : self_(std::move(self)), failure_us_(failure_timeout_us) {}

change membership::heard(member_info m, int64_t now_us) {
  if (m.node_id.empty() || m.node_id == self_.node_id)
    return change::none;
  auto [it, fresh] = others_.try_emplace(m.node_id);
  auto& e = it->second;
  if (!fresh && m.up_since_us < e.info.up_since_us)
    return change::none; // a late message of a previous incarnation
  bool same_incarnation = !fresh && m.up_since_us == e.info.up_since_us;
  if (same_incarnation && m.seq < e.info.seq && !e.down)
    return change::none; // overtaken by a newer heartbeat
  bool ring =
      fresh || e.down || !same_incarnation || e.info.state != m.state || e.info.roles != m.roles;
  bool details = e.info.manager != m.manager || e.info.query_engine != m.query_engine ||
                 e.info.order_engine != m.order_engine || e.info.span_writer != m.span_writer ||
                 e.info.archiver != m.archiver || e.info.load != m.load || e.info.seq != m.seq;
  e.info = std::move(m);
  e.last_seen_us = now_us;
  e.down = false;
  e.down_reason.clear();
  return ring ? change::ring : details ? change::details : change::none;
}

std::vector<member_info> membership::strangers(const std::vector<member_info>& list) const {
  std::vector<member_info> out;
  for (const auto& m : list)
    if (!m.node_id.empty() && m.node_id != self_.node_id && others_.count(m.node_id) == 0 &&
        m.port != 0)
      out.push_back(m);
  return out;
}

bool membership::expire(int64_t now_us) {
  bool any = false;
  for (auto& [id, e] : others_) {
    if (!e.down && now_us - e.last_seen_us > failure_us_) {
      e.down = true;
      e.down_reason =
          "no heartbeat for " + std::to_string((now_us - e.last_seen_us) / 1000) + " ms";
      any = true;
    }
  }
  return any;
}

bool membership::lost(const std::string& node, int64_t up_since_us, const std::string& reason) {
  auto it = others_.find(node);
  if (it == others_.end() || it->second.down || it->second.info.up_since_us != up_since_us)
    return false;
  it->second.down = true;
  it->second.down_reason = reason;
  return true;
}

std::vector<member_info> membership::list() const {
  std::vector<member_info> out;
  out.reserve(others_.size() + 1);
  out.push_back(self_);
  for (const auto& [id, e] : others_) {
    auto m = e.info;
    if (e.down)
      m.state = state_down;
    m.last_heartbeat_us = e.last_seen_us;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<member_info> membership::gossip() const {
  auto out = list();
  for (size_t i = 1; i < out.size(); ++i) {
    out[i].manager = caf::actor{};
    out[i].query_engine = caf::actor{};
    out[i].order_engine = caf::actor{};
    out[i].span_writer = caf::actor{};
    out[i].archiver = caf::actor{};
  }
  return out;
}

const member_entry* membership::find(const std::string& node) const {
  auto it = others_.find(node);
  return it == others_.end() ? nullptr : &it->second;
}

std::vector<std::string> membership::ring_nodes() const {
  std::vector<std::string> out;
  if (self_.state == state_up && has_role(self_.roles, "engine"))
    out.push_back(self_.node_id);
  for (const auto& [id, e] : others_)
    if (!e.down && e.info.state == state_up && has_role(e.info.roles, "engine"))
      out.push_back(id);
  return out;
}

std::vector<const member_entry*> membership::live() const {
  std::vector<const member_entry*> out;
  for (const auto& [id, e] : others_)
    if (!e.down)
      out.push_back(&e);
  return out;
}

} // namespace bedbank::cluster
