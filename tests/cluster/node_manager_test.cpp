// The node manager over CAF's simulated network (io_dsl): three nodes (earth, mars, jupiter)
// join through a seed, learn of each other from member lists, see a node whose manager goes
// away as down at once, and refuse a node of another wire version or with a taken node id.
// The managers arm no timer of their own: each heartbeat round is a tick the test sends, and
// everything else (messages, simulated network traffic, request timeouts) runs to exhaustion.
#define CAF_SUITE node_manager
#include <caf/test/unit_test_impl.hpp>

#include <caf/test/io_dsl.hpp>

#include "cluster/cluster.hpp"
#include "cluster/membership.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

using namespace bedbank;

namespace {

struct node_config : caf::actor_system_config {
  node_config() {
    register_types(*this);
    load<caf::io::middleman>();
    set("middleman.app-identifiers", std::vector<std::string>{wire_version()});
  }
};

using base_fixture = test_coordinator_fixture<node_config>;
using planet = test_node_fixture<base_fixture>;

/// One simulated node: its configuration, view and node manager.
struct node {
  std::shared_ptr<config::bedbank_config> cfg = std::make_shared<config::bedbank_config>();
  std::shared_ptr<node_env> env = std::make_shared<node_env>();
  std::shared_ptr<cluster::view> v;
  node_manager_actor manager;
};

struct fixture : belt_fixture<base_fixture> {
  node e, m, j; // earth, mars, jupiter
  caf::io::accept_handle earth_acceptor, mars_acceptor, jupiter_acceptor;

  fixture() {
    exec_all(); // the middlemen's own start-up
    earth_acceptor = next_accept_handle();
    mars_acceptor = next_accept_handle();
    jupiter_acceptor = next_accept_handle();
  }

  caf::io::accept_handle acceptor_of(planet& p) {
    return &p == &earth ? earth_acceptor : &p == &mars ? mars_acceptor : jupiter_acceptor;
  }

  ~fixture() {
    for (auto* n : {&e, &m, &j})
      if (n->manager)
        caf::anon_send_exit(n->manager, caf::exit_reason::user_shutdown);
    settle();
  }

  /// Runs every message, every byte on the simulated network and every timer (the managers
  /// arm none of their own: each heartbeat round is a tick the test sends).
  void settle() { exec_all(); }

  /// One heartbeat round on every running node.
  void beat() {
    for (auto* n : {&e, &m, &j})
      if (n->manager)
        caf::anon_send(n->manager, tick_atom::value, uint64_t{0});
    settle();
  }

  /// Starts the node manager of `n` on `p` as `id` at `host:port` joining `seeds`.
  void start(planet& p, node& n, const std::string& id, const std::string& host, uint16_t port,
             std::vector<std::string> seeds, std::string version = {}) {
    n.cfg->server.node_id = id;
    n.cfg->cluster.bind = host;
    n.cfg->cluster.port = port;
    n.cfg->cluster.seeds = std::move(seeds);
    n.env->cfg = n.cfg;
    n.env->actors = std::make_shared<directory>();
    n.env->counters = std::make_shared<actor_counters>();
    n.env->node_id = id;
    std::vector<std::string> roles{"engine", "journal"};
    n.v = std::make_shared<cluster::view>(id, roles, n.env->actors, n.env->counters, 16,
                                          n.cfg->cluster.failure_timeout);
    n.env->place = n.v;
    auto self_info = cluster::describe_self(*n.cfg, roles, 1000);
    if (!version.empty())
      self_info.version = version;
    n.manager = cluster::spawn_node_manager(p.sys, n.env, n.v, self_info, false);
    if (port != 0) {
      p.mpx.provide_acceptor(port, acceptor_of(p)); // as prepare_connection does
      p.publish(n.manager, port);
    }
    caf::anon_send(n.manager, tick_atom::value, uint64_t{0});
    exec_all();
  }

  /// The state of `id` in `n`'s view ("" when unknown).
  static std::string state_in(const node& n, const std::string& id) {
    for (const auto& x : n.v->members())
      if (x.node_id == id)
        return x.state;
    return {};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_manager_tests, fixture)

CAF_TEST(a node joins through its seed and both see each other) {
  prepare_connection(earth, mars, "earth", 7101, earth_acceptor);
  start(earth, e, "earth", "earth", 7101, {});
  CAF_CHECK_EQUAL(e.v->members().size(), 1u);
  start(mars, m, "mars", "mars", 7102, {"earth:7101"});
  CAF_CHECK_EQUAL(state_in(e, "mars"), "up");
  CAF_CHECK_EQUAL(state_in(m, "earth"), "up");
  CAF_CHECK_EQUAL(e.v->shard_points().second, 32u); // two engines, 16 points each
  CAF_CHECK_EQUAL(m.v->shard_points().second, 32u);
  CAF_CHECK(e.v->leads()); // the smallest journal node id
  CAF_CHECK(!m.v->leads());
  // Both route every order the same way.
  for (int i = 0; i < 100; ++i) {
    auto id = "ord_" + std::to_string(1000000 + i * 7919);
    CAF_CHECK_EQUAL(e.v->order_owner(id).node, m.v->order_owner(id).node);
    CAF_CHECK_NOT_EQUAL(e.v->owns(id), m.v->owns(id));
  }
  // Heartbeats keep both up.
  beat();
  beat();
  CAF_CHECK_EQUAL(state_in(e, "mars"), "up");
  CAF_CHECK_EQUAL(state_in(m, "earth"), "up");
}

CAF_TEST(a third node learns of the others from the seed) {
  prepare_connection(earth, mars, "earth", 7101, earth_acceptor);
  prepare_connection(earth, jupiter, "earth", 7101, earth_acceptor);
  prepare_connection(mars, jupiter, "mars", 7102, mars_acceptor);
  start(earth, e, "earth", "earth", 7101, {});
  start(mars, m, "mars", "mars", 7102, {"earth:7101"});
  start(jupiter, j, "jupiter", "jupiter", 0, {"earth:7101"});
  // jupiter heard of mars in earth's answer and reached it directly.
  CAF_CHECK_EQUAL(state_in(j, "earth"), "up");
  CAF_CHECK_EQUAL(state_in(j, "mars"), "up");
  CAF_CHECK_EQUAL(state_in(m, "jupiter"), "up");
  CAF_CHECK_EQUAL(state_in(e, "jupiter"), "up");
  CAF_CHECK_EQUAL(j.v->shard_points().second, 48u);
  CAF_CHECK_EQUAL(e.v->epoch(), e.v->epoch());
}

CAF_TEST(a node whose manager goes away is down at once) {
  prepare_connection(earth, mars, "earth", 7101, earth_acceptor);
  start(earth, e, "earth", "earth", 7101, {});
  start(mars, m, "mars", "mars", 7102, {"earth:7101"});
  CAF_REQUIRE_EQUAL(state_in(e, "mars"), "up");
  auto epoch = e.v->epoch();
  caf::anon_send_exit(m.manager, caf::exit_reason::kill);
  m.manager = nullptr;
  settle();
  CAF_CHECK_EQUAL(state_in(e, "mars"), "down");
  CAF_CHECK_GREATER(e.v->epoch(), epoch);
  CAF_CHECK_EQUAL(e.v->shard_points().second, 16u); // the ring is earth's alone
  for (int i = 0; i < 50; ++i)
    CAF_CHECK(e.v->owns("ord_" + std::to_string(i)));
}

CAF_TEST(a node of another wire version is refused) {
  prepare_connection(earth, mars, "earth", 7101, earth_acceptor);
  start(earth, e, "earth", "earth", 7101, {});
  // mars speaks (claims) another wire version in its join: earth refuses it.
  start(mars, m, "mars", "mars", 7102, {"earth:7101"}, "bedbank/0.0.0 wire/0 types/0");
  CAF_CHECK_EQUAL(state_in(e, "mars"), "");
  CAF_CHECK_EQUAL(state_in(m, "earth"), "");
  CAF_CHECK_EQUAL(e.v->members().size(), 1u);
}

CAF_TEST(a join with this node id is refused) {
  start(earth, e, "earth", "earth", 7101, {});
  auto twin = cluster::describe_self(*e.cfg, {"engine"}, 2000);
  twin.pid = 4242;
  auto& self = earth.self;
  self->send(e.manager, join_atom::value, twin);
  settle();
  bool refused = false;
  self->receive(
      [&](const member_info&, const std::vector<member_info>&) { CAF_FAIL("accepted a twin"); },
      [&](caf::error& err) {
        refused = code_of(err) == ec::invalid_request &&
                  message_of(err).find("node id earth is taken") != std::string::npos;
      });
  CAF_CHECK(refused);
  twin.node_id = "other";
  twin.version = "bedbank/0 wire/0 types/0";
  self->send(e.manager, join_atom::value, twin);
  settle();
  self->receive([&](const member_info&,
                    const std::vector<member_info>&) { CAF_FAIL("accepted another version"); },
                [&](caf::error& err) { CAF_CHECK(code_of(err) == ec::version_mismatch); });
  CAF_CHECK_EQUAL(e.v->members().size(), 1u);
}

CAF_TEST(status reports the actors of the node) {
  start(earth, e, "earth", "earth", 0, {});
  auto& self = earth.self;
  self->send(e.manager, status_atom::value);
  settle();
  self->receive([&](const node_status& s) {
    CAF_CHECK_EQUAL(s.self.node_id, "earth");
    CAF_CHECK_EQUAL(s.self.state, "up");
    CAF_CHECK_EQUAL(s.ring_points, 16);
    bool has_manager = false;
    for (const auto& b : s.mailbox)
      has_manager = has_manager || b.name == "node_manager";
    CAF_CHECK(has_manager);
  });
  // Drain: earth leaves the ring; with nobody else, it keeps serving as the last engine.
  self->send(e.manager, drain_atom::value);
  settle();
  self->receive([&](const member_info& me) { CAF_CHECK_EQUAL(me.state, "draining"); });
  CAF_CHECK_EQUAL(e.v->shard_points().second, 0u);
  CAF_CHECK(e.v->owns("ord_0123456789abcdef"));
}

CAF_TEST_FIXTURE_SCOPE_END()
