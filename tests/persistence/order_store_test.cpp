// order_store_test: the orders' PostgreSQL side against the throwaway server of the services
// fixture (BEDBANK_TEST_PG). All tests share one database of their own, bedbank_order_store
// (created when missing, never dropped: ids carry a random suffix instead), so the outbox
// claims here never meet another suite's relay.
#define CAF_SUITE order_store
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "persistence/migrations.hpp"
#include "persistence/order_store.hpp"
#include "protocols/errors.hpp"

using namespace bedbank;
using namespace bedbank::persistence;

namespace {

constexpr const char* database_name = "bedbank_order_store";

// Instants with odd microseconds, to prove the round trip exact.
constexpr int64_t t_created = 1'700'000'000'000'001;
constexpr int64_t t_hold = 1'700'000'900'123'457;
constexpr int64_t t_due = 4'102'444'800'999'999; // 2100: never claimed by the claim tests
constexpr int64_t second = 1'000'000;

std::string base_conninfo() {
  const char* s = std::getenv("BEDBANK_TEST_PG");
  return s != nullptr ? s : "host=127.0.0.1 port=25432 user=bedbank dbname=bedbank";
}

/// The suite's database, created when missing and migrated (libpq: the last dbname wins).
std::string conninfo() {
  auto result = base_conninfo() + " dbname=" + database_name;
  {
    pqxx::connection conn{base_conninfo()};
    pqxx::nontransaction txn{conn};
    auto exists = txn.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", database_name);
    if (exists.empty()) {
      try {
        txn.exec("CREATE DATABASE " + txn.quote_name(database_name));
      } catch (const pqxx::sql_error&) {
        // Created concurrently by another process: fine.
      }
    }
  }
  auto migrated = migrate(result);
  if (!migrated)
    CAF_FAIL("migrate failed: " << message_of(migrated.error()));
  return result;
}

/// A fresh suffix for ids: random per process, counted within it.
std::string unique(const std::string& prefix) {
  static const std::string run = [] {
    std::random_device rd;
    std::mt19937_64 gen{rd()};
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(gen()));
    return std::string{buf, 10};
  }();
  static std::atomic<int> counter{0};
  return prefix + "-" + run + "-" + std::to_string(++counter);
}

/// A booking order of `agent` with every field set.
new_order make_order(const std::string& agent, const std::string& order_id,
                     const std::string& reference, int64_t credit) {
  new_order n;
  auto& o = n.order;
  o.order_id = order_id;
  o.agent_id = agent;
  o.client_reference = reference;
  o.status = "booking";
  o.status_reason = "";
  o.supplier = "alpha";
  o.hotel_id = "H-1001";
  o.hotel_code = "ALP-1001";
  o.room_code = "DBL";
  o.room_name = "Double — vue mer";
  o.board = "BB";
  o.check_in = 19'800;
  o.check_out = 19'803;
  o.rooms = {{2, {5, 9}}, {1, {}}};
  o.guests_json = R"([{"adults":[{"first":"Zoë","last":"Müller"}],"children":[5,9]}])";
  o.contact_json = R"({"email":"ops@example.com","phone":"+33 1 23"})";
  o.price_minor = 123'456;
  o.currency = "EUR";
  o.net_minor = 100'001;
  o.net_currency = "USD";
  o.credit_minor = credit;
  o.credit_currency = "EUR";
  o.refundable = true;
  o.policies = {{1'700'100'000'000'003, 5'000}, {1'700'200'000'000'007, 123'456}};
  o.hold_only = false;
  o.hold_expires_us = t_hold;
  o.scenario = "slow_confirm";
  o.created_us = t_created;
  o.updated_us = t_created;
  o.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  n.max_attempts = 5;
  n.outbox_due_us = t_due;
  return n;
}

bool same_json(const std::string& a, const std::string& b) {
  return nlohmann::json::parse(a) == nlohmann::json::parse(b);
}

/// Direct SQL for checking what the store wrote.
struct db {
  pqxx::connection conn;

  explicit db(const std::string& ci) : conn(ci) {}

  template <class... Ts> pqxx::result query(const std::string& sql, Ts&&... args) {
    pqxx::work txn{conn};
    auto r = txn.exec_params(sql, std::forward<Ts>(args)...);
    txn.commit();
    return r;
  }

  template <class T = int64_t, class... Ts> T scalar(const std::string& sql, Ts&&... args) {
    return query(sql, std::forward<Ts>(args)...)[0][0].template as<T>();
  }

  /// Rows of `table` that belong to `order_id`.
  int64_t rows_of(const std::string& table, const std::string& order_id) {
    return scalar("SELECT count(*) FROM " + table + " WHERE order_id = $1", order_id);
  }

  /// Rows of every table the create transaction writes.
  int64_t all_rows_of(const std::string& order_id) {
    int64_t n = 0;
    for (auto table : {"orders", "order_events", "inventory_holds", "outbox", "credit_ledger"})
      n += rows_of(table, order_id);
    return n;
  }
};

credit_state credit_of(order_store& store, const std::string& agent) {
  auto c = store.credit(agent);
  if (!c)
    CAF_FAIL("credit failed: " << message_of(c.error()));
  return *c;
}

/// A change from `o` (its version and status) to `to`.
order_change change_of(const order_record& o, std::string to, std::string event) {
  order_change c;
  c.order_id = o.order_id;
  c.version = o.version;
  c.from_status = o.status;
  c.to_status = std::move(to);
  c.event = std::move(event);
  c.at_us = o.updated_us + second;
  return c;
}

} // namespace

CAF_TEST(create writes the order and everything that commits with it) {
  auto ci = conninfo();
  order_store store{ci};
  db check{ci};
  auto agent = unique("agent");
  CAF_REQUIRE(!store.sync_agents({{agent, "Agent One", "EUR", 1'000'000}}));
  auto n = make_order(agent, unique("ord"), unique("ref"), 12'345);
  auto res = store.create(n);
  if (!res)
    CAF_FAIL("create failed: " << message_of(res.error()));
  CAF_CHECK(!res->replay);
  const auto& want = n.order;
  for (const auto& got : {res->order, *store.load(want.order_id)}) {
    CAF_CHECK_EQUAL(got.order_id, want.order_id);
    CAF_CHECK_EQUAL(got.agent_id, agent);
    CAF_CHECK_EQUAL(got.client_reference, want.client_reference);
    CAF_CHECK_EQUAL(got.status, "booking");
    CAF_CHECK_EQUAL(got.status_reason, "");
    CAF_CHECK_EQUAL(got.supplier, "alpha");
    CAF_CHECK_EQUAL(got.supplier_ref, "");
    CAF_CHECK_EQUAL(got.hotel_id, "H-1001");
    CAF_CHECK_EQUAL(got.hotel_code, "ALP-1001");
    CAF_CHECK_EQUAL(got.room_code, "DBL");
    CAF_CHECK_EQUAL(got.room_name, "Double — vue mer");
    CAF_CHECK_EQUAL(got.board, "BB");
    CAF_CHECK_EQUAL(got.check_in, 19'800);
    CAF_CHECK_EQUAL(got.check_out, 19'803);
    CAF_CHECK(got.rooms == want.rooms);
    CAF_CHECK(same_json(got.guests_json, want.guests_json));
    CAF_CHECK(same_json(got.contact_json, want.contact_json));
    CAF_CHECK_EQUAL(got.price_minor, 123'456);
    CAF_CHECK_EQUAL(got.currency, "EUR");
    CAF_CHECK_EQUAL(got.net_minor, 100'001);
    CAF_CHECK_EQUAL(got.net_currency, "USD");
    CAF_CHECK_EQUAL(got.credit_minor, 12'345);
    CAF_CHECK_EQUAL(got.credit_currency, "EUR");
    CAF_CHECK_EQUAL(got.refundable, true);
    CAF_CHECK(got.policies == want.policies);
    CAF_CHECK_EQUAL(got.hold_only, false);
    CAF_CHECK_EQUAL(got.hold_expires_us, t_hold);
    CAF_CHECK_EQUAL(got.penalty_minor, 0);
    CAF_CHECK_EQUAL(got.refund_minor, 0);
    CAF_CHECK_EQUAL(got.scenario, "slow_confirm");
    CAF_CHECK_EQUAL(got.version, 1);
    CAF_CHECK_EQUAL(got.created_us, t_created);
    CAF_CHECK_EQUAL(got.updated_us, t_created);
    CAF_CHECK_EQUAL(got.trace_id, want.trace_id);
    CAF_CHECK_EQUAL(got.trace_ids, std::vector<std::string>{want.trace_id});
    CAF_REQUIRE_EQUAL(got.history.size(), 1u);
    CAF_CHECK_EQUAL(got.history[0].from_status, "");
    CAF_CHECK_EQUAL(got.history[0].to_status, "booking");
    CAF_CHECK_EQUAL(got.history[0].event, "created");
    CAF_CHECK_EQUAL(got.history[0].at_us, t_created);
    CAF_CHECK_EQUAL(got.history[0].trace_id, want.trace_id);
  }
  // The rows themselves.
  auto order_row = check.query("SELECT check_in::text, check_out::text, rooms, policies, "
                               "jsonb_typeof(guests), jsonb_typeof(contact) FROM orders "
                               "WHERE order_id = $1",
                               want.order_id);
  CAF_REQUIRE_EQUAL(order_row.size(), 1u);
  CAF_CHECK_EQUAL(order_row[0][0].as<std::string>(), "2024-03-18");
  CAF_CHECK_EQUAL(order_row[0][1].as<std::string>(), "2024-03-21");
  CAF_CHECK(same_json(order_row[0][2].as<std::string>(),
                      R"([{"adults":2,"children_ages":[5,9]},{"adults":1,"children_ages":[]}])"));
  CAF_CHECK(same_json(order_row[0][3].as<std::string>(),
                      R"([{"from_us":1700100000000003,"penalty_minor":5000},)"
                      R"({"from_us":1700200000000007,"penalty_minor":123456}])"));
  CAF_CHECK_EQUAL(order_row[0][4].as<std::string>(), "array");
  CAF_CHECK_EQUAL(order_row[0][5].as<std::string>(), "object");
  auto ledger = check.query("SELECT agent_id, kind, amount_minor, currency, "
                            "(EXTRACT(EPOCH FROM created_at) * 1000000)::BIGINT "
                            "FROM credit_ledger WHERE order_id = $1",
                            want.order_id);
  CAF_REQUIRE_EQUAL(ledger.size(), 1u);
  CAF_CHECK_EQUAL(ledger[0][0].as<std::string>(), agent);
  CAF_CHECK_EQUAL(ledger[0][1].as<std::string>(), "reserve");
  CAF_CHECK_EQUAL(ledger[0][2].as<int64_t>(), 12'345);
  CAF_CHECK_EQUAL(ledger[0][3].as<std::string>(), "EUR");
  CAF_CHECK_EQUAL(ledger[0][4].as<int64_t>(), t_created);
  auto hold = check.query("SELECT supplier, status, "
                          "(EXTRACT(EPOCH FROM expires_at) * 1000000)::BIGINT "
                          "FROM inventory_holds WHERE order_id = $1",
                          want.order_id);
  CAF_REQUIRE_EQUAL(hold.size(), 1u);
  CAF_CHECK_EQUAL(hold[0][0].as<std::string>(), "alpha");
  CAF_CHECK_EQUAL(hold[0][1].as<std::string>(), "active");
  CAF_CHECK_EQUAL(hold[0][2].as<int64_t>(), t_hold);
  auto outbox = check.query("SELECT kind, status, attempts, max_attempts, last_error, "
                            "(EXTRACT(EPOCH FROM next_attempt_at) * 1000000)::BIGINT "
                            "FROM outbox WHERE order_id = $1",
                            want.order_id);
  CAF_REQUIRE_EQUAL(outbox.size(), 1u);
  CAF_CHECK_EQUAL(outbox[0][0].as<std::string>(), "book");
  CAF_CHECK_EQUAL(outbox[0][1].as<std::string>(), "pending");
  CAF_CHECK_EQUAL(outbox[0][2].as<int>(), 1);
  CAF_CHECK_EQUAL(outbox[0][3].as<int>(), 5);
  CAF_CHECK_EQUAL(outbox[0][4].as<std::string>(), "");
  CAF_CHECK_EQUAL(outbox[0][5].as<int64_t>(), t_due);
  CAF_CHECK_EQUAL(check.rows_of("order_events", want.order_id), 1);
  auto line = credit_of(store, agent);
  CAF_CHECK_EQUAL(line.currency, "EUR");
  CAF_CHECK_EQUAL(line.limit_minor, 1'000'000);
  CAF_CHECK_EQUAL(line.reserved_minor, 12'345);
  CAF_CHECK_EQUAL(line.captured_minor, 0);
  // The same create again is a replay and writes nothing.
  auto again = store.create(n);
  CAF_REQUIRE(again);
  CAF_CHECK(again->replay);
  CAF_CHECK_EQUAL(again->order.order_id, want.order_id);
  CAF_CHECK_EQUAL(again->order.version, 1);
  CAF_CHECK_EQUAL(check.all_rows_of(want.order_id), 5);
  CAF_CHECK_EQUAL(credit_of(store, agent).reserved_minor, 12'345);
  // A held order without credit, hold or contact: no ledger, hold or outbox rows.
  auto held = make_order(agent, unique("ord"), unique("ref"), 0);
  held.order.status = "held";
  held.order.hold_only = true;
  held.order.hold_expires_us = 0;
  held.order.contact_json.clear();
  held.order.guests_json.clear();
  held.order.trace_id.clear();
  auto h = store.create(held);
  CAF_REQUIRE(h);
  CAF_CHECK(!h->replay);
  CAF_CHECK_EQUAL(h->order.status, "held");
  CAF_CHECK_EQUAL(h->order.hold_only, true);
  CAF_CHECK_EQUAL(h->order.hold_expires_us, 0);
  CAF_CHECK_EQUAL(h->order.contact_json, "");
  CAF_CHECK(same_json(h->order.guests_json, "[]"));
  CAF_CHECK(h->order.trace_ids.empty());
  CAF_CHECK_EQUAL(check.rows_of("orders", held.order.order_id), 1);
  CAF_CHECK_EQUAL(check.rows_of("order_events", held.order.order_id), 1);
  CAF_CHECK_EQUAL(check.rows_of("inventory_holds", held.order.order_id), 0);
  CAF_CHECK_EQUAL(check.rows_of("outbox", held.order.order_id), 0);
  CAF_CHECK_EQUAL(check.rows_of("credit_ledger", held.order.order_id), 0);
  CAF_CHECK_EQUAL(check.scalar<bool>("SELECT contact IS NULL FROM orders WHERE order_id = $1",
                                     held.order.order_id),
                  true);
  CAF_CHECK_EQUAL(credit_of(store, agent).reserved_minor, 12'345);
  // Unknown ids and lines; bad JSON is refused before anything is written.
  auto missing = store.load(unique("nope"));
  CAF_REQUIRE(!missing);
  CAF_CHECK_EQUAL(code_of(missing.error()), ec::not_found);
  auto no_line = store.credit(unique("nobody"));
  CAF_REQUIRE(!no_line);
  CAF_CHECK_EQUAL(code_of(no_line.error()), ec::not_found);
  auto bad = make_order(agent, unique("ord"), unique("ref"), 0);
  bad.order.guests_json = "not json [";
  auto refused = store.create(bad);
  CAF_REQUIRE(!refused);
  CAF_CHECK_EQUAL(code_of(refused.error()), ec::invalid_request);
  CAF_CHECK_EQUAL(check.all_rows_of(bad.order.order_id), 0);
}

CAF_TEST(sync_agents updates limits and keeps the sums) {
  auto ci = conninfo();
  order_store store{ci};
  auto agent = unique("agent");
  CAF_REQUIRE(!store.sync_agents({{agent, "Before", "EUR", 5'000}}));
  CAF_REQUIRE(store.create(make_order(agent, unique("ord"), unique("ref"), 1'000)));
  CAF_REQUIRE(!store.sync_agents({{agent, "After", "EUR", 9'000}}));
  auto line = credit_of(store, agent);
  CAF_CHECK_EQUAL(line.limit_minor, 9'000);
  CAF_CHECK_EQUAL(line.reserved_minor, 1'000);
  db check{ci};
  CAF_CHECK_EQUAL(check.scalar<std::string>("SELECT name FROM agents WHERE agent_id = $1", agent),
                  "After");
  auto invalid = store.sync_agents({{agent, "Bad", "EURO", 1}});
  CAF_CHECK_EQUAL(code_of(invalid), ec::invalid_request);
  CAF_CHECK_EQUAL(credit_of(store, agent).limit_minor, 9'000);
}

CAF_TEST(a create that fails writes nothing) {
  auto ci = conninfo();
  order_store store{ci};
  db check{ci};
  auto agent = unique("agent");
  CAF_REQUIRE(!store.sync_agents({{agent, "Small", "EUR", 1'000}}));
  auto first = make_order(agent, unique("ord"), unique("ref"), 600);
  CAF_REQUIRE(store.create(first));
  // The reservation does not fit: nothing of the order anywhere.
  auto second = make_order(agent, unique("ord"), unique("ref"), 500);
  auto refused = store.create(second);
  CAF_REQUIRE(!refused);
  CAF_CHECK_EQUAL(code_of(refused.error()), ec::insufficient_credit);
  CAF_MESSAGE("refusal: " << message_of(refused.error()));
  CAF_CHECK(message_of(refused.error()).find("400") != std::string::npos);
  CAF_CHECK_EQUAL(check.all_rows_of(second.order.order_id), 0);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM orders WHERE agent_id = $1 "
                               "AND client_reference = $2",
                               agent, second.order.client_reference),
                  0);
  auto line = credit_of(store, agent);
  CAF_CHECK_EQUAL(line.reserved_minor, 600);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM credit_ledger WHERE agent_id = $1", agent), 1);
  // Exactly the rest fits.
  auto rest = make_order(agent, unique("ord"), unique("ref"), 400);
  CAF_REQUIRE(store.create(rest));
  CAF_CHECK_EQUAL(credit_of(store, agent).reserved_minor, 1'000);
  // No credit line at all.
  auto stranger = unique("agent");
  auto lineless = make_order(stranger, unique("ord"), unique("ref"), 1);
  auto no_line = store.create(lineless);
  CAF_REQUIRE(!no_line);
  CAF_CHECK_EQUAL(code_of(no_line.error()), ec::insufficient_credit);
  CAF_CHECK(message_of(no_line.error()).find("no credit line") != std::string::npos);
  CAF_CHECK_EQUAL(check.all_rows_of(lineless.order.order_id), 0);
  // Credit checks off (credit 0): no line needed.
  CAF_CHECK(store.create(make_order(stranger, unique("ord"), unique("ref"), 0)));
  // The order id already taken by another client reference.
  auto reused = make_order(agent, first.order.order_id, unique("ref"), 0);
  auto taken = store.create(reused);
  CAF_REQUIRE(!taken);
  CAF_CHECK_EQUAL(code_of(taken.error()), ec::conflict);
  CAF_MESSAGE("conflict: " << message_of(taken.error()));
  CAF_CHECK_EQUAL(
      check.scalar<std::string>("SELECT client_reference FROM orders WHERE order_id = $1",
                                first.order.order_id),
      first.order.client_reference);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM orders WHERE agent_id = $1 "
                               "AND client_reference = $2",
                               agent, reused.order.client_reference),
                  0);
  CAF_CHECK_EQUAL(check.all_rows_of(first.order.order_id), 5);
  // Even when the reservation would not fit, the conflict wins and nothing moves.
  auto reused_big = make_order(agent, first.order.order_id, unique("ref"), 999'999);
  auto taken_big = store.create(reused_big);
  CAF_REQUIRE(!taken_big);
  CAF_CHECK_EQUAL(code_of(taken_big.error()), ec::conflict);
  CAF_CHECK_EQUAL(credit_of(store, agent).reserved_minor, 1'000);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM credit_ledger WHERE agent_id = $1", agent), 2);
}

CAF_TEST(twenty concurrent creates of one client reference make one order) {
  constexpr int n = 20;
  auto ci = conninfo();
  auto agent = unique("agent");
  auto reference = unique("ref");
  {
    order_store setup{ci};
    CAF_REQUIRE(!setup.sync_agents({{agent, "Racer", "EUR", 1'000'000}}));
  }
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i)
    ids.push_back(unique("race"));
  std::vector<caf::expected<create_outcome>> results(n, make_error(ec::internal, "not run"));
  std::latch ready{n};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      order_store store{ci};
      auto health = store.ping(); // connect before the start line
      ready.arrive_and_wait();
      if (!health.ok)
        results[i] = make_error(ec::storage_unavailable, health.message);
      else
        results[i] = store.create(make_order(agent, ids[i], reference, 7'000));
    });
  }
  for (auto& t : threads)
    t.join();
  std::string winner;
  int fresh = 0;
  for (int i = 0; i < n; ++i) {
    if (!results[i])
      CAF_FAIL("create " << i << " failed: " << message_of(results[i].error()));
    if (!results[i]->replay) {
      ++fresh;
      winner = results[i]->order.order_id;
      CAF_CHECK_EQUAL(winner, ids[i]);
    }
  }
  CAF_REQUIRE_EQUAL(fresh, 1);
  int replays = 0;
  for (int i = 0; i < n; ++i) {
    if (results[i]->replay) {
      ++replays;
      CAF_CHECK_EQUAL(results[i]->order.order_id, winner);
      CAF_CHECK_EQUAL(results[i]->order.version, 1);
      CAF_CHECK_EQUAL(results[i]->order.history.size(), 1u);
    }
  }
  CAF_CHECK_EQUAL(replays, n - 1);
  db check{ci};
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM orders WHERE agent_id = $1 "
                               "AND client_reference = $2",
                               agent, reference),
                  1);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM orders WHERE agent_id = $1", agent), 1);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM credit_ledger WHERE agent_id = $1 "
                               "AND kind = 'reserve'",
                               agent),
                  1);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM outbox WHERE order_id = $1", winner), 1);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM order_events WHERE order_id = $1", winner), 1);
  order_store store{ci};
  CAF_CHECK_EQUAL(credit_of(store, agent).reserved_minor, 7'000);
}

CAF_TEST(a duplicate create waits for the first one and replays it) {
  auto ci = conninfo();
  auto agent = unique("agent");
  auto reference = unique("ref");
  {
    order_store setup{ci};
    CAF_REQUIRE(!setup.sync_agents({{agent, "Waiter", "EUR", 10'000}}));
  }
  // Holding the agent's row stops the first create after its INSERT, at the reservation.
  pqxx::connection blocker_conn{ci};
  pqxx::work blocker{blocker_conn};
  blocker.exec_params("SELECT 1 FROM agents WHERE agent_id = $1 FOR UPDATE", agent);
  db check{ci};
  auto waiting = [&] {
    return check.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                        "AND wait_event_type = 'Lock'",
                        std::string{database_name});
  };
  auto wait_for = [&](int64_t n) {
    for (int i = 0; i < 500 && waiting() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return waiting() >= n;
  };
  auto first_id = unique("wait");
  auto second_id = unique("wait");
  std::atomic<bool> second_done{false};
  caf::expected<create_outcome> first = make_error(ec::internal, "not run");
  caf::expected<create_outcome> second = make_error(ec::internal, "not run");
  std::thread a{[&] {
    order_store s{ci};
    first = s.create(make_order(agent, first_id, reference, 3'000));
  }};
  bool first_blocked = wait_for(1);
  std::thread b{[&] {
    order_store s{ci};
    second = s.create(make_order(agent, second_id, reference, 3'000));
    second_done = true;
  }};
  // The second create waits on the unique index for the first one's transaction.
  bool second_blocked = wait_for(2);
  bool second_still_running = !second_done;
  blocker.commit();
  a.join();
  b.join();
  CAF_CHECK(first_blocked);
  CAF_CHECK(second_blocked);
  CAF_CHECK(second_still_running);
  CAF_REQUIRE(first);
  CAF_REQUIRE(second);
  CAF_CHECK(!first->replay);
  CAF_CHECK_EQUAL(first->order.order_id, first_id);
  CAF_CHECK(second->replay);
  CAF_CHECK_EQUAL(second->order.order_id, first_id);
  CAF_CHECK_EQUAL(check.all_rows_of(second_id), 0);
  order_store store{ci};
  CAF_CHECK_EQUAL(credit_of(store, agent).reserved_minor, 3'000);
}

CAF_TEST(apply moves credit holds and the outbox with the status) {
  auto ci = conninfo();
  order_store store{ci};
  db check{ci};
  auto agent = unique("agent");
  CAF_REQUIRE(!store.sync_agents({{agent, "Applier", "EUR", 10'000}}));
  auto n = make_order(agent, unique("ord"), unique("ref"), 1'000);
  auto created = store.create(n);
  CAF_REQUIRE(created);
  auto o = created->order;
  auto id = o.order_id;
  // booking -> confirmed: capture, hold converted, book done, a new trace.
  auto confirm = change_of(o, "confirmed", "supplier_confirmed");
  confirm.supplier_ref = "ALP-REF-1";
  confirm.credit_capture = 1'000;
  confirm.hold_status = "converted";
  confirm.outbox_done_kind = "book";
  confirm.trace_id = "trace-2";
  auto confirmed = store.apply(confirm);
  if (!confirmed)
    CAF_FAIL("confirm failed: " << message_of(confirmed.error()));
  CAF_CHECK_EQUAL(confirmed->status, "confirmed");
  CAF_CHECK_EQUAL(confirmed->version, 2);
  CAF_CHECK_EQUAL(confirmed->supplier_ref, "ALP-REF-1");
  CAF_CHECK_EQUAL(confirmed->updated_us, confirm.at_us);
  CAF_CHECK_EQUAL(confirmed->created_us, t_created);
  CAF_CHECK_EQUAL(confirmed->trace_ids, (std::vector<std::string>{n.order.trace_id, "trace-2"}));
  CAF_REQUIRE_EQUAL(confirmed->history.size(), 2u);
  CAF_CHECK_EQUAL(confirmed->history[1].from_status, "booking");
  CAF_CHECK_EQUAL(confirmed->history[1].to_status, "confirmed");
  CAF_CHECK_EQUAL(confirmed->history[1].event, "supplier_confirmed");
  CAF_CHECK_EQUAL(confirmed->history[1].at_us, confirm.at_us);
  CAF_CHECK_EQUAL(confirmed->history[1].trace_id, "trace-2");
  auto line = credit_of(store, agent);
  CAF_CHECK_EQUAL(line.reserved_minor, 0);
  CAF_CHECK_EQUAL(line.captured_minor, 1'000);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM credit_ledger WHERE order_id = $1 "
                               "AND kind = 'capture' AND amount_minor = 1000 AND currency = 'EUR'",
                               id),
                  1);
  CAF_CHECK_EQUAL(
      check.scalar<std::string>("SELECT status FROM inventory_holds WHERE order_id = $1", id),
      "converted");
  CAF_CHECK_EQUAL(check.scalar<std::string>("SELECT status FROM outbox WHERE order_id = $1 "
                                            "AND kind = 'book'",
                                            id),
                  "done");
  // A stale version or a wrong from status: conflict, nothing written.
  auto before_events = check.rows_of("order_events", id);
  auto before_ledger = check.rows_of("credit_ledger", id);
  auto stale = confirm; // still version 1
  stale.from_status = "confirmed";
  stale.to_status = "cancelling";
  auto stale_res = store.apply(stale);
  CAF_REQUIRE(!stale_res);
  CAF_CHECK_EQUAL(code_of(stale_res.error()), ec::conflict);
  CAF_MESSAGE("stale: " << message_of(stale_res.error()));
  auto wrong = change_of(*confirmed, "cancelling", "cancel_requested");
  wrong.from_status = "booking";
  wrong.credit_release = 1;
  wrong.hold_status = "released";
  wrong.outbox_add_kind = "cancel";
  auto wrong_res = store.apply(wrong);
  CAF_REQUIRE(!wrong_res);
  CAF_CHECK_EQUAL(code_of(wrong_res.error()), ec::conflict);
  auto unknown = change_of(*confirmed, "cancelling", "cancel_requested");
  unknown.order_id = unique("nope");
  auto unknown_res = store.apply(unknown);
  CAF_REQUIRE(!unknown_res);
  CAF_CHECK_EQUAL(code_of(unknown_res.error()), ec::not_found);
  auto unchanged = store.load(id);
  CAF_REQUIRE(unchanged);
  CAF_CHECK_EQUAL(unchanged->version, 2);
  CAF_CHECK_EQUAL(unchanged->status, "confirmed");
  CAF_CHECK_EQUAL(check.rows_of("order_events", id), before_events);
  CAF_CHECK_EQUAL(check.rows_of("credit_ledger", id), before_ledger);
  CAF_CHECK_EQUAL(check.rows_of("outbox", id), 1);
  CAF_CHECK_EQUAL(
      check.scalar<std::string>("SELECT status FROM inventory_holds WHERE order_id = $1", id),
      "converted");
  // A change the credit line cannot take (capture more than reserved) writes nothing either.
  auto overdraw = change_of(*unchanged, "confirmed", "");
  overdraw.credit_capture = 1;
  auto overdraw_res = store.apply(overdraw);
  CAF_REQUIRE(!overdraw_res);
  CAF_CHECK_EQUAL(code_of(overdraw_res.error()), ec::internal);
  auto after_overdraw = store.load(id);
  CAF_REQUIRE(after_overdraw);
  CAF_CHECK_EQUAL(after_overdraw->version, 2);
  CAF_CHECK_EQUAL(credit_of(store, agent).captured_minor, 1'000);
  // The same trace again is not appended twice; an empty supplier_ref keeps the old one;
  // cancel added to the outbox.
  auto cancel = change_of(*unchanged, "cancelling", "cancel_requested");
  cancel.trace_id = "trace-2";
  cancel.outbox_add_kind = "cancel";
  cancel.outbox_add_attempts = 0;
  cancel.outbox_add_max_attempts = 3;
  cancel.outbox_add_due_us = t_due + 17;
  auto cancelling = store.apply(cancel);
  CAF_REQUIRE(cancelling);
  CAF_CHECK_EQUAL(cancelling->version, 3);
  CAF_CHECK_EQUAL(cancelling->supplier_ref, "ALP-REF-1");
  CAF_CHECK_EQUAL(cancelling->trace_ids, (std::vector<std::string>{n.order.trace_id, "trace-2"}));
  auto added = check.query("SELECT status, attempts, max_attempts, "
                           "(EXTRACT(EPOCH FROM next_attempt_at) * 1000000)::BIGINT "
                           "FROM outbox WHERE order_id = $1 AND kind = 'cancel'",
                           id);
  CAF_REQUIRE_EQUAL(added.size(), 1u);
  CAF_CHECK_EQUAL(added[0][0].as<std::string>(), "pending");
  CAF_CHECK_EQUAL(added[0][1].as<int>(), 0);
  CAF_CHECK_EQUAL(added[0][2].as<int>(), 3);
  CAF_CHECK_EQUAL(added[0][3].as<int64_t>(), t_due + 17);
  // cancelling -> cancelled with a penalty: refund what is not kept.
  auto done = change_of(*cancelling, "cancelled", "supplier_cancelled");
  done.penalty_minor = 300;
  done.refund_minor = 700;
  done.credit_refund = 700;
  done.outbox_done_kind = "cancel";
  done.reason = "agent_cancelled";
  done.trace_id = "trace-3";
  auto cancelled = store.apply(done);
  CAF_REQUIRE(cancelled);
  CAF_CHECK_EQUAL(cancelled->status, "cancelled");
  CAF_CHECK_EQUAL(cancelled->status_reason, "agent_cancelled");
  CAF_CHECK_EQUAL(cancelled->penalty_minor, 300);
  CAF_CHECK_EQUAL(cancelled->refund_minor, 700);
  CAF_CHECK_EQUAL(cancelled->version, 4);
  CAF_CHECK_EQUAL(cancelled->trace_ids.size(), 3u);
  CAF_CHECK_EQUAL(cancelled->history.size(), 4u);
  CAF_CHECK_EQUAL(cancelled->history.back().reason, "agent_cancelled");
  line = credit_of(store, agent);
  CAF_CHECK_EQUAL(line.reserved_minor, 0);
  CAF_CHECK_EQUAL(line.captured_minor, 300);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM credit_ledger WHERE order_id = $1 "
                               "AND kind = 'refund' AND amount_minor = 700",
                               id),
                  1);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM outbox WHERE order_id = $1 "
                               "AND status = 'pending'",
                               id),
                  0);
  // penalty/refund of -1 keep the values; a change without a transition but with an event
  // is recorded, one without an event is not.
  auto note = change_of(*cancelled, "cancelled", "cancel_refused");
  auto noted = store.apply(note);
  CAF_REQUIRE(noted);
  CAF_CHECK_EQUAL(noted->version, 5);
  CAF_CHECK_EQUAL(noted->penalty_minor, 300);
  CAF_CHECK_EQUAL(noted->refund_minor, 700);
  CAF_CHECK_EQUAL(noted->history.size(), 5u);
  CAF_CHECK_EQUAL(noted->history.back().from_status, "cancelled");
  CAF_CHECK_EQUAL(noted->history.back().to_status, "cancelled");
  auto silent = store.apply(change_of(*noted, "cancelled", ""));
  CAF_REQUIRE(silent);
  CAF_CHECK_EQUAL(silent->version, 6);
  CAF_CHECK_EQUAL(silent->history.size(), 5u);
  // A failed booking releases its reservation and its hold.
  auto other = store.create(make_order(agent, unique("ord"), unique("ref"), 400));
  CAF_REQUIRE(other);
  CAF_CHECK_EQUAL(credit_of(store, agent).reserved_minor, 400);
  auto fail = change_of(other->order, "failed", "supplier_failed");
  fail.reason = "sold_out";
  fail.credit_release = 400;
  fail.hold_status = "released";
  fail.outbox_done_kind = "book";
  auto failed = store.apply(fail);
  CAF_REQUIRE(failed);
  CAF_CHECK_EQUAL(failed->status, "failed");
  line = credit_of(store, agent);
  CAF_CHECK_EQUAL(line.reserved_minor, 0);
  CAF_CHECK_EQUAL(line.captured_minor, 300);
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM credit_ledger WHERE order_id = $1 "
                               "AND kind = 'release' AND amount_minor = 400",
                               other->order.order_id),
                  1);
  CAF_CHECK_EQUAL(
      check.scalar<std::string>("SELECT status FROM inventory_holds WHERE order_id = $1",
                                other->order.order_id),
      "released");
  CAF_CHECK_EQUAL(check.scalar("SELECT count(*) FROM credit_ledger WHERE agent_id = $1", agent), 5);
}

CAF_TEST(concurrent relays claim disjoint outbox rows until the lease passes) {
  constexpr int rows = 50;
  constexpr int64_t lease = 60 * second;
  auto ci = conninfo();
  order_store store{ci};
  db check{ci};
  auto agent = unique("agent");
  // A window in 2000 of this run's own: nothing else in the suite is due that early.
  std::random_device rd;
  const int64_t t0 = 946'684'800 * second + static_cast<int64_t>(rd() % 1'000'000) * second;
  const int64_t now = t0 + second;
  std::vector<std::string> order_ids;
  for (int i = 0; i < rows; ++i) {
    auto n = make_order(agent, unique("claim"), unique("ref"), 0);
    n.outbox_due_us = t0 + i;
    CAF_REQUIRE(store.create(n));
    order_ids.push_back(n.order.order_id);
  }
  std::set<std::string> mine(order_ids.begin(), order_ids.end());
  std::set<int64_t> my_rows;
  for (const auto& row : check.query("SELECT id FROM outbox WHERE order_id IN "
                                     "(SELECT order_id FROM orders WHERE agent_id = $1)",
                                     agent))
    my_rows.insert(row[0].as<int64_t>());
  CAF_REQUIRE_EQUAL(my_rows.size(), static_cast<size_t>(rows));
  // Two relays race, small batches, until nothing is due.
  std::vector<std::vector<outbox_item>> claimed(2);
  std::vector<std::string> errors(2);
  std::latch ready{2};
  std::vector<std::thread> relays;
  for (int r = 0; r < 2; ++r) {
    relays.emplace_back([&, r] {
      order_store relay{ci};
      relay.ping();
      ready.arrive_and_wait();
      for (;;) {
        auto batch = relay.claim_due(now, 7, lease);
        if (!batch) {
          errors[r] = message_of(batch.error());
          return;
        }
        if (batch->empty())
          return;
        if (batch->size() > 7u)
          errors[r] = "batch over the limit";
        claimed[r].insert(claimed[r].end(), batch->begin(), batch->end());
      }
    });
  }
  for (auto& t : relays)
    t.join();
  CAF_CHECK_EQUAL(errors[0], "");
  CAF_CHECK_EQUAL(errors[1], "");
  std::set<int64_t> seen;
  size_t duplicates = 0;
  for (const auto& batch : claimed) {
    for (const auto& item : batch) {
      if (!mine.count(item.order_id))
        continue; // left over by an interrupted earlier run
      if (!seen.insert(item.id).second)
        ++duplicates;
      CAF_CHECK_EQUAL(item.kind, "book");
      CAF_CHECK_EQUAL(item.attempts, 1);
      CAF_CHECK_EQUAL(item.max_attempts, 5);
      CAF_CHECK_EQUAL(item.last_error, "");
    }
  }
  CAF_CHECK_EQUAL(duplicates, 0u);
  CAF_CHECK(seen == my_rows);
  CAF_MESSAGE("relay 0 claimed " << claimed[0].size() << ", relay 1 " << claimed[1].size());
  auto mine_in = [&](const caf::expected<std::vector<outbox_item>>& batch) {
    std::vector<outbox_item> result;
    if (!batch)
      CAF_FAIL("claim failed: " << message_of(batch.error()));
    for (const auto& item : *batch)
      if (mine.count(item.order_id))
        result.push_back(item);
    return result;
  };
  // Claimed rows are not due again before the lease ends...
  CAF_CHECK(mine_in(store.claim_due(now, 500, lease)).empty());
  CAF_CHECK(mine_in(store.claim_due(now + lease - 1, 500, lease)).empty());
  auto due_time = check.query("SELECT DISTINCT (EXTRACT(EPOCH FROM next_attempt_at) * "
                              "1000000)::BIGINT FROM outbox WHERE order_id IN "
                              "(SELECT order_id FROM orders WHERE agent_id = $1)",
                              agent);
  CAF_REQUIRE_EQUAL(due_time.size(), 1u);
  CAF_CHECK_EQUAL(due_time[0][0].as<int64_t>(), now + lease);
  // ...and are again once it has.
  auto again = mine_in(store.claim_due(now + lease, 500, lease));
  CAF_CHECK_EQUAL(again.size(), static_cast<size_t>(rows));
  CAF_CHECK(std::is_sorted(again.begin(), again.end(),
                           [](const auto& a, const auto& b) { return a.id < b.id; }));
  // reschedule re-arms single rows; claims answer them oldest due first.
  for (int k = 0; k < 3; ++k) {
    auto err =
        store.reschedule({order_ids[k], "book", 2 + k, t0 + 500 - k, "boom " + std::to_string(k)});
    CAF_CHECK(!err);
  }
  auto re = mine_in(store.claim_due(now, 500, lease));
  CAF_REQUIRE_EQUAL(re.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const auto& item = re[static_cast<size_t>(2 - k)];
    CAF_CHECK_EQUAL(item.order_id, order_ids[k]);
    CAF_CHECK_EQUAL(item.attempts, 2 + k);
    CAF_CHECK_EQUAL(item.last_error, "boom " + std::to_string(k));
  }
  auto wrong_kind = store.reschedule({order_ids[0], "cancel", 1, t0, ""});
  CAF_CHECK_EQUAL(code_of(wrong_kind), ec::not_found);
  auto no_order = store.reschedule({unique("nope"), "book", 1, t0, ""});
  CAF_CHECK_EQUAL(code_of(no_order), ec::not_found);
  // A finished row is no longer pending: not claimed, not rescheduled.
  auto first = store.load(order_ids[0]);
  CAF_REQUIRE(first);
  auto finish = change_of(*first, "failed", "supplier_failed");
  finish.outbox_done_kind = "book";
  CAF_REQUIRE(store.apply(finish));
  CAF_CHECK_EQUAL(code_of(store.reschedule({order_ids[0], "book", 3, t0, ""})), ec::not_found);
  CAF_CHECK(store.claim_due(now, 0, lease)->empty());
  // Leave nothing due in the past for the next run.
  check.query("UPDATE outbox SET status = 'done' WHERE order_id IN "
              "(SELECT order_id FROM orders WHERE agent_id = $1)",
              agent);
}

CAF_TEST(active holds and list filters) {
  auto ci = conninfo();
  order_store store{ci};
  db check{ci};
  auto agent = unique("agent");
  auto other_agent = unique("agent");
  // Holds: two held orders, one held order whose hold was released, one booking order.
  std::random_device rd;
  const int64_t early = 631'152'000 * second + static_cast<int64_t>(rd() % 1'000'000) * second;
  auto held = [&](int64_t expires) {
    auto n = make_order(agent, unique("hold"), unique("ref"), 0);
    n.order.status = "held";
    n.order.hold_only = true;
    n.order.hold_expires_us = expires;
    auto res = store.create(n);
    if (!res)
      CAF_FAIL("create failed: " << message_of(res.error()));
    return res->order;
  };
  auto late = held(early + 20);
  auto soon = held(early + 10);
  auto released = held(early + 5);
  auto booking = make_order(agent, unique("hold"), unique("ref"), 0);
  booking.order.hold_expires_us = early + 1;
  CAF_REQUIRE(store.create(booking));
  auto release = change_of(released, "closed", "hold_expired");
  release.hold_status = "expired";
  CAF_REQUIRE(store.apply(release));
  auto holds = store.active_holds(100'000);
  CAF_REQUIRE(holds);
  CAF_CHECK(std::is_sorted(holds->begin(), holds->end(), [](const auto& a, const auto& b) {
    return a.expires_us < b.expires_us;
  }));
  std::set<std::string> mine{late.order_id, soon.order_id, released.order_id,
                             booking.order.order_id};
  std::vector<hold_info> my_holds;
  for (const auto& h : *holds)
    if (mine.count(h.order_id))
      my_holds.push_back(h);
  CAF_REQUIRE_EQUAL(my_holds.size(), 2u);
  CAF_CHECK_EQUAL(my_holds[0].order_id, soon.order_id);
  CAF_CHECK_EQUAL(my_holds[0].supplier, "alpha");
  CAF_CHECK_EQUAL(my_holds[0].expires_us, early + 10);
  CAF_CHECK_EQUAL(my_holds[1].order_id, late.order_id);
  CAF_CHECK_EQUAL(my_holds[1].expires_us, early + 20);
  auto one = store.active_holds(1);
  CAF_REQUIRE(one);
  CAF_CHECK_EQUAL(one->size(), 1u);
  // Leave no held order behind for the next run.
  check.query("UPDATE inventory_holds SET status = 'expired' WHERE order_id IN "
              "(SELECT order_id FROM orders WHERE agent_id = $1)",
              agent);

  // List: five orders of one agent a second apart, one of another agent.
  const int64_t t = 1'600'000'000 * second;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto n = make_order(other_agent, unique("list"), unique("ref"), 0);
    n.order.created_us = t + i * second;
    n.order.updated_us = n.order.created_us;
    if (i % 2 == 1) {
      n.order.status = "held";
      n.order.hold_expires_us = 0;
    }
    CAF_REQUIRE(store.create(n));
    ids.push_back(n.order.order_id);
  }
  auto foreign = make_order(unique("agent"), unique("list"), unique("ref"), 0);
  foreign.order.created_us = t + 2 * second;
  CAF_REQUIRE(store.create(foreign));
  // One of them has moved on: its history has two entries.
  auto moved = store.load(ids[2]);
  CAF_REQUIRE(moved);
  CAF_REQUIRE(store.apply(change_of(*moved, "confirmed", "supplier_confirmed")));
  auto listed = [&](order_filter f) {
    auto res = store.list(f);
    if (!res)
      CAF_FAIL("list failed: " << message_of(res.error()));
    std::vector<std::string> result;
    for (const auto& o : *res)
      result.push_back(o.order_id);
    return result;
  };
  order_filter f;
  f.agent_id = other_agent;
  CAF_CHECK_EQUAL(listed(f), (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));
  auto all = store.list(f);
  CAF_REQUIRE(all);
  for (const auto& o : *all) {
    CAF_CHECK_EQUAL(o.agent_id, other_agent);
    CAF_CHECK_EQUAL(o.history.size(), o.order_id == ids[2] ? 2u : 1u);
    CAF_CHECK_EQUAL(o.history.front().event, "created");
  }
  CAF_CHECK_EQUAL((*all)[2].history.back().to_status, "confirmed");
  auto by_ref = f;
  by_ref.client_reference = foreign.order.client_reference;
  CAF_CHECK(listed(by_ref).empty()); // another agent's reference
  order_filter admin;
  admin.client_reference = foreign.order.client_reference;
  CAF_CHECK_EQUAL(listed(admin), std::vector<std::string>{foreign.order.order_id});
  auto by_status = f;
  by_status.status = "held";
  CAF_CHECK_EQUAL(listed(by_status), (std::vector<std::string>{ids[3], ids[1]}));
  by_status.status = "confirmed";
  CAF_CHECK_EQUAL(listed(by_status), std::vector<std::string>{ids[2]});
  auto window = f;
  window.from_us = t + second;   // inclusive
  window.to_us = t + 3 * second; // exclusive
  CAF_CHECK_EQUAL(listed(window), (std::vector<std::string>{ids[2], ids[1]}));
  auto since = f;
  since.from_us = t + 3 * second;
  CAF_CHECK_EQUAL(listed(since), (std::vector<std::string>{ids[4], ids[3]}));
  auto until = f;
  until.to_us = t + 1;
  CAF_CHECK_EQUAL(listed(until), std::vector<std::string>{ids[0]});
  auto limited = f;
  limited.limit = 2;
  CAF_CHECK_EQUAL(listed(limited), (std::vector<std::string>{ids[4], ids[3]}));
  limited.limit = 0; // clamped to 1
  CAF_CHECK_EQUAL(listed(limited), std::vector<std::string>{ids[4]});
  auto nobody = f;
  nobody.agent_id = unique("agent");
  CAF_CHECK(listed(nobody).empty());
}

CAF_TEST(ping and a broken database give answers not exceptions) {
  order_store store{conninfo()};
  auto health = store.ping();
  CAF_CHECK(health.ok);
  CAF_CHECK_EQUAL(health.name, "postgresql");
  order_store bad{"host=127.0.0.1 port=1 user=nobody dbname=nothing connect_timeout=2"};
  CAF_CHECK(!bad.ping().ok);
  auto created = bad.create(make_order("a", "o", "r", 1));
  CAF_REQUIRE(!created);
  CAF_CHECK_EQUAL(code_of(created.error()), ec::storage_unavailable);
  auto loaded = bad.load("o");
  CAF_REQUIRE(!loaded);
  CAF_CHECK_EQUAL(code_of(loaded.error()), ec::storage_unavailable);
  auto claimed = bad.claim_due(1, 10, 1);
  CAF_REQUIRE(!claimed);
  CAF_CHECK_EQUAL(code_of(claimed.error()), ec::storage_unavailable);
  CAF_CHECK_EQUAL(code_of(bad.sync_agents({{"a", "A", "EUR", 1}})), ec::storage_unavailable);
}
