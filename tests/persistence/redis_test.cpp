// redis_test: the price cache (persistence::redis_cache and the price_cache actor in front of
// it) against the throwaway Redis of the services fixture (BEDBANK_TEST_REDIS_PORT).
#define CAF_SUITE redis
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "persistence/redis_cache.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

using namespace std::chrono_literals;
using namespace bedbank;
using namespace bedbank::persistence;

namespace {

uint16_t redis_port() {
  const char* s = std::getenv("BEDBANK_TEST_REDIS_PORT");
  return static_cast<uint16_t>(s != nullptr ? std::atoi(s) : 26379);
}

/// A key no other test run uses.
std::string unique_key(const std::string& name) {
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return "bedbank:test:" + name + ":" + std::to_string(now);
}

redis_cache make_cache() {
  return redis_cache{"127.0.0.1", redis_port(), "", 0, 1000ms};
}

struct actor_config : caf::actor_system_config {
  actor_config() { register_types(*this); }
};

/// What the price_cache actor answers to a write: true, or the error.
caf::expected<bool> write_through_actor(uint16_t port, const std::string& key,
                                        const std::string& value) {
  actor_config cfg;
  caf::actor_system sys{cfg};
  config::redis_config rc;
  rc.port = port;
  auto cache = spawn_price_cache(sys, rc);
  caf::expected<bool> out{make_error(ec::internal, "no answer")};
  caf::scoped_actor self{sys};
  self->request(cache, 5s, write_atom::value, key, value, int64_t{10000})
      .receive([&](bool stored) { out = stored; }, [&](caf::error& err) { out = std::move(err); });
  caf::anon_send_exit(cache, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace

CAF_TEST(the price cache actor answers a write true only once Redis stored it) {
  auto key = unique_key("actor-write");
  auto stored = write_through_actor(redis_port(), key, "kept");
  CAF_REQUIRE(stored);
  CAF_CHECK(*stored);
  auto v = make_cache().get(key);
  CAF_REQUIRE(v);
  CAF_CHECK(v->found);
  CAF_CHECK_EQUAL(v->data, "kept");
  // Nothing listens on port 1: the write is an error saying why, never `true`.
  auto refused = write_through_actor(1, unique_key("actor-refused"), "lost");
  CAF_REQUIRE(!refused);
  CAF_CHECK_EQUAL(code_of(refused.error()), ec::storage_unavailable);
  CAF_CHECK(message_of(refused.error()).find("127.0.0.1:1") != std::string::npos);
}

CAF_TEST(a missing key is a miss) {
  auto cache = make_cache();
  auto v = cache.get(unique_key("miss"));
  CAF_REQUIRE(v);
  CAF_CHECK(!v->found);
}

CAF_TEST(set then get is a hit) {
  auto cache = make_cache();
  auto key = unique_key("hit");
  std::string value = "{\"price\":12345,\"bin\":\"\x01\x00\xff\"}";
  value.push_back('\0');
  CAF_REQUIRE(!cache.set(key, value, 10s));
  auto v = cache.get(key);
  CAF_REQUIRE(v);
  CAF_CHECK(v->found);
  CAF_CHECK_EQUAL(v->data, value);
}

CAF_TEST(entries expire) {
  auto cache = make_cache();
  auto key = unique_key("expiry");
  CAF_REQUIRE(!cache.set(key, "soon gone", 300ms));
  auto before = cache.get(key);
  CAF_REQUIRE(before);
  CAF_CHECK(before->found);
  std::this_thread::sleep_for(600ms);
  auto after = cache.get(key);
  CAF_REQUIRE(after);
  CAF_CHECK(!after->found);
}

CAF_TEST(select picks another database) {
  redis_cache db1{"127.0.0.1", redis_port(), "", 1, 1000ms};
  auto cache = make_cache();
  auto key = unique_key("db");
  CAF_REQUIRE(!db1.set(key, "in db 1", 10s));
  auto in_0 = cache.get(key);
  CAF_REQUIRE(in_0);
  CAF_CHECK(!in_0->found);
  auto in_1 = db1.get(key);
  CAF_REQUIRE(in_1);
  CAF_CHECK(in_1->found);
}

CAF_TEST(ping answers) {
  auto cache = make_cache();
  auto h = cache.ping();
  CAF_CHECK(h.ok);
  CAF_CHECK_EQUAL(h.name, "redis");
  CAF_CHECK(h.latency_us > 0);
}

CAF_TEST(an unreachable server gives errors not exceptions) {
  redis_cache cache{"127.0.0.1", 1, "", 0, 300ms};
  auto v = cache.get("k");
  CAF_REQUIRE(!v);
  CAF_CHECK_EQUAL(code_of(v.error()), ec::storage_unavailable);
  CAF_MESSAGE("get error: " << message_of(v.error()));
  auto err = cache.set("k", "v", 1s);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(code_of(err), ec::storage_unavailable);
  auto h = cache.ping();
  CAF_CHECK(!h.ok);
  CAF_CHECK(!h.message.empty());
}

CAF_TEST(a wrong password is an error) {
  redis_cache cache{"127.0.0.1", redis_port(), "wrong-password", 0, 1000ms};
  auto v = cache.get("k");
  CAF_REQUIRE(!v);
  CAF_CHECK_EQUAL(code_of(v.error()), ec::storage_unavailable);
}
