// pg_test: migrations and the span journal against the throwaway PostgreSQL of the services
// fixture (BEDBANK_TEST_PG). Each test works in a database of its own, dropped first.
#define CAF_SUITE pg
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <future>
#include <set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "persistence/migrations.hpp"
#include "persistence/span_store.hpp"
#include "protocols/errors.hpp"

using namespace bedbank;
using namespace bedbank::persistence;

namespace {

std::string base_conninfo() {
  const char* s = std::getenv("BEDBANK_TEST_PG");
  return s != nullptr ? s : "host=127.0.0.1 port=25432 user=bedbank dbname=bedbank";
}

/// A fresh, empty database named `name`; returns its conninfo (libpq: the last dbname wins).
std::string fresh_database(const std::string& name) {
  pqxx::connection conn{base_conninfo()};
  pqxx::nontransaction txn{conn};
  txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name) + " WITH (FORCE)");
  txn.exec("CREATE DATABASE " + txn.quote_name(name));
  return base_conninfo() + " dbname=" + name;
}

std::vector<std::string> all_names() {
  std::vector<std::string> result;
  for (const auto& m : embedded_migrations())
    result.emplace_back(m.name);
  return result;
}

bool same_json(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty())
    return a == b;
  return nlohmann::json::parse(a) == nlohmann::json::parse(b);
}

span_record make_span(std::string span_id, std::string parent, int64_t started_us,
                      std::string agent) {
  span_record x;
  x.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  x.span_id = std::move(span_id);
  x.parent_span_id = std::move(parent);
  x.event_type = "search";
  x.service = "api_gateway";
  x.started_us = started_us;
  x.duration_us = 1499;
  x.status = "success";
  x.agent_id = std::move(agent);
  x.node = "node-1";
  return x;
}

} // namespace

CAF_TEST(embedded migrations are sorted and include the journal) {
  auto& list = embedded_migrations();
  CAF_REQUIRE(!list.empty());
  CAF_CHECK_EQUAL(std::string{list.front().name}, "001_trace_events");
  CAF_CHECK_EQUAL(list.front().version, 1);
  for (size_t i = 1; i < list.size(); ++i)
    CAF_CHECK(list[i - 1].version < list[i].version);
}

CAF_TEST(migrating twice applies nothing the second time) {
  auto conninfo = fresh_database("bedbank_pers_migrate");
  auto first = migrate(conninfo);
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(*first, all_names());
  auto second = migrate(conninfo);
  CAF_REQUIRE(second);
  CAF_CHECK(second->empty());
  pqxx::connection conn{conninfo};
  pqxx::work txn{conn};
  std::set<std::string> indexes;
  for (const auto& row :
       txn.exec("SELECT indexname FROM pg_indexes WHERE tablename = 'trace_events'"))
    indexes.insert(row[0].as<std::string>());
  CAF_CHECK_EQUAL(indexes.count("idx_trace_trace_id"), 1u);
  CAF_CHECK_EQUAL(indexes.count("idx_trace_related"), 1u);
  CAF_CHECK_EQUAL(indexes.count("idx_trace_created"), 1u);
  std::set<std::string> columns;
  for (const auto& row : txn.exec("SELECT column_name FROM information_schema.columns "
                                  "WHERE table_name = 'trace_events'"))
    columns.insert(row[0].as<std::string>());
  for (auto name :
       {"id", "trace_id", "span_id", "parent_span_id", "event_type", "service", "related_type",
        "related_id", "request_data", "response_data", "duration_ms", "status", "error_detail",
        "created_at", "started_at", "duration_us", "agent_id", "node"})
    CAF_CHECK_EQUAL(columns.count(name), 1u);
  auto recorded = txn.exec("SELECT count(*) FROM schema_migrations")[0][0].as<size_t>();
  CAF_CHECK_EQUAL(recorded, embedded_migrations().size());
}

CAF_TEST(concurrent migrations are safe) {
  auto conninfo = fresh_database("bedbank_pers_concurrent");
  auto a = std::async(std::launch::async, [&] { return migrate(conninfo); });
  auto b = std::async(std::launch::async, [&] { return migrate(conninfo); });
  auto ra = a.get();
  auto rb = b.get();
  CAF_REQUIRE(ra);
  CAF_REQUIRE(rb);
  std::multiset<std::string> applied(ra->begin(), ra->end());
  applied.insert(rb->begin(), rb->end());
  auto names = all_names();
  CAF_CHECK_EQUAL(applied, std::multiset<std::string>(names.begin(), names.end()));
}

CAF_TEST(spans round trip through COPY) {
  auto conninfo = fresh_database("bedbank_pers_spans");
  CAF_REQUIRE(migrate(conninfo));
  std::vector<span_record> spans;
  auto root = make_span("00f067aa0ba902b7", "", 1700000000123456, "agent-a");
  root.related_type = "hotel";
  root.related_id = "H-東京-1";
  root.request_data = R"({"city":"東京","rooms":[{"adults":2}],"note":"tab\there \\ \"q\""})";
  root.response_data = R"([1, 2.5, null, true])";
  root.error_detail = "line one\nline\ttwo \\ back — Zürich ✓";
  spans.push_back(root);
  auto child = make_span("b7ad6b7169203331", "00f067aa0ba902b7", 1700000000123999, "agent-a");
  child.event_type = "supplier_query";
  child.service = "supplier_adapter";
  child.status = "timeout";
  child.duration_us = 2'000'500;
  spans.push_back(child);
  auto other = make_span("c0ffee0000000001", "00f067aa0ba902b7", 1700000000124000, "agent-b");
  other.request_data = "not json {";
  spans.push_back(other);
  // Reversed on purpose: trace() orders by start.
  std::vector<span_record> input(spans.rbegin(), spans.rend());
  span_store store{conninfo};
  auto written = store.copy(input);
  CAF_REQUIRE(written);
  CAF_CHECK_EQUAL(*written, 3u);
  auto all = store.trace({root.trace_id, ""});
  CAF_REQUIRE(all);
  CAF_REQUIRE_EQUAL(all->size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& want = spans[i];
    const auto& got = (*all)[i];
    CAF_CHECK_EQUAL(got.trace_id, want.trace_id);
    CAF_CHECK_EQUAL(got.span_id, want.span_id);
    CAF_CHECK_EQUAL(got.parent_span_id, want.parent_span_id);
    CAF_CHECK_EQUAL(got.event_type, want.event_type);
    CAF_CHECK_EQUAL(got.service, want.service);
    CAF_CHECK_EQUAL(got.related_type, want.related_type);
    CAF_CHECK_EQUAL(got.related_id, want.related_id);
    CAF_CHECK(same_json(got.request_data, want.request_data));
    CAF_CHECK(same_json(got.response_data, want.response_data));
    CAF_CHECK_EQUAL(got.started_us, want.started_us);
    CAF_CHECK_EQUAL(got.duration_us, want.duration_us);
    CAF_CHECK_EQUAL(got.status, want.status);
    CAF_CHECK_EQUAL(got.error_detail, want.error_detail);
    CAF_CHECK_EQUAL(got.agent_id, want.agent_id);
    CAF_CHECK_EQUAL(got.node, want.node);
  }
  // Text that is not JSON is kept as a JSON string.
  CAF_CHECK_EQUAL(nlohmann::json::parse((*all)[2].request_data), "not json {");
  // NULLs, duration_ms and created_at as stored.
  pqxx::connection conn{conninfo};
  pqxx::work txn{conn};
  auto row = txn.exec1("SELECT parent_span_id IS NULL, related_type IS NULL, "
                       "request_data IS NULL, response_data IS NULL, error_detail IS NULL, "
                       "duration_ms, created_at = started_at FROM trace_events "
                       "WHERE span_id = 'b7ad6b7169203331'");
  CAF_CHECK_EQUAL(row[0].as<bool>(), false);
  CAF_CHECK_EQUAL(row[1].as<bool>(), true);
  CAF_CHECK_EQUAL(row[2].as<bool>(), true);
  CAF_CHECK_EQUAL(row[3].as<bool>(), true);
  CAF_CHECK_EQUAL(row[4].as<bool>(), true);
  CAF_CHECK_EQUAL(row[5].as<int>(), 2001);
  CAF_CHECK_EQUAL(row[6].as<bool>(), true);
  auto root_null = txn.exec1("SELECT parent_span_id IS NULL, duration_ms FROM trace_events "
                             "WHERE span_id = '00f067aa0ba902b7'");
  CAF_CHECK_EQUAL(root_null[0].as<bool>(), true);
  CAF_CHECK_EQUAL(root_null[1].as<int>(), 1);
}

CAF_TEST(trace reads are agent scoped) {
  auto conninfo = fresh_database("bedbank_pers_scoped");
  CAF_REQUIRE(migrate(conninfo));
  span_store store{conninfo};
  CAF_REQUIRE(store.copy({make_span("s1", "", 1700000000000001, "agent-a"),
                          make_span("s2", "s1", 1700000000000002, "agent-a")}));
  auto mine = store.trace({"4bf92f3577b34da6a3ce929d0e0e4736", "agent-a"});
  CAF_REQUIRE(mine);
  CAF_CHECK_EQUAL(mine->size(), 2u);
  auto theirs = store.trace({"4bf92f3577b34da6a3ce929d0e0e4736", "agent-b"});
  CAF_REQUIRE(theirs);
  CAF_CHECK(theirs->empty());
  auto unknown = store.trace({"no-such-trace", ""});
  CAF_REQUIRE(unknown);
  CAF_CHECK(unknown->empty());
  CAF_CHECK(store.ping().ok);
  CAF_CHECK_EQUAL(store.ping().name, "postgresql");
}

CAF_TEST(the store reconnects after the connection is killed) {
  auto conninfo = fresh_database("bedbank_pers_reconnect");
  CAF_REQUIRE(migrate(conninfo));
  span_store store{conninfo};
  CAF_REQUIRE(store.ping().ok);
  {
    pqxx::connection conn{conninfo};
    pqxx::nontransaction txn{conn};
    txn.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = 'bedbank_pers_reconnect' AND pid <> pg_backend_pid()");
  }
  // The dead connection is noticed at BEGIN, before any data went out: reconnect and go on.
  auto first = store.copy({make_span("r1", "", 1700000000000001, "agent-a")});
  CAF_CHECK(first);
  auto read = store.trace({"4bf92f3577b34da6a3ce929d0e0e4736", ""});
  CAF_REQUIRE(read);
  CAF_CHECK_EQUAL(read->size(), 1u);
}

CAF_TEST(a broken conninfo gives errors not exceptions) {
  std::string bad = "host=127.0.0.1 port=1 user=nobody dbname=nothing connect_timeout=2";
  span_store store{bad};
  auto written = store.copy({make_span("x", "", 1, "a")});
  CAF_REQUIRE(!written);
  CAF_CHECK_EQUAL(code_of(written.error()), ec::storage_unavailable);
  CAF_MESSAGE("copy error: " << message_of(written.error()));
  auto read = store.trace({"t", ""});
  CAF_REQUIRE(!read);
  CAF_CHECK_EQUAL(code_of(read.error()), ec::storage_unavailable);
  auto health = store.ping();
  CAF_CHECK(!health.ok);
  CAF_CHECK(!health.message.empty());
  auto migrated = migrate(bad);
  CAF_REQUIRE(!migrated);
  CAF_CHECK_EQUAL(code_of(migrated.error()), ec::storage_unavailable);
  span_store garbage{"this is = not a conninfo ="};
  auto g = garbage.trace({"t", ""});
  CAF_REQUIRE(!g);
  CAF_CHECK_EQUAL(code_of(g.error()), ec::storage_unavailable);
}
