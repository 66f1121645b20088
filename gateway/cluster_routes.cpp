// The admin routes that ask every node: the cluster view (GET /admin/cluster), drains
// (POST /admin/nodes/{id}/drain) and the supplier breakers of every engine node
// (GET /admin/suppliers, POST /admin/suppliers/{code}/circuit). Each node is asked with a
// deadline (cluster.gather_timeout); a node that does not answer in time is reported as such,
// it never holds the answer up.
#include <algorithm>
#include <map>
#include <mutex>

#include <caf/actor_system.hpp>

#include "domain/dates.hpp"
#include "gateway/router.hpp"
#include "gateway/router_detail.hpp"

namespace bedbank::gateway {

using nlohmann::json;

namespace {

/// Answers of one question to several nodes: by node id, and why each missing one is missing.
template <class Result> struct gathering {
  std::mutex mtx;
  size_t pending = 0;
  std::map<std::string, Result> answers;
  std::map<std::string, std::string> missing;
  std::function<void(std::map<std::string, Result>&, std::map<std::string, std::string>&)> done;

  void settle() {
    // Called with mtx held by the last answer; nothing else touches the maps afterwards.
    if (--pending == 0)
      done(answers, missing);
  }
};

/// Asks every (node, handle) of `targets` the same request with `timeout`; `done` runs once,
/// with every answer and every failure, on the thread of the last one.
template <class Result, class Handle, class Done, class... Ts>
void gather(caf::actor_system& sys, const std::vector<std::pair<std::string, Handle>>& targets,
            std::chrono::milliseconds timeout, Done done, Ts... xs) {
  auto g = std::make_shared<gathering<Result>>();
  g->pending = targets.size() + 1;
  g->done = std::move(done);
  for (const auto& [node, handle] : targets) {
    ask(
        sys, handle, timeout,
        [g, node = node](Result& r) {
          std::lock_guard guard{g->mtx};
          g->answers.emplace(node, std::move(r));
          g->settle();
        },
        [g, node = node](const caf::error& e) {
          std::lock_guard guard{g->mtx};
          auto m = message_of(e);
          g->missing.emplace(node, m.empty() ? (e == caf::sec::request_timeout
                                                    ? std::string{"no answer in time"}
                                                    : std::string{"unreachable"})
                                             : m);
          g->settle();
        },
        xs...);
  }
  std::lock_guard guard{g->mtx};
  g->settle();
}

json encode_stats(const supplier_stats& s) {
  return json{{"code", s.code},
              {"name", s.name},
              {"enabled", s.enabled},
              {"circuit", s.circuit},
              {"mode", s.mode},
              {"consecutive_failures", s.consecutive_failures},
              {"failures", s.errors + s.timeouts},
              {"reset_timeout_ms", s.reset_timeout_ms},
              {"calls", s.calls},
              {"successes", s.successes},
              {"errors", s.errors},
              {"timeouts", s.timeouts},
              {"rejected", s.rejected},
              {"in_flight", s.in_flight},
              {"max_concurrent", s.max_concurrent},
              {"latency_ms", {{"p50", s.p50_ms}, {"p95", s.p95_ms}, {"p99", s.p99_ms}}}};
}

/// Severity of a breaker state, for the summary of several nodes (the worst one shows).
int severity(const std::string& circuit) {
  if (circuit == "open")
    return 3;
  if (circuit == "half_open")
    return 2;
  if (circuit == "closed")
    return 1;
  return 0;
}

/// One supplier over every node that answered: counters summed, the worst breaker state, the
/// largest percentiles (percentiles of different nodes do not add up), and each node's own.
json summarise(const std::string& code, const std::map<std::string, supplier_stats>& by_node) {
  supplier_stats sum;
  sum.code = code;
  std::string mode;
  json nodes = json::array();
  bool first = true;
  for (const auto& [node, s] : by_node) {
    if (first) {
      sum.name = s.name;
      sum.enabled = s.enabled;
      sum.circuit = s.circuit;
      sum.reset_timeout_ms = s.reset_timeout_ms;
      mode = s.mode;
      first = false;
    }
    if (severity(s.circuit) > severity(sum.circuit))
      sum.circuit = s.circuit;
    if (s.mode != mode)
      mode = "mixed";
    sum.consecutive_failures = std::max(sum.consecutive_failures, s.consecutive_failures);
    sum.reset_timeout_ms = std::max(sum.reset_timeout_ms, s.reset_timeout_ms);
    sum.calls += s.calls;
    sum.successes += s.successes;
    sum.errors += s.errors;
    sum.timeouts += s.timeouts;
    sum.rejected += s.rejected;
    sum.in_flight += s.in_flight;
    sum.max_concurrent += s.max_concurrent;
    sum.p50_ms = std::max(sum.p50_ms, s.p50_ms);
    sum.p95_ms = std::max(sum.p95_ms, s.p95_ms);
    sum.p99_ms = std::max(sum.p99_ms, s.p99_ms);
    auto one = encode_stats(s);
    one.erase("code");
    one.erase("name");
    one["node"] = node;
    nodes.push_back(std::move(one));
  }
  sum.mode = mode;
  auto out = encode_stats(sum);
  out["nodes"] = std::move(nodes);
  return out;
}

json missing_list(const std::map<std::string, std::string>& missing) {
  json out = json::array();
  for (const auto& [node, why] : missing)
    out.push_back({{"node", node}, {"reason", why}});
  return out;
}

json named(const std::vector<named_count>& xs) {
  json out = json::object();
  for (const auto& x : xs)
    out[x.name] = x.value;
  return out;
}

std::string instant_or_empty(int64_t us) {
  return us > 0 ? domain::format_instant_us(us) : std::string{};
}

json encode_member(const member_info& m) {
  return json{{"id", m.node_id},
              {"address", m.port != 0 ? m.host + ":" + std::to_string(m.port) : std::string{}},
              {"api", m.api},
              {"pid", m.pid},
              {"roles", m.roles},
              {"up_since", instant_or_empty(m.up_since_us)},
              {"last_heartbeat", instant_or_empty(m.last_heartbeat_us)},
              {"state", m.state},
              {"version", m.version},
              {"load", {{"searches", m.load}}}};
}

/// Every live engine node's query engine (this node's own when there is no cluster view).
std::vector<std::pair<std::string, query_engine_actor>> engine_nodes(const node_context& ctx) {
  if (ctx.place)
    return ctx.place->query_engines();
  std::vector<std::pair<std::string, query_engine_actor>> out;
  if (ctx.actors && ctx.actors->engine())
    out.emplace_back(ctx.node_id, ctx.actors->engine());
  return out;
}

} // namespace

void router::suppliers(const std::shared_ptr<exchange>& x) {
  auto engines = engine_nodes(ctx_);
  if (engines.empty()) {
    fail(*x, ec::node_unavailable, "no engine node is up; retry shortly");
    return;
  }
  gather<std::vector<supplier_stats>>(
      *ctx_.sys, engines, ctx_.cfg->cluster.gather_timeout,
      [x](std::map<std::string, std::vector<supplier_stats>>& answers,
          std::map<std::string, std::string>& missing) {
        if (answers.empty()) {
          fail(*x, ec::node_unavailable, "no engine node answered in time; retry shortly");
          return;
        }
        std::map<std::string, std::map<std::string, supplier_stats>> by_code;
        for (auto& [node, all] : answers)
          for (auto& s : all)
            by_code[s.code].emplace(node, std::move(s));
        json list = json::array();
        for (const auto& [code, by_node] : by_code)
          list.push_back(summarise(code, by_node));
        json nodes = json::array();
        for (const auto& [node, _] : answers)
          nodes.push_back(node);
        answer(*x, 200,
               json{{"suppliers", std::move(list)},
                    {"nodes", std::move(nodes)},
                    {"missing", missing_list(missing)}});
      },
      stats_atom::value);
}

void router::circuit(const std::shared_ptr<exchange>& x, const std::string& code) {
  if (reject_media_type(*x))
    return;
  auto body = parse_body(*x);
  if (!body)
    return;
  if (!body->is_object()) {
    fail(*x, ec::invalid_request, "the body must be a JSON object {\"state\": ...}");
    return;
  }
  for (const auto& [k, _] : body->items())
    if (k != "state") {
      fail(*x, ec::invalid_request, "unknown field '" + k + "'", k);
      return;
    }
  auto st = body->find("state");
  if (st == body->end() || !st->is_string() ||
      (*st != "open" && *st != "closed" && *st != "auto")) {
    fail(*x, ec::invalid_request, "state must be \"open\", \"closed\" or \"auto\"", "state");
    return;
  }
  if (!ctx_.cfg->supplier(code)) {
    fail(*x, ec::not_found, "no supplier '" + code + "'");
    return;
  }
  auto engines = engine_nodes(ctx_);
  if (engines.empty()) {
    fail(*x, ec::node_unavailable, "no engine node is up; retry shortly");
    return;
  }
  // Every engine node has its own breaker for the supplier: the override goes to all of them.
  gather<supplier_stats>(
      *ctx_.sys, engines, ctx_.cfg->cluster.gather_timeout,
      [x, code](std::map<std::string, supplier_stats>& answers,
                std::map<std::string, std::string>& missing) {
        if (answers.empty()) {
          fail(*x, ec::node_unavailable, "no engine node answered in time; retry shortly");
          return;
        }
        auto out = summarise(code, answers);
        out["missing"] = missing_list(missing);
        answer(*x, 200, out);
      },
      circuit_atom::value, code, st->get<std::string>());
}

void router::gather_status(status_fn k) {
  auto members = ctx_.place ? ctx_.place->members() : std::vector<member_info>{};
  std::vector<std::pair<std::string, node_manager_actor>> managers;
  for (const auto& m : members)
    if (auto nm = ctx_.place->manager_of(m.node_id))
      managers.emplace_back(m.node_id, std::move(nm));
  gather<node_status>(
      *ctx_.sys, managers, ctx_.cfg->cluster.gather_timeout,
      [members, k](std::map<std::string, node_status>& answers,
                   std::map<std::string, std::string>& missing) { k(members, answers, missing); },
      status_atom::value);
}

void router::cluster(const std::shared_ptr<exchange>& x) {
  auto self = ctx_.node_id;
  auto place = ctx_.place;
  gather_status([x, self, place](std::vector<member_info> members,
                                 std::map<std::string, node_status>& answers,
                                 std::map<std::string, std::string>& missing) {
    json nodes = json::array();
    for (const auto& m : members) {
      auto it = answers.find(m.node_id);
      auto node = encode_member(it != answers.end() && m.node_id == self ? it->second.self : m);
      // The state is this node's view (the failure detector's), the details the node's own.
      node["state"] = m.state;
      if (it != answers.end()) {
        const auto& s = it->second;
        node["pid"] = s.self.pid;
        node["api"] = s.self.api;
        node["load"] = {{"searches", s.self.load}};
        node["actors"] = named(s.actors);
        node["actors_running"] = s.actors_running;
        node["mailbox_backlog"] = named(s.mailbox);
        node["restarts"] = named(s.restarts);
        node["crashed_actors"] = s.crashes;
        node["shards"] = {
            {"points", s.shard_points}, {"ring_points", s.ring_points}, {"epoch", s.epoch}};
        node["answered"] = true;
      } else {
        node["answered"] = false;
        if (auto why = missing.find(m.node_id); why != missing.end())
          node["unanswered"] = why->second;
        if (m.state != "down")
          node["state"] = "unresponsive";
      }
      nodes.push_back(std::move(node));
    }
    json ring = json::object();
    if (place) {
      ring["epoch"] = place->epoch();
      json engines = json::array();
      for (const auto& m : members)
        if (m.state == "up" && std::find(m.roles.begin(), m.roles.end(), "engine") != m.roles.end())
          engines.push_back(m.node_id);
      ring["engines"] = std::move(engines);
    }
    answer(*x, 200, json{{"node", self}, {"ring", std::move(ring)}, {"nodes", std::move(nodes)}});
  });
}

void cluster_series(std::string& out, const std::vector<member_info>& members,
                    const std::map<std::string, node_status>& answers) {
  std::map<std::string, int> by_state{{"up", 0}, {"draining", 0}, {"down", 0}};
  for (const auto& m : members)
    ++by_state[m.state];
  out += "# HELP bedbank_cluster_nodes Nodes of the cluster by state, as this node sees them.\n"
         "# TYPE bedbank_cluster_nodes gauge\n";
  for (const auto& [state, n] : by_state)
    out += "bedbank_cluster_nodes{state=\"" + prometheus_label(state) + "\"} " + std::to_string(n) +
           "\n";
  auto family = [&](const char* name, const char* help, const char* type) {
    out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto sample = [&](const char* name, const std::string& node, const char* label,
                    const std::string& value_label, int64_t v) {
    out += std::string{name} + "{node=\"" + prometheus_label(node) + "\"";
    if (label != nullptr)
      out += std::string{","} + label + "=\"" + prometheus_label(value_label) + "\"";
    out += "} " + std::to_string(v) + "\n";
  };
  family("bedbank_node_actors", "Live actors per kind on each node that answered.", "gauge");
  for (const auto& [node, s] : answers)
    for (const auto& a : s.actors)
      sample("bedbank_node_actors", node, "kind", a.name, a.value);
  family("bedbank_node_mailbox_backlog",
         "Messages waiting in each long-lived actor's mailbox (-1: no answer in time).", "gauge");
  for (const auto& [node, s] : answers)
    for (const auto& a : s.mailbox)
      sample("bedbank_node_mailbox_backlog", node, "actor", a.name, a.value);
  family("bedbank_supervisor_restarts_total", "Restarts of each supervised actor.", "counter");
  for (const auto& [node, s] : answers)
    for (const auto& a : s.restarts)
      sample("bedbank_supervisor_restarts_total", node, "child", a.name, a.value);
  family("bedbank_actor_crashes_total", "Search, order and hold actors that ended with an error.",
         "counter");
  for (const auto& [node, s] : answers)
    sample("bedbank_actor_crashes_total", node, nullptr, {}, s.crashes);
}

void router::drain(const std::shared_ptr<exchange>& x, const std::string& node) {
  if (reject_fields(*x, "drain"))
    return;
  auto members = ctx_.place ? ctx_.place->members() : std::vector<member_info>{};
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const member_info& m) { return m.node_id == node; });
  if (it == members.end()) {
    fail(*x, ec::not_found, "no node '" + node + "' in the cluster");
    return;
  }
  auto nm = ctx_.place->manager_of(node);
  if (it->state == "down" || !nm) {
    fail(*x, ec::conflict, "node '" + node + "' is down: its shards have moved already");
    return;
  }
  auto deadline = ctx_.cfg->cluster.gather_timeout + admin_timeout;
  ask(
      *ctx_.sys, nm, deadline,
      [x](member_info& m) {
        answer(*x, 200,
               json{{"node", m.node_id},
                    {"state", m.state},
                    {"message", "the node owns no shards any more: new orders and searches go "
                                "to the other engine nodes; its work in progress finishes "
                                "there or moves with the orders; stop it when "
                                "GET /admin/cluster shows its order actors at 0"}});
      },
      [x](const caf::error& e) { fail_call(*x, e, "node manager"); }, drain_atom::value);
}

} // namespace bedbank::gateway
