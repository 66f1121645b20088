// NODE MANAGER: one per node. Published on cluster.bind:cluster.port, it reaches the seeds
// (CAF's middleman connects, the BASP handshake refuses a peer of another wire version), joins
// each peer it learns of directly, heartbeats every member every cluster.heartbeat_interval
// and marks a member down when its node manager goes away (the connection died) or when it has
// been silent for cluster.failure_timeout (a hung peer). Every change goes to the node's view;
// when the order ring moves, the node's order engine is told to rebalance.
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <unistd.h>

#include "actors/probe.hpp"
#include "cluster/cluster.hpp"
#include "cluster/membership.hpp"
#include "domain/dates.hpp"
#include "log/log.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

namespace bedbank::cluster {

namespace {

using std::chrono::milliseconds;
using json = nlohmann::json;

constexpr const char* component = "cluster";

std::string endpoint(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

/// "host:port" → (host, port); port 0 when malformed (the config checked the seeds).
std::pair<std::string, uint16_t> split_endpoint(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos)
    return {s, 0};
  return {s.substr(0, colon), static_cast<uint16_t>(std::stoi(s.substr(colon + 1)))};
}

struct manager_state {
  static inline const char* name = "node_manager";
  std::shared_ptr<const node_env> env;
  std::shared_ptr<view> v;
  std::unique_ptr<membership> table;
  caf::io::middleman_actor mm;
  uint64_t gen = 0;
  bool timed = true; ///< false: no timer of its own; every (tick_atom, 0) runs one round
  int64_t failure_us = 0;
  std::set<std::string> reaching;            ///< "host:port" being connected to
  std::map<std::string, int64_t> next_reach; ///< "host:port" → earliest next attempt (µs)
  std::set<std::string> complained;          ///< addresses whose failure was logged once
  /// Addresses of members that stopped on purpose (SIGTERM, a drain done): that they are gone
  /// and cannot be reached until they come back is news, not a warning.
  std::set<std::string> left;
  /// "host:port" → when connecting to it first failed (µs) since it was last reached. Nodes
  /// started together miss each other for a moment: not being able to reach a peer is a
  /// warning only once it lasted cluster.failure_timeout.
  std::map<std::string, int64_t> unreachable_since;
  /// Node managers watched (monitored): address → (node id, incarnation).
  std::map<caf::actor_addr, std::pair<std::string, int64_t>> watched;
};

using manager_pointer = node_manager_actor::stateful_pointer<manager_state>;

/// This node's own entry with its current handles and load.
member_info& refresh_self(manager_pointer self) {
  auto& st = self->state;
  auto& me = st.table->self();
  const auto& dir = *st.env->actors;
  me.manager = caf::actor_cast<caf::actor>(node_manager_actor{self});
  me.query_engine =
      has_role(me.roles, "engine") ? caf::actor_cast<caf::actor>(dir.engine()) : caf::actor{};
  me.order_engine =
      has_role(me.roles, "engine") ? caf::actor_cast<caf::actor>(dir.orders()) : caf::actor{};
  me.span_writer = has_role(me.roles, "journal")
                       ? caf::actor_cast<caf::actor>(dir.get<span_writer_actor>(span_writer_name))
                       : caf::actor{};
  me.archiver =
      has_role(me.roles, "journal") ? caf::actor_cast<caf::actor>(dir.archiver()) : caf::actor{};
  me.load = st.env->counters ? st.env->counters->searches.load() : 0;
  me.last_heartbeat_us = domain::now_us();
  return me;
}

/// Hands the membership to the view; tells the order engine when the ring moved.
void publish(manager_pointer self) {
  auto& st = self->state;
  refresh_self(self);
  if (!st.v->publish(st.table->list()))
    return;
  auto [mine, all] = st.v->shard_points();
  log::info(component, "ring changed",
            {{"epoch", st.v->epoch()},
             {"engines", st.table->ring_nodes()},
             {"points_here", mine},
             {"points", all},
             {"leader", st.v->leads()}});
  if (auto orders = st.env->actors->orders())
    self->send(orders, rebalance_atom::value);
  if (auto relay = st.env->actors->relay())
    caf::anon_send(caf::actor_cast<caf::actor>(relay), claim_atom::value);
}

/// Watches the node manager of `m` so that its loss is seen at once.
void watch(manager_pointer self, const member_info& m) {
  if (!m.manager)
    return;
  auto addr = m.manager.address();
  auto& st = self->state;
  auto [it, fresh] = st.watched.try_emplace(addr, m.node_id, m.up_since_us);
  if (!fresh) {
    it->second = {m.node_id, m.up_since_us};
    return;
  }
  self->monitor(m.manager);
}

void note(manager_pointer self, member_info m, const char* how) {
  auto& st = self->state;
  const auto* before = st.table->find(m.node_id);
  bool was_live = before != nullptr && !before->down;
  auto id = m.node_id;
  auto addr = endpoint(m.host, m.port);
  watch(self, m);
  auto c = st.table->heard(std::move(m), domain::now_us());
  st.complained.erase(addr);
  st.left.erase(addr);
  st.unreachable_since.erase(addr);
  if (c == change::ring) {
    const auto* e = st.table->find(id);
    log::info(component, was_live ? "member changed" : "member up",
              {{"member", id},
               {"address", addr},
               {"state", e ? e->info.state : ""},
               {"roles", e ? e->info.roles : std::vector<std::string>{}},
               {"via", how}});
  }
  if (c != change::none)
    publish(self);
}

void reach(manager_pointer self, const std::string& host, uint16_t port);

/// Members `theirs` names that this node has never heard of get reached.
void discover(manager_pointer self, const std::vector<member_info>& theirs) {
  for (const auto& m : self->state.table->strangers(theirs))
    reach(self, m.host, m.port);
}

void complain(manager_pointer self, const std::string& addr, log::level lv, const std::string& msg,
              json fields) {
  auto& st = self->state;
  if (!st.complained.insert(addr).second)
    return;
  fields["peer"] = addr;
  log::write(lv, component, msg, fields);
}

void join(manager_pointer self, const std::string& addr, const node_manager_actor& peer) {
  auto& st = self->state;
  auto timeout = st.env->cfg->cluster.connect_timeout;
  self->request(peer, timeout, join_atom::value, refresh_self(self))
      .then(
          [self](member_info& them, std::vector<member_info>& theirs) {
            note(self, std::move(them), "join");
            discover(self, theirs);
          },
          [self, addr](caf::error& e) {
            if (code_of(e) == ec::version_mismatch || code_of(e) == ec::invalid_request)
              complain(self, addr, log::level::error, "peer refused this node",
                       {{"message", message_of(e)}, {"version", wire_version()}});
            else
              complain(self, addr, log::level::warn, "join failed",
                       {{"error", self->system().render(e)}});
          });
}

int64_t heartbeat_us(manager_pointer self) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             self->state.env->cfg->cluster.heartbeat_interval)
      .count();
}

void reach(manager_pointer self, const std::string& host, uint16_t port) {
  auto& st = self->state;
  const auto& me = st.table->self();
  if (port == 0 || (port == me.port && (host == me.host || host == "localhost")))
    return;
  auto addr = endpoint(host, port);
  auto now = domain::now_us();
  if (st.reaching.count(addr) != 0)
    return;
  if (auto it = st.next_reach.find(addr); it != st.next_reach.end() && it->second > now)
    return;
  st.reaching.insert(addr);
  st.next_reach[addr] = now + 2 * heartbeat_us(self); // retried every other heartbeat
  auto timeout = st.env->cfg->cluster.connect_timeout;
  self->request(st.mm, timeout, caf::connect_atom::value, host, port)
      .then(
          [self, addr](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
            auto& st = self->state;
            st.reaching.erase(addr);
            if (!ptr) {
              complain(self, addr, log::level::warn, "no node manager is published there", {});
              return;
            }
            if (ifs != self->system().message_types<node_manager_actor>()) {
              complain(self, addr, log::level::error,
                       "peer refused: its node manager speaks another interface (another "
                       "bedbank version)",
                       {{"version", wire_version()}});
              return;
            }
            join(self, addr, caf::actor_cast<node_manager_actor>(ptr));
          },
          [self, addr](caf::error& e) {
            auto& st = self->state;
            st.reaching.erase(addr);
            auto now = domain::now_us();
            auto since = st.unreachable_since.try_emplace(addr, now).first->second;
            if (e == caf::sec::incompatible_application_ids)
              complain(self, addr, log::level::error,
                       "peer refused: it runs another wire version, so the two nodes cannot "
                       "talk; run the same bedbank build on every node",
                       {{"version", wire_version()}});
            else if (st.left.count(addr) != 0)
              complain(self, addr, log::level::info, "cannot reach peer (will retry)",
                       {{"error", self->system().render(e)}});
            else if (now - since >= st.failure_us)
              complain(self, addr, log::level::warn, "cannot reach peer (will retry)",
                       {{"error", self->system().render(e)}, {"for_ms", (now - since) / 1000}});
            else
              log::write(log::level::debug, component, "cannot reach peer yet (will retry)",
                         {{"error", self->system().render(e)}, {"peer", addr}});
          });
}

void arm(manager_pointer self) {
  if (!self->state.timed)
    return;
  auto gen = ++self->state.gen;
  self->delayed_send(self, self->state.env->cfg->cluster.heartbeat_interval, tick_atom::value, gen);
}

/// One heartbeat round: failure detection, heartbeats to every member, seeds and lost members
/// reached again, the view refreshed.
void beat(manager_pointer self) {
  auto& st = self->state;
  auto now = domain::now_us();
  std::vector<std::string> gone;
  for (const auto& [id, e] : st.table->others())
    if (!e.down && now - e.last_seen_us > st.failure_us)
      gone.push_back(id);
  if (st.table->expire(now)) {
    for (const auto& id : gone)
      if (const auto* e = st.table->find(id))
        log::warn(component, "member down",
                  {{"member", id},
                   {"reason", e->down_reason},
                   {"address", endpoint(e->info.host, e->info.port)}});
    publish(self);
  }
  auto& me = refresh_self(self);
  me.seq = static_cast<uint64_t>(now); // grows across a restart of this manager too
  auto list = st.table->gossip();
  auto timeout = st.env->cfg->cluster.failure_timeout;
  for (const auto& [id, e] : st.table->others()) {
    if (!e.info.manager)
      continue;
    auto peer = caf::actor_cast<node_manager_actor>(e.info.manager);
    self->request(peer, timeout, heartbeat_atom::value, me, list)
        .then([self](member_info& them) { note(self, std::move(them), "heartbeat"); },
              [](caf::error&) {});
    if (e.down)
      reach(self, e.info.host, e.info.port);
  }
  for (const auto& seed : st.env->cfg->cluster.seeds) {
    auto [host, port] = split_endpoint(seed);
    bool known = false;
    for (const auto& [id, e] : st.table->others())
      known = known || (!e.down && e.info.port == port && e.info.host == host);
    if (!known)
      reach(self, host, port);
  }
  publish(self);
}

/// GET /admin/cluster's answer of this node: actors per kind, mailbox backlogs (probes with a
/// deadline), supervisor restarts.
void gather_status(manager_pointer self, caf::typed_response_promise<node_status> rp) {
  struct gather {
    node_status status;
    size_t pending = 1;
    caf::typed_response_promise<node_status> rp;
  };
  auto& st = self->state;
  auto g = std::make_shared<gather>();
  g->rp = std::move(rp);
  g->status.self = refresh_self(self);
  g->status.actors_running = static_cast<int64_t>(self->system().registry().running());
  auto [mine, all] = st.v->shard_points();
  g->status.shard_points = static_cast<int64_t>(mine);
  g->status.ring_points = static_cast<int64_t>(all);
  g->status.epoch = st.v->epoch();
  std::map<std::string, int64_t> kinds;
  if (const auto* c = st.env->counters.get()) {
    g->status.crashes = c->crashes.load();
    kinds["search"] = c->searches.load();
    kinds["order"] = c->orders.load();
    kinds["hold"] = c->holds.load();
  }
  auto names = st.env->actors->names();
  for (const auto& n : names)
    ++kinds[n.substr(0, n.find(':'))];
  for (const auto& [k, n] : kinds)
    g->status.actors.push_back({k, n});
  auto finish = [g] {
    if (--g->pending > 0)
      return;
    std::sort(g->status.mailbox.begin(), g->status.mailbox.end(),
              [](const named_count& a, const named_count& b) { return a.name < b.name; });
    g->rp.deliver(std::move(g->status));
  };
  auto probe_timeout = st.env->cfg->cluster.gather_timeout / 2;
  g->status.mailbox.push_back({"node_manager", static_cast<int64_t>(self->mailbox().size())});
  for (const auto& n : names) {
    auto target = st.env->actors->get<caf::actor>(n);
    if (!target)
      continue;
    ++g->pending;
    if (n == "node_supervisor") {
      self->request(target, probe_timeout, get_atom::value)
          .then(
              [g, finish](std::vector<std::string>& children, std::vector<uint64_t>& counts) {
                for (size_t i = 0; i < children.size() && i < counts.size(); ++i)
                  g->status.restarts.push_back({children[i], static_cast<int64_t>(counts[i])});
                finish();
              },
              [finish](caf::error&) { finish(); });
      continue;
    }
    self->request(target, probe_timeout, probe_atom::value)
        .then(
            [g, finish, n](int64_t backlog) {
              g->status.mailbox.push_back({n, backlog});
              finish();
            },
            [g, finish, n](caf::error&) {
              g->status.mailbox.push_back({n, -1});
              finish();
            });
  }
  finish();
}

node_manager_actor::behavior_type manager_behavior(manager_pointer self,
                                                   std::shared_ptr<const node_env> env,
                                                   std::shared_ptr<view> v, member_info me,
                                                   bool timed) {
  auto& st = self->state;
  st.timed = timed;
  st.env = std::move(env);
  st.v = std::move(v);
  st.failure_us =
      std::chrono::duration_cast<std::chrono::microseconds>(st.env->cfg->cluster.failure_timeout)
          .count();
  me.state = state_up;
  st.table = std::make_unique<membership>(std::move(me), st.failure_us);
  st.mm = self->system().middleman().actor_handle();
  answer_probes(self);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.watched.find(msg.source);
    if (it == st.watched.end())
      return;
    auto [id, incarnation] = it->second;
    st.watched.erase(it);
    if (st.table->lost(id, incarnation,
                       "its node manager is gone: " + self->system().render(msg.reason))) {
      if (msg.reason == caf::exit_reason::user_shutdown) {
        // Stopped on purpose: its shards move as for any down member, without alarm.
        if (const auto* e = st.table->find(id))
          st.left.insert(endpoint(e->info.host, e->info.port));
        log::info(component, "member left (stopped)", {{"member", id}});
      } else {
        log::warn(component, "member down",
                  {{"member", id}, {"reason", self->system().render(msg.reason)}});
      }
      publish(self);
    }
  });
  publish(self);
  // The first tick (tick_atom, 0) comes from publish_manager once the port is bound, so that a
  // node that cannot listen never joins anybody.
  return {
      [=](join_atom, member_info& m) -> caf::result<member_info, std::vector<member_info>> {
        auto& st = self->state;
        if (m.node_id == st.table->self().node_id) {
          log::error(
              component, "refused a node with this node's id",
              {{"member", m.node_id}, {"address", endpoint(m.host, m.port)}, {"its_pid", m.pid}});
          return make_error(ec::invalid_request,
                            "node id " + m.node_id + " is taken by the node at " +
                                endpoint(st.table->self().host, st.table->self().port) +
                                "; give every node its own --node-id");
        }
        if (m.version != wire_version()) {
          log::error(component, "refused a node of another wire version",
                     {{"member", m.node_id},
                      {"address", endpoint(m.host, m.port)},
                      {"its_version", m.version},
                      {"version", wire_version()}});
          return make_error(ec::version_mismatch, "node " + st.table->self().node_id +
                                                      " runs wire version " + wire_version() +
                                                      ", the joining node " + m.version);
        }
        note(self, std::move(m), "join");
        return {refresh_self(self), st.table->gossip()};
      },
      [=](heartbeat_atom, member_info& m,
          const std::vector<member_info>& theirs) -> caf::result<member_info> {
        if (m.version != wire_version())
          return make_error(ec::version_mismatch, "another wire version");
        note(self, std::move(m), "heartbeat");
        discover(self, theirs);
        return refresh_self(self);
      },
      [=](status_atom) -> caf::result<node_status> {
        auto rp = self->make_response_promise<node_status>();
        gather_status(self, rp);
        return rp;
      },
      [=](members_atom) -> std::vector<member_info> {
        refresh_self(self);
        return self->state.table->gossip();
      },
      [=](drain_atom) -> caf::result<member_info> {
        auto& st = self->state;
        auto& me = refresh_self(self);
        if (me.state != state_draining) {
          me.state = state_draining;
          me.seq = static_cast<uint64_t>(domain::now_us());
          log::info(component, "draining: this node gives its shards back", {{"node", me.node_id}});
          publish(self);
        }
        // Answer once every live member has heard of the drain (or the gather deadline).
        auto rp = self->make_response_promise<member_info>();
        auto live = st.table->live();
        auto pending = std::make_shared<size_t>(live.size() + 1);
        auto done = [self, rp, pending]() mutable {
          if (--*pending == 0)
            rp.deliver(refresh_self(self));
        };
        auto list = st.table->gossip();
        for (const auto* e : live) {
          auto peer = caf::actor_cast<node_manager_actor>(e->info.manager);
          self->request(peer, st.env->cfg->cluster.gather_timeout, heartbeat_atom::value, me, list)
              .then(
                  [self, done](member_info& them) mutable {
                    note(self, std::move(them), "heartbeat");
                    done();
                  },
                  [done](caf::error&) mutable { done(); });
        }
        done();
        return rp;
      },
      [=](tick_atom, uint64_t gen) {
        if (gen != self->state.gen)
          return;
        beat(self);
        arm(self);
      },
      [=](reach_atom, const std::string& host, uint16_t port) { reach(self, host, port); },
  };
}

} // namespace

std::vector<std::string> expand_roles(const std::string& spec) {
  std::set<std::string> out;
  std::string r = spec + ",";
  for (size_t p = 0, q; (q = r.find(',', p)) != std::string::npos; p = q + 1) {
    auto part = r.substr(p, q - p);
    if (part == "all")
      out.insert({"engine", "gateway", "journal"});
    else if (!part.empty())
      out.insert(part);
  }
  return {out.begin(), out.end()};
}

member_info describe_self(const config::bedbank_config& cfg, const std::vector<std::string>& roles,
                          int64_t up_since_us) {
  member_info me;
  me.node_id = cfg.server.node_id;
  me.host = cfg.cluster.bind;
  me.port = cfg.cluster.port;
  me.api = cfg.server.host + ":" + std::to_string(cfg.server.port);
  me.pid = static_cast<int64_t>(::getpid());
  me.roles = roles;
  me.up_since_us = up_since_us;
  me.version = wire_version();
  me.state = state_up;
  return me;
}

node_manager_actor spawn_node_manager(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                                      std::shared_ptr<view> v, member_info self, bool timed) {
  return sys.spawn(manager_behavior, std::move(env), std::move(v), std::move(self), timed);
}

caf::expected<uint16_t> publish_manager(caf::actor_system& sys, const node_manager_actor& manager,
                                        const config::cluster_config& cfg) {
  if (cfg.port != 0) {
    sys.middleman().close(cfg.port); // a restarted manager takes over its predecessor's port
    // SO_REUSEADDR: a node restarted at once binds again past its old connections' TIME_WAIT.
    auto res = sys.middleman().publish(manager, cfg.port, cfg.bind.c_str(), true);
    if (!res)
      return make_error(ec::storage_unavailable, "cannot listen for peers on " +
                                                     endpoint(cfg.bind, cfg.port) + ": " +
                                                     sys.render(res.error()));
  }
  caf::anon_send(manager, tick_atom::value, uint64_t{0}); // start: reach the seeds
  return cfg.port;
}

} // namespace bedbank::cluster
