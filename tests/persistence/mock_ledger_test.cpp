// mock_ledger_test: the mock suppliers' bookings in PostgreSQL (mock_bookings), through the
// store and through the ledger actor behind a mock supplier, against the throwaway PostgreSQL
// of the services fixture (BEDBANK_TEST_PG). The database is shared with other tests, so every
// key is unique to this run.
#define CAF_SUITE mock_ledger
#include <caf/test/unit_test_impl.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "actors/factories.hpp"
#include "persistence/migrations.hpp"
#include "persistence/mock_ledger_store.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

using namespace bedbank;
using namespace bedbank::persistence;
using namespace std::chrono_literals;

namespace {

std::string conninfo() {
  const char* s = std::getenv("BEDBANK_TEST_PG");
  return s != nullptr ? s : "host=127.0.0.1 port=25432 user=bedbank dbname=bedbank";
}

/// Migrates the test database once per process.
bool migrated() {
  static const bool ok = [] {
    auto res = migrate(conninfo());
    if (!res)
      CAF_MESSAGE("migrate failed: " << message_of(res.error()));
    return static_cast<bool>(res);
  }();
  return ok;
}

/// A key (or reference) no other run uses.
std::string unique(const std::string& prefix) {
  static const auto run = [] {
    std::random_device rd;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    return std::to_string(us) + "-" + std::to_string(rd() % 100000);
  }();
  static std::atomic<int> n{0};
  return prefix + "-" + run + "-" + std::to_string(++n);
}

/// Rows of `supplier` under `key`.
int64_t rows_under(const std::string& supplier, const std::string& key) {
  pqxx::connection conn{conninfo()};
  pqxx::read_transaction txn{conn};
  return txn
      .exec_params1("SELECT count(*) FROM mock_bookings WHERE supplier = $1 "
                    "AND idempotency_key = $2",
                    supplier, key)[0]
      .as<int64_t>();
}

/// status and whether cancelled_at is set (as text) of booking `ref`, "" when absent.
std::string row_of(const std::string& ref) {
  pqxx::connection conn{conninfo()};
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec_params("SELECT status, COALESCE(cancelled_at::text, '') FROM mock_bookings "
                              "WHERE supplier_ref = $1",
                              ref);
  if (rows.empty())
    return "";
  return rows[0][0].as<std::string>() + "|" + rows[0][1].as<std::string>();
}

template <class T> ec code(const caf::expected<T>& x) {
  return x ? ec::none : code_of(x.error());
}

template <class T> std::string message(const caf::expected<T>& x) {
  return x ? std::string{} : message_of(x.error());
}

// -- a node with a mock ledger ------------------------------------------------------------

struct node_config : caf::actor_system_config {
  node_config() { register_types(*this); }
};

struct node_fixture {
  node_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<config::bedbank_config> conf = std::make_shared<config::bedbank_config>();
  std::shared_ptr<node_env> env = std::make_shared<node_env>();
  std::vector<caf::actor> spawned;

  node_fixture() {
    config::supplier_config s;
    s.code = "alpha";
    s.name = "alpha";
    s.timeout = 200ms; // answer_lost answers after 800 ms
    config::mock_profile m;
    m.latency.shape = config::latency_profile::kind::fixed;
    m.latency.fixed = 0ms;
    m.seed = 42;
    s.mock = m;
    conf->suppliers = {s};
    env->cfg = conf;
    env->catalog = std::make_shared<const domain::catalog>(domain::demo_hotels(),
                                                           std::vector<std::string>{"alpha"});
    env->actors = std::make_shared<directory>();
    env->cache = std::make_shared<local_cache>(100, 60000ms);
    env->node_id = "test-node";
  }

  ~node_fixture() {
    for (auto& a : spawned)
      self->send_exit(a, caf::exit_reason::user_shutdown);
  }

  template <class Handle> Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  mock_ledger_actor start_ledger(const std::string& where) {
    auto ledger = keep(spawn_mock_ledger(sys, where));
    env->actors->put(directory::mock_ledger_name, caf::actor_cast<caf::strong_actor_ptr>(ledger));
    return ledger;
  }

  mock_supplier_actor start_mock() { return keep(spawn_mock_supplier(sys, env, "alpha")); }

  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& dest, caf::duration timeout, Ts&&... xs) {
    caf::expected<T> out{make_error(ec::internal, "nothing received")};
    self->request(dest, timeout, std::forward<Ts>(xs)...)
        .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  booking_request booking(const std::string& key, const std::string& scenario = "") {
    booking_request r;
    r.idempotency_key = key;
    r.hotel_code = "ALPHA-HOTEL-1";
    r.room_code = "STD";
    r.board = "BB";
    r.check_in = 20500;
    r.check_out = 20502;
    r.rooms = {{2, {}}};
    r.expected_net_minor = 123456;
    r.currency = "CNY";
    r.scenario = scenario;
    return r;
  }

  caf::expected<booking_detail> create(const mock_supplier_actor& m, const std::string& key,
                                       const std::string& scenario = "",
                                       caf::duration timeout = caf::duration{10s}) {
    return ask<booking_detail>(m, timeout, create_booking_atom::value, booking(key, scenario));
  }

  caf::expected<booking_detail> get(const mock_supplier_actor& m, const std::string& key) {
    return ask<booking_detail>(m, caf::duration{10s}, get_booking_atom::value,
                               booking_query{key, "", {}});
  }

  caf::expected<booking_detail> cancel(const mock_supplier_actor& m, const std::string& ref) {
    return ask<booking_detail>(m, caf::duration{10s}, cancel_booking_atom::value,
                               cancel_request{ref, "", "", {}});
  }
};

} // namespace

// -- the store ----------------------------------------------------------------------------

CAF_TEST(record then find answers the newest booking under a key) {
  CAF_REQUIRE(migrated());
  mock_ledger_store store{conninfo()};
  auto key = unique("order");
  auto none = store.find("alpha", key);
  CAF_REQUIRE(none);
  CAF_CHECK(!none->found);
  CAF_CHECK_EQUAL(none->idempotency_key, key);
  auto ref1 = unique("ALPHA-R1");
  auto ref2 = unique("ALPHA-R2");
  CAF_REQUIRE(!store.record("alpha", key, ref1, "H1", 1000, "CNY"));
  CAF_REQUIRE(!store.record("alpha", key, ref2, "H1", 1100, "USD"));
  CAF_CHECK_EQUAL(rows_under("alpha", key), 2);
  auto found = store.find("alpha", key);
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
  CAF_CHECK_EQUAL(found->supplier_ref, ref2);
  CAF_CHECK_EQUAL(found->idempotency_key, key);
  CAF_CHECK_EQUAL(found->status, "confirmed");
  CAF_CHECK_EQUAL(found->net_minor, 1100);
  CAF_CHECK_EQUAL(found->currency, "USD");
  // Keys are per supplier.
  auto other = store.find("beta", key);
  CAF_REQUIRE(other);
  CAF_CHECK(!other->found);
}

CAF_TEST(cancel cancels once and answers the same the second time) {
  CAF_REQUIRE(migrated());
  mock_ledger_store store{conninfo()};
  auto key = unique("order");
  auto ref = unique("ALPHA-C");
  CAF_REQUIRE(!store.record("alpha", key, ref, "H2", 2000, "CNY"));
  CAF_CHECK_EQUAL(row_of(ref), "confirmed|");
  auto first = store.cancel("alpha", ref);
  CAF_REQUIRE(first);
  CAF_CHECK(first->found);
  CAF_CHECK_EQUAL(first->supplier_ref, ref);
  CAF_CHECK_EQUAL(first->idempotency_key, key);
  CAF_CHECK_EQUAL(first->status, "cancelled");
  CAF_CHECK_EQUAL(first->net_minor, 2000);
  CAF_CHECK_EQUAL(first->currency, "CNY");
  auto row = row_of(ref);
  CAF_CHECK_EQUAL(row.rfind("cancelled|", 0), 0u);
  CAF_CHECK_GREATER(row.size(), std::string{"cancelled|"}.size()); // cancelled_at set
  auto second = store.cancel("alpha", ref);
  CAF_REQUIRE(second);
  CAF_CHECK_EQUAL(second->status, "cancelled");
  CAF_CHECK_EQUAL(row_of(ref), row); // the first cancellation time stays
  auto found = store.find("alpha", key);
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(found->status, "cancelled");
}

CAF_TEST(cancel of an unknown reference is not_found) {
  CAF_REQUIRE(migrated());
  mock_ledger_store store{conninfo()};
  CAF_CHECK_EQUAL(code(store.cancel("alpha", unique("ALPHA-NONE"))), ec::not_found);
  // Another supplier's booking is not this supplier's.
  auto ref = unique("ALPHA-X");
  CAF_REQUIRE(!store.record("alpha", unique("order"), ref, "H3", 3000, "CNY"));
  CAF_CHECK_EQUAL(code(store.cancel("beta", ref)), ec::not_found);
  CAF_CHECK_EQUAL(row_of(ref), "confirmed|");
}

CAF_TEST(bad values are refused before anything is written) {
  CAF_REQUIRE(migrated());
  mock_ledger_store store{conninfo()};
  auto key = unique("order");
  CAF_CHECK_EQUAL(code_of(store.record("alpha", key, unique("ALPHA-B"), "H", 1, "YUAN")),
                  ec::invalid_request);
  CAF_CHECK_EQUAL(code_of(store.record("alpha", key, "", "H", 1, "CNY")), ec::invalid_request);
  CAF_CHECK_EQUAL(
      code_of(store.record(std::string(33, 's'), key, unique("ALPHA-B"), "H", 1, "CNY")),
      ec::invalid_request);
  CAF_CHECK_EQUAL(rows_under("alpha", key), 0);
  // A reference is unique: a second row with it fails and changes nothing.
  auto ref = unique("ALPHA-U");
  CAF_REQUIRE(!store.record("alpha", key, ref, "H", 1, "CNY"));
  CAF_CHECK_EQUAL(code_of(store.record("alpha", key, ref, "H", 2, "CNY")), ec::storage_unavailable);
  CAF_CHECK_EQUAL(rows_under("alpha", key), 1);
  // The store keeps working after a failed statement.
  auto found = store.find("alpha", key);
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(found->net_minor, 1);
}

CAF_TEST(an unreachable database is storage_unavailable and never thrown) {
  mock_ledger_store store{"host=127.0.0.1 port=1 user=bedbank dbname=bedbank connect_timeout=2"};
  CAF_CHECK_EQUAL(code_of(store.record("alpha", "k", "ALPHA-1", "H", 1, "CNY")),
                  ec::storage_unavailable);
  CAF_CHECK_EQUAL(code(store.find("alpha", "k")), ec::storage_unavailable);
  CAF_CHECK_EQUAL(code(store.cancel("alpha", "ALPHA-1")), ec::storage_unavailable);
}

// -- the ledger actor behind a mock supplier ----------------------------------------------

CAF_TEST_FIXTURE_SCOPE(ledger_actor_tests, node_fixture)

CAF_TEST(bookings outlive the mock supplier that made them) {
  CAF_REQUIRE(migrated());
  start_ledger(conninfo());
  auto first = start_mock();
  auto key = unique("order");
  auto booked = create(first, key);
  CAF_REQUIRE(booked);
  CAF_CHECK_EQUAL(booked->status, "confirmed");
  CAF_CHECK_EQUAL(booked->net_minor, 123456);
  CAF_CHECK_EQUAL(row_of(booked->supplier_ref), "confirmed|");
  // A restarted supplier (a restarted node) still knows the booking.
  self->send_exit(first, caf::exit_reason::user_shutdown);
  auto second = start_mock();
  auto found = get(second, key);
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
  CAF_CHECK_EQUAL(found->supplier_ref, booked->supplier_ref);
  CAF_CHECK_EQUAL(found->net_minor, 123456);
  CAF_CHECK_EQUAL(found->currency, "CNY");
  auto cancelled = cancel(second, booked->supplier_ref);
  CAF_REQUIRE(cancelled);
  CAF_CHECK_EQUAL(cancelled->status, "cancelled");
  auto again = cancel(second, booked->supplier_ref);
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(again->status, "cancelled");
  CAF_CHECK_EQUAL(row_of(booked->supplier_ref).rfind("cancelled|", 0), 0u);
  CAF_CHECK_EQUAL(code(cancel(second, unique("ALPHA-NONE"))), ec::not_found);
}

CAF_TEST(the mock does not deduplicate and refused bookings leave no row) {
  CAF_REQUIRE(migrated());
  start_ledger(conninfo());
  auto m = start_mock();
  auto key = unique("order");
  auto a = create(m, key);
  auto b = create(m, key);
  CAF_REQUIRE(a);
  CAF_REQUIRE(b);
  CAF_CHECK_NOT_EQUAL(a->supplier_ref, b->supplier_ref);
  CAF_CHECK_EQUAL(rows_under("alpha", key), 2);
  auto found = get(m, key);
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(found->supplier_ref, b->supplier_ref);
  auto refused = unique("order");
  CAF_CHECK_EQUAL(code(create(m, refused, "booking_error")), ec::supplier_error);
  CAF_CHECK_EQUAL(code(create(m, refused, "sold_out")), ec::sold_out);
  CAF_CHECK_EQUAL(code(create(m, refused, "price_changed")), ec::price_changed);
  CAF_CHECK_EQUAL(rows_under("alpha", refused), 0);
}

CAF_TEST(answer_lost stores the booking while the caller times out) {
  CAF_REQUIRE(migrated());
  start_ledger(conninfo());
  auto m = start_mock();
  auto key = unique("order");
  // The lost answer comes after 4 x 200 ms; the caller gives up after 100 ms.
  auto lost = create(m, key, "answer_lost", caf::duration{100ms});
  CAF_CHECK_EQUAL(code(lost), ec::supplier_timeout);
  // The ledger handles the supplier's calls in order: the booking is there.
  auto found = get(m, key);
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
  CAF_CHECK_EQUAL(found->status, "confirmed");
  CAF_CHECK_EQUAL(rows_under("alpha", key), 1);
}

CAF_TEST(a failing ledger books nothing and says so) {
  start_ledger("host=127.0.0.1 port=1 user=bedbank dbname=bedbank connect_timeout=2");
  auto m = start_mock();
  auto failed = create(m, "order-nowhere");
  CAF_CHECK_EQUAL(code(failed), ec::supplier_error);
  CAF_CHECK_NOT_EQUAL(message(failed).find("could not store the booking"), std::string::npos);
  CAF_CHECK_EQUAL(code(get(m, "order-nowhere")), ec::supplier_error);
  CAF_CHECK_EQUAL(code(cancel(m, "ALPHA-NOWHERE")), ec::supplier_error);
}

CAF_TEST(a supplier that has seen a ledger never falls back to memory) {
  CAF_REQUIRE(migrated());
  start_ledger(conninfo());
  auto m = start_mock();
  auto key = unique("order");
  CAF_REQUIRE(create(m, key));
  env->actors->erase(directory::mock_ledger_name); // as while the supervisor restarts it
  auto failed = create(m, key);
  CAF_CHECK_EQUAL(code(failed), ec::supplier_error);
  CAF_CHECK_EQUAL(code(get(m, key)), ec::supplier_error);
  CAF_CHECK_EQUAL(rows_under("alpha", key), 1);
  start_ledger(conninfo()); // back
  auto found = get(m, key);
  CAF_REQUIRE(found);
  CAF_CHECK(found->found);
}

CAF_TEST_FIXTURE_SCOPE_END()
