// The shard ring, the member table and the node's view: plain logic, no network.
#define CAF_SUITE cluster_logic
#include <caf/test/unit_test_impl.hpp>

#include <map>
#include <set>

#include "cluster/membership.hpp"
#include "cluster/ring.hpp"
#include "cluster/view.hpp"
#include "domain/ids.hpp"
#include "protocols/registry.hpp"

using namespace bedbank;
using namespace bedbank::cluster;

namespace {

std::vector<std::string> keys(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(std::string{domain::shard_key(domain::new_order_id())});
  return out;
}

member_info member(const std::string& id, int64_t up_since, uint64_t seq,
                   std::vector<std::string> roles = {"engine"}) {
  member_info m;
  m.node_id = id;
  m.host = "127.0.0.1";
  m.port = 7100;
  m.roles = std::move(roles);
  m.up_since_us = up_since;
  m.seq = seq;
  m.state = state_up;
  return m;
}

constexpr int64_t failure_us = 3'000'000;

} // namespace

CAF_TEST(stable hash is the same everywhere) {
  // Fixed values: a change here would send every order to another node after an upgrade.
  CAF_CHECK_EQUAL(stable_hash(""), stable_hash(""));
  CAF_CHECK_NOT_EQUAL(stable_hash("a"), stable_hash("b"));
  CAF_CHECK_EQUAL(stable_hash("8d746d94bb26ddba"), stable_hash(std::string{"8d746d94bb26ddba"}));
}

CAF_TEST(ring spreads keys evenly) {
  shard_ring ring{64};
  ring.assign({"node-3", "node-1", "node-2", "node-1"});
  CAF_CHECK_EQUAL(ring.nodes().size(), 3u);
  CAF_CHECK_EQUAL(ring.points(), 192u);
  CAF_CHECK_EQUAL(ring.points_of("node-2"), 64u);
  std::map<std::string, int> count;
  auto ks = keys(30000);
  for (const auto& k : ks)
    ++count[ring.owner(k)];
  CAF_REQUIRE_EQUAL(count.size(), 3u);
  for (const auto& [node, n] : count) {
    CAF_MESSAGE(node << " owns " << n << " of 30000");
    CAF_CHECK_GREATER(n, 6000); // a third would be 10000
    CAF_CHECK_LESS(n, 14000);
  }
}

CAF_TEST(ring moves only the keys of a node that leaves or joins) {
  shard_ring three{64};
  three.assign({"node-1", "node-2", "node-3"});
  shard_ring two{64};
  two.assign({"node-1", "node-2"});
  auto ks = keys(10000);
  int moved = 0;
  for (const auto& k : ks) {
    const auto& before = three.owner(k);
    const auto& after = two.owner(k);
    if (before != "node-3")
      CAF_CHECK_EQUAL(before, after); // only node-3's keys move
    else
      ++moved;
    CAF_CHECK_NOT_EQUAL(after, "node-3");
  }
  CAF_CHECK_GREATER(moved, 2000);
  // Same nodes, same ring, whatever the order they were given in.
  shard_ring again{64};
  again.assign({"node-3", "node-2", "node-1"});
  for (const auto& k : ks)
    CAF_CHECK_EQUAL(three.owner(k), again.owner(k));
}

CAF_TEST(ring skips a node) {
  shard_ring ring{16};
  ring.assign({"node-1", "node-2"});
  for (const auto& k : keys(200)) {
    auto first = ring.owner(k);
    auto other = ring.owner(k, first);
    CAF_CHECK_NOT_EQUAL(first, other);
    CAF_CHECK(!other.empty());
  }
  shard_ring one{16};
  one.assign({"node-1"});
  CAF_CHECK_EQUAL(one.owner("x", "node-1"), "");
  shard_ring none{16};
  CAF_CHECK_EQUAL(none.owner("x"), "");
}

CAF_TEST(trial ids route with their order) {
  auto order = domain::new_order_id();
  auto trial = domain::new_trial_id(order);
  CAF_CHECK_EQUAL(domain::shard_key(order), domain::shard_key(trial));
  CAF_CHECK_EQUAL(trial.size(), 36u);
  CAF_CHECK_EQUAL(domain::shard_key("other"), "other");
  CAF_CHECK_EQUAL(domain::shard_key("tri_short"), "tri_short");
}

CAF_TEST(wire version is stable within a build) {
  auto v = wire_version();
  CAF_CHECK_EQUAL(v, wire_version());
  CAF_CHECK(v.find("wire/" + std::to_string(wire_revision)) != std::string::npos);
  CAF_CHECK(v.find("types/") != std::string::npos);
}

CAF_TEST(members come up and go down and come back) {
  membership table{member("node-1", 1, 0), failure_us};
  CAF_CHECK(table.ring_nodes() == std::vector<std::string>{"node-1"});
  CAF_CHECK(table.heard(member("node-2", 10, 100), 1'000'000) == change::ring);
  CAF_CHECK(table.heard(member("node-2", 10, 101), 1'500'000) == change::details);
  CAF_CHECK(table.heard(member("node-2", 10, 101), 1'600'000) == change::none);
  CAF_CHECK((table.ring_nodes() == std::vector<std::string>{"node-1", "node-2"}));
  // An older heartbeat of the same incarnation does not revive a stale picture.
  CAF_CHECK(table.heard(member("node-2", 10, 50), 1'700'000) == change::none);
  // Silent past the failure timeout: down.
  CAF_CHECK(!table.expire(1'600'000 + failure_us - 1)); // last heard at 1.6 s
  CAF_CHECK(table.expire(1'600'000 + failure_us + 1));
  CAF_CHECK(table.find("node-2")->down);
  CAF_CHECK(table.ring_nodes() == std::vector<std::string>{"node-1"});
  CAF_CHECK(!table.expire(10'000'000)); // already down
  // Heard again (a hung node resumed): up, even with the same incarnation.
  CAF_CHECK(table.heard(member("node-2", 10, 102), 11'000'000) == change::ring);
  CAF_CHECK(!table.find("node-2")->down);
  // Its node manager went away: down at once; a late message of that incarnation is ignored
  // once a newer incarnation is known.
  CAF_CHECK(table.lost("node-2", 10, "connection lost"));
  CAF_CHECK(!table.lost("node-2", 10, "again"));
  CAF_CHECK(table.heard(member("node-2", 20, 1), 12'000'000) == change::ring);
  CAF_CHECK(table.heard(member("node-2", 10, 999), 12'100'000) == change::none);
  CAF_CHECK_EQUAL(table.find("node-2")->info.up_since_us, 20);
  CAF_CHECK(!table.lost("node-2", 10, "old incarnation"));
}

CAF_TEST(members that are draining or not engines leave the ring) {
  membership table{member("node-1", 1, 0, {"gateway"}), failure_us};
  CAF_CHECK(table.ring_nodes().empty());
  auto draining = member("node-2", 5, 1);
  draining.state = state_draining;
  CAF_CHECK(table.heard(draining, 100) == change::ring);
  CAF_CHECK(table.heard(member("node-3", 5, 1, {"journal"}), 100) == change::ring);
  CAF_CHECK(table.heard(member("node-4", 5, 1, {"engine", "journal"}), 100) == change::ring);
  CAF_CHECK(table.ring_nodes() == std::vector<std::string>{"node-4"});
  auto list = table.list();
  CAF_REQUIRE_EQUAL(list.size(), 4u);
  CAF_CHECK_EQUAL(list[0].node_id, "node-1");
  CAF_CHECK_EQUAL(list[1].state, state_draining);
  // Strangers: members a peer names that this node has no entry for.
  std::vector<member_info> theirs{member("node-1", 1, 0), member("node-4", 5, 1),
                                  member("node-9", 5, 1)};
  auto s = table.strangers(theirs);
  CAF_REQUIRE_EQUAL(s.size(), 1u);
  CAF_CHECK_EQUAL(s[0].node_id, "node-9");
  CAF_CHECK(has_role({"all"}, "journal"));
  CAF_CHECK(!has_role({"gateway"}, "engine"));
}

CAF_TEST(view routes by the ring and leads by the smallest journal node) {
  auto dir = std::make_shared<directory>();
  auto counters = std::make_shared<actor_counters>();
  view v{"node-2", {"engine", "journal"}, dir, counters, 64, std::chrono::milliseconds{3000}};
  CAF_CHECK(v.leads()); // alone
  auto k = std::string{"0123456789abcdef"};
  CAF_CHECK(v.owns(k));
  auto first_epoch = v.epoch();
  auto me = member("node-2", 1, 0, {"engine", "journal"});
  std::vector<member_info> members{me, member("node-1", 2, 1, {"engine", "journal"}),
                                   member("node-3", 3, 1, {"engine"})};
  CAF_CHECK(v.publish(members));
  CAF_CHECK_GREATER(v.epoch(), first_epoch);
  CAF_CHECK(!v.publish(members)); // nothing moved
  CAF_CHECK(!v.leads());          // node-1 is the smallest journal node
  shard_ring ring{64};
  ring.assign({"node-1", "node-2", "node-3"});
  int mine = 0;
  for (const auto& key : keys(3000)) {
    auto owner = ring.owner(key);
    CAF_CHECK_EQUAL(v.owns("ord_" + key), owner == "node-2");
    CAF_CHECK_EQUAL(v.order_owner("ord_" + key).node, owner);
    mine += owner == "node-2" ? 1 : 0;
  }
  CAF_CHECK_GREATER(mine, 0);
  CAF_CHECK_EQUAL(v.shard_points().first, 64u);
  // A suspected node's orders go to the next node on the ring until it is heard again.
  v.suspect("node-1");
  for (const auto& key : keys(300))
    CAF_CHECK_NOT_EQUAL(v.order_owner("ord_" + key).node, "node-1");
  // node-1 down: node-2 leads; node-3 draining: out of the ring.
  members[1].state = state_down;
  members[2].state = state_draining;
  CAF_CHECK(v.publish(members));
  CAF_CHECK(v.leads());
  for (const auto& key : keys(300))
    CAF_CHECK(v.owns("ord_" + key));
  CAF_CHECK_EQUAL(v.search_engine().node, "node-2");
}
