// The node's view of the cluster.
#include "cluster/view.hpp"

#include <algorithm>
#include <limits>

#include <caf/actor_cast.hpp>

#include "actors/factories.hpp"
#include "cluster/membership.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"

namespace bedbank::cluster {

view::view(std::string self, std::vector<std::string> roles, std::shared_ptr<const directory> local,
           std::shared_ptr<const actor_counters> counters, int vnodes,
           std::chrono::milliseconds suspicion)
    : self_(std::move(self)), roles_(std::move(roles)), local_(std::move(local)),
      counters_(std::move(counters)), vnodes_(vnodes), suspicion_(suspicion) {
  member_info me;
  me.node_id = self_;
  me.roles = roles_;
  me.state = state_up;
  publish({me});
}

bool view::publish(std::vector<member_info> members) {
  auto s = std::make_shared<snapshot>(vnodes_);
  s->members = std::move(members);
  std::vector<std::string> ring_nodes;
  for (size_t i = 0; i < s->members.size(); ++i) {
    const auto& m = s->members[i];
    if (m.state != state_up)
      continue;
    if (has_role(m.roles, "engine")) {
      s->engines.push_back(i);
      ring_nodes.push_back(m.node_id);
    }
    if (has_role(m.roles, "journal")) {
      s->journals.push_back(i);
      if (s->leader.empty() || m.node_id < s->leader)
        s->leader = m.node_id;
    }
  }
  s->ring.assign(std::move(ring_nodes));
  std::unique_lock guard{mtx_};
  bool moved = !snap_ || snap_->ring.nodes() != s->ring.nodes() || snap_->leader != s->leader;
  s->epoch = snap_ ? snap_->epoch + (moved ? 1 : 0) : 1;
  snap_ = std::move(s);
  return moved;
}

std::shared_ptr<const view::snapshot> view::current() const {
  std::shared_lock guard{mtx_};
  return snap_;
}

bool view::suspected(const std::string& node) const {
  std::lock_guard guard{side_mtx_};
  auto it = suspected_until_us_.find(node);
  return it != suspected_until_us_.end() && it->second > domain::now_us();
}

void view::suspect(std::string_view node) const {
  if (node.empty() || node == self_)
    return;
  std::lock_guard guard{side_mtx_};
  suspected_until_us_[std::string{node}] =
      domain::now_us() + std::chrono::duration_cast<std::chrono::microseconds>(suspicion_).count();
}

const member_info* view::member(const snapshot& s, std::string_view node) const {
  for (const auto& m : s.members)
    if (m.node_id == node)
      return &m;
  return nullptr;
}

owner_pick view::pick_order_engine(const snapshot& s, const std::string& node) const {
  owner_pick out;
  out.node = node;
  out.local = node == self_;
  if (out.local) {
    out.engine = local_->orders();
  } else if (const auto* m = member(s, node)) {
    out.engine = caf::actor_cast<order_engine_actor>(m->order_engine);
  }
  return out;
}

owner_pick view::order_owner(std::string_view key, std::string_view avoid) const {
  auto s = current();
  auto k = domain::shard_key(key);
  const std::string* node = &s->ring.owner(k, avoid);
  if (!node->empty() && *node != self_ && suspected(*node))
    node = &s->ring.owner(k, *node);
  if (!node->empty())
    return pick_order_engine(*s, *node);
  // No engine on the ring (all drained, or none up): this node's own engine if it has one.
  if (has_role(roles_, "engine") && avoid != self_)
    return pick_order_engine(*s, self_);
  return {};
}

bool view::owns(std::string_view key) const {
  auto s = current();
  if (s->ring.empty())
    return has_role(roles_, "engine");
  return s->ring.owner(domain::shard_key(key)) == self_;
}

std::shared_ptr<std::atomic<int64_t>> view::inflight(const std::string& node) const {
  std::lock_guard guard{side_mtx_};
  auto& slot = inflight_[node];
  if (!slot)
    slot = std::make_shared<std::atomic<int64_t>>(0);
  return slot;
}

engine_pick view::search_engine(std::string_view avoid) const {
  auto s = current();
  const member_info* best = nullptr;
  int64_t best_score = std::numeric_limits<int64_t>::max();
  std::shared_ptr<std::atomic<int64_t>> best_counter;
  for (auto i : s->engines) {
    const auto& m = s->members[i];
    if (m.node_id == avoid || (m.node_id != self_ && suspected(m.node_id)))
      continue;
    auto counter = inflight(m.node_id);
    int64_t load = m.node_id == self_ ? (counters_ ? counters_->searches.load() : 0) : m.load;
    int64_t score = counter->load() + load;
    // Ties go to this node: no network hop.
    if (score < best_score || (score == best_score && m.node_id == self_)) {
      best = &m;
      best_score = score;
      best_counter = std::move(counter);
    }
  }
  engine_pick out;
  if (best == nullptr) {
    if (has_role(roles_, "engine") && avoid != self_) {
      out.engine = local_->engine();
      out.node = self_;
    }
    return out;
  }
  out.node = best->node_id;
  out.engine = best->node_id == self_ ? local_->engine()
                                      : caf::actor_cast<query_engine_actor>(best->query_engine);
  best_counter->fetch_add(1);
  out.lease = std::shared_ptr<void>(nullptr, [c = best_counter](void*) { c->fetch_sub(1); });
  return out;
}

std::vector<std::pair<std::string, query_engine_actor>> view::query_engines() const {
  auto s = current();
  std::vector<std::pair<std::string, query_engine_actor>> out;
  for (const auto& m : s->members) {
    if (m.state == state_down || !has_role(m.roles, "engine"))
      continue;
    auto e =
        m.node_id == self_ ? local_->engine() : caf::actor_cast<query_engine_actor>(m.query_engine);
    if (e)
      out.emplace_back(m.node_id, std::move(e));
  }
  return out;
}

owner_pick view::any_order_engine(std::string_view avoid) const {
  auto s = current();
  if (has_role(roles_, "engine") && avoid != self_)
    if (auto local = pick_order_engine(*s, self_); local.engine)
      return local;
  for (auto i : s->engines) {
    const auto& m = s->members[i];
    if (m.node_id != avoid && m.node_id != self_ && !suspected(m.node_id))
      return pick_order_engine(*s, m.node_id);
  }
  return {};
}

span_writer_actor view::span_writer() const {
  if (has_role(roles_, "journal"))
    if (auto w = local_->get<span_writer_actor>(span_writer_name))
      return w;
  auto s = current();
  for (auto i : s->journals) {
    const auto& m = s->members[i];
    if (m.node_id != self_ && !suspected(m.node_id) && m.span_writer)
      return caf::actor_cast<span_writer_actor>(m.span_writer);
  }
  return {};
}

archiver_actor view::archiver() const {
  if (auto local = local_->archiver())
    return local;
  auto s = current();
  if (const auto* m = member(*s, s->leader); m != nullptr && m->node_id != self_)
    return caf::actor_cast<archiver_actor>(m->archiver);
  return {};
}

bool view::leads() const {
  return current()->leader == self_;
}

uint64_t view::epoch() const {
  return current()->epoch;
}

std::vector<member_info> view::members() const {
  return current()->members;
}

node_manager_actor view::manager_of(std::string_view node) const {
  auto s = current();
  const auto* m = member(*s, node);
  if (m == nullptr || m->state == state_down)
    return {};
  return caf::actor_cast<node_manager_actor>(m->manager);
}

std::pair<size_t, size_t> view::shard_points() const {
  auto s = current();
  return {s->ring.points_of(self_), s->ring.points()};
}

} // namespace bedbank::cluster
