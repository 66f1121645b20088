// trace_archive_test: trace reports over both span stores and the archive protocol, against
// the throwaway PostgreSQL and ClickHouse of the services fixture. The suite owns a
// PostgreSQL database and a ClickHouse database (both `bedbank_trace_archive`), emptied at
// the start of every test, because archiving moves every old span of a database.
#define CAF_SUITE trace_archive
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <cstdlib>
#include <set>

#include <pqxx/pqxx>

#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "persistence/migrations.hpp"
#include "persistence/order_store.hpp"
#include "persistence/span_archive.hpp"
#include "persistence/span_archiver.hpp"
#include "persistence/span_store.hpp"
#include "persistence/trace_repository.hpp"
#include "protocols/errors.hpp"

using namespace std::chrono_literals;
using namespace bedbank;
using namespace bedbank::persistence;

namespace {

constexpr const char* database_name = "bedbank_trace_archive";
constexpr int64_t day_us = 86'400'000'000;
constexpr int hot_days = 30;

std::string base_conninfo() {
  const char* s = std::getenv("BEDBANK_TEST_PG");
  return s != nullptr ? s : "host=127.0.0.1 port=25432 user=bedbank dbname=bedbank";
}

uint16_t ch_port() {
  const char* s = std::getenv("BEDBANK_TEST_CH_PORT");
  return static_cast<uint16_t>(s != nullptr ? std::atoi(s) : 28123);
}

clickhouse_client ch(uint16_t port = ch_port()) {
  return clickhouse_client{"127.0.0.1", port, database_name, 10000ms};
}

/// Empties both databases (creating and migrating the PostgreSQL one when missing).
std::string fresh_databases() {
  auto ci = base_conninfo() + " dbname=" + database_name;
  {
    pqxx::connection conn{base_conninfo()};
    pqxx::nontransaction txn{conn};
    if (txn.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", database_name).empty())
      txn.exec("CREATE DATABASE " + txn.quote_name(database_name));
  }
  auto migrated = migrate(ci);
  if (!migrated)
    CAF_FAIL("migrate failed: " << message_of(migrated.error()));
  {
    pqxx::connection conn{ci};
    pqxx::work txn{conn};
    txn.exec("TRUNCATE trace_events, orders, order_events, inventory_holds, outbox, "
             "credit_ledger, agents CASCADE");
    txn.exec("UPDATE trace_archive_state SET archived_through = NULL, archived_rows = 0");
    txn.commit();
  }
  clickhouse_client server{"127.0.0.1", ch_port(), "", 10000ms};
  if (!server.query(std::string{"DROP DATABASE IF EXISTS "} + database_name))
    CAF_FAIL("cannot drop the ClickHouse database");
  return ci;
}

span_record make_span(const std::string& trace, const std::string& parent, std::string event,
                      std::string related_type, std::string related_id, std::string agent,
                      int64_t started_us) {
  span_record s;
  s.trace_id = trace;
  s.span_id = domain::new_span_id();
  s.parent_span_id = parent;
  s.event_type = std::move(event);
  s.service = "order_engine";
  s.related_type = std::move(related_type);
  s.related_id = std::move(related_id);
  s.request_data = R"({"note":"quote \" and 東京"})";
  s.response_data = R"({"ok":true})";
  s.started_us = started_us;
  s.duration_us = 1500;
  s.status = "success";
  s.agent_id = std::move(agent);
  s.node = "node-t";
  return s;
}

/// A trace of three spans (root, two children) related to `type`/`id`, started at `at_us`.
std::vector<span_record> three_spans(const std::string& trace, const std::string& type,
                                     const std::string& id, const std::string& agent, int64_t at_us,
                                     const std::string& event = "create") {
  auto root = make_span(trace, "", event, type, id, agent, at_us);
  auto a = make_span(trace, root.span_id, "book", type, id, agent, at_us + 1000);
  auto b = make_span(trace, root.span_id, "http_request", "agent", agent, agent, at_us + 2000);
  return {root, a, b};
}

void copy(span_store& store, const std::vector<span_record>& spans) {
  auto n = store.copy(spans);
  if (!n)
    CAF_FAIL("copy failed: " << message_of(n.error()));
}

/// An order of `agent` on hotel H-1 created at `created_us`, with `trace_id` as its creator.
void make_order(const std::string& ci, const std::string& agent, const std::string& id,
                int64_t created_us, const std::string& trace_id) {
  order_store store{ci};
  CAF_REQUIRE(!store.sync_agents({{agent, "Agent", "EUR", 100'000'000}}));
  new_order n;
  auto& o = n.order;
  o.order_id = id;
  o.agent_id = agent;
  o.client_reference = "ref-" + id;
  o.status = "held";
  o.supplier = "alpha";
  o.hotel_id = "H-1";
  o.hotel_code = "A-1";
  o.room_code = "DBL";
  o.room_name = "Double";
  o.board = "BB";
  o.check_in = 20'000;
  o.check_out = 20'002;
  o.rooms = {{2, {}}};
  o.guests_json = "[]";
  o.price_minor = 10'000;
  o.currency = "EUR";
  o.net_minor = 9'000;
  o.net_currency = "EUR";
  o.credit_minor = 10'000;
  o.credit_currency = "EUR";
  o.hold_only = true;
  o.hold_expires_us = created_us + 3'600'000'000LL;
  o.created_us = created_us;
  o.updated_us = created_us;
  o.trace_id = trace_id;
  n.max_attempts = 3;
  n.outbox_due_us = created_us;
  auto res = store.create(n);
  if (!res)
    CAF_FAIL("create failed: " << message_of(res.error()));
}

int64_t pg_count(const std::string& ci, const std::string& where = "TRUE") {
  pqxx::connection conn{ci};
  pqxx::work txn{conn};
  return txn.exec("SELECT count(*) FROM trace_events WHERE " + where)[0][0].as<int64_t>();
}

/// Physical rows in the archive (an interrupted run's duplicates counted twice).
uint64_t ch_rows() {
  auto c = ch();
  auto res = c.query("SELECT count() FROM trace_events");
  if (!res)
    CAF_FAIL("count failed: " << message_of(res.error()));
  return std::stoull(*res);
}

trace_report must_report(trace_repository& repo, trace_report_query q) {
  auto r = repo.report(q);
  if (!r)
    CAF_FAIL("report failed: " << message_of(r.error()));
  return std::move(*r);
}

size_t span_total(const trace_report& r) {
  size_t n = 0;
  for (const auto& t : r.traces)
    n += t.spans.size();
  return n;
}

/// Moves everything older than hot_days; returns the spans moved.
uint64_t archive_all(span_archiver& a, int batch = 1000) {
  uint64_t moved = 0;
  auto cutoff = domain::now_us() - hot_days * day_us;
  for (;;) {
    auto step = a.run_batch(cutoff, batch);
    if (!step)
      CAF_FAIL("archive failed: " << message_of(step.error()));
    moved += step->deleted;
    if (step->selected < static_cast<uint64_t>(batch))
      return moved;
  }
}

} // namespace

CAF_TEST(an order whose spans are partly archived reads as one report) {
  auto ci = fresh_databases();
  auto now = domain::now_us();
  auto old = now - 40 * day_us;
  auto trial_trace = domain::new_trace_id();
  auto create_trace = domain::new_trace_id();
  auto confirm_trace = domain::new_trace_id();
  make_order(ci, "agent-a", "ORD-1", old + 5'000'000, create_trace);
  span_store store{ci};
  copy(store, three_spans(trial_trace, "order", "ORD-1", "agent-a", old, "trial"));
  copy(store, three_spans(create_trace, "order", "ORD-1", "agent-a", old + 5'000'000));
  copy(store, three_spans(confirm_trace, "order", "ORD-1", "agent-a", now - 60'000'000, "confirm"));
  // Someone else's order on another trace: never part of this report.
  copy(store, three_spans(domain::new_trace_id(), "order", "ORD-2", "agent-a", old));

  trace_repository repo{ci, ch()};
  auto before = must_report(repo, {"order", "ORD-1", "agent-a", 0, 0, 0});
  CAF_CHECK_EQUAL(before.traces.size(), 3u);
  CAF_CHECK_EQUAL(span_total(before), 9u);

  span_archiver archiver{ci, ch()};
  CAF_CHECK_EQUAL(archive_all(archiver, 4), 9u);
  CAF_CHECK_EQUAL(pg_count(ci), 3);
  CAF_CHECK_EQUAL(ch_rows(), 9u);

  auto r = must_report(repo, {"order", "ORD-1", "agent-a", 0, 0, 0});
  CAF_CHECK(r.has_order);
  CAF_CHECK_EQUAL(r.order.order_id, "ORD-1");
  CAF_CHECK_EQUAL(r.order.history.size(), 1u);
  CAF_REQUIRE_EQUAL(r.traces.size(), 3u);
  // In time order: trial, create (both cold), confirm (hot).
  CAF_CHECK_EQUAL(r.traces[0].trace_id, trial_trace);
  CAF_CHECK_EQUAL(r.traces[1].trace_id, create_trace);
  CAF_CHECK_EQUAL(r.traces[2].trace_id, confirm_trace);
  CAF_CHECK_EQUAL(r.traces[0].cold_spans, 3);
  CAF_CHECK_EQUAL(r.traces[0].hot_spans, 0);
  CAF_CHECK_EQUAL(r.traces[2].hot_spans, 3);
  CAF_CHECK_EQUAL(r.traces[2].cold_spans, 0);
  std::set<std::string> ids;
  for (const auto& t : r.traces)
    for (const auto& s : t.spans)
      ids.insert(s.span_id);
  CAF_CHECK_EQUAL(ids.size(), 9u);
  // The archived data is the data written, byte for byte.
  const auto& first = r.traces[0].spans.front();
  CAF_CHECK_EQUAL(first.event_type, "trial");
  CAF_CHECK_EQUAL(first.started_us, old);
  CAF_CHECK_EQUAL(first.duration_us, 1500);
  CAF_CHECK_EQUAL(first.request_data, R"({"note": "quote \" and 東京"})");
  CAF_CHECK_EQUAL(first.node, "node-t");

  // One archived trace by its id.
  auto t = must_report(repo, {"trace", create_trace, "agent-a", 0, 0, 0});
  CAF_REQUIRE_EQUAL(t.traces.size(), 1u);
  CAF_CHECK_EQUAL(t.traces[0].spans.size(), 3u);
  CAF_CHECK_EQUAL(t.traces[0].cold_spans, 3);
}

CAF_TEST(agents see only their own reports in both stores) {
  auto ci = fresh_databases();
  auto now = domain::now_us();
  auto old = now - 40 * day_us;
  auto trace = domain::new_trace_id();
  make_order(ci, "agent-a", "ORD-A", old, trace);
  span_store store{ci};
  copy(store, three_spans(trace, "order", "ORD-A", "agent-a", old));
  auto hotel_trace = domain::new_trace_id();
  copy(store, three_spans(hotel_trace, "hotel", "H-1", "agent-a", old + 1000));
  span_archiver archiver{ci, ch()};
  CAF_CHECK_EQUAL(archive_all(archiver), 6u);
  trace_repository repo{ci, ch()};
  for (const auto& kind : {"order", "trace"}) {
    std::string subject = std::string{kind} == "order" ? "ORD-A" : trace;
    auto mine = repo.report({kind, subject, "agent-a", 0, 0, 0});
    CAF_CHECK(static_cast<bool>(mine));
    auto theirs = repo.report({kind, subject, "agent-b", 0, 0, 0});
    CAF_REQUIRE(!theirs);
    CAF_CHECK_EQUAL(code_of(theirs.error()), ec::not_found);
    auto ops = repo.report({kind, subject, "", 0, 0, 0});
    CAF_CHECK(static_cast<bool>(ops));
  }
  trace_report_query hotel{"hotel", "H-1", "agent-b", old - day_us, now, 10};
  CAF_CHECK(must_report(repo, hotel).traces.empty());
  hotel.agent_id = "agent-a";
  auto mine = must_report(repo, hotel);
  // The hotel's own trace and the trace of its order.
  CAF_REQUIRE_EQUAL(mine.traces.size(), 2u);
  CAF_CHECK_EQUAL(mine.traces[0].trace_id, hotel_trace); // newest first
  CAF_CHECK_EQUAL(mine.traces[1].trace_id, trace);
  hotel.limit = 1;
  auto one = must_report(repo, hotel);
  CAF_CHECK_EQUAL(one.traces.size(), 1u);
  CAF_CHECK(one.truncated);
}

CAF_TEST(reports consult the archive only when the data may be there) {
  auto ci = fresh_databases();
  auto now = domain::now_us();
  span_store store{ci};
  auto recent = domain::new_trace_id();
  copy(store, three_spans(recent, "order", "ORD-R", "agent-a", now - 1'000'000));
  // An archive that cannot be reached: fine while nothing was ever archived.
  trace_repository unreachable{ci, ch(1)};
  CAF_CHECK_EQUAL(must_report(unreachable, {"trace", recent, "", 0, 0, 0}).traces.size(), 1u);
  auto missing = unreachable.report({"trace", domain::new_trace_id(), "", 0, 0, 0});
  CAF_REQUIRE(!missing);
  CAF_CHECK_EQUAL(code_of(missing.error()), ec::not_found);
  // Archive something 40 days old: the watermark is set.
  auto old = domain::new_trace_id();
  copy(store, three_spans(old, "order", "ORD-O", "agent-a", now - 40 * day_us));
  span_archiver archiver{ci, ch()};
  CAF_CHECK_EQUAL(archive_all(archiver), 3u);
  // A recent trace still reads from PostgreSQL alone; an unknown one must ask the archive.
  CAF_CHECK_EQUAL(must_report(unreachable, {"trace", recent, "", 0, 0, 0}).traces.size(), 1u);
  auto asked = unreachable.report({"trace", old, "", 0, 0, 0});
  CAF_REQUIRE(!asked);
  CAF_CHECK_EQUAL(code_of(asked.error()), ec::storage_unavailable);
  trace_repository reachable{ci, ch()};
  CAF_CHECK_EQUAL(must_report(reachable, {"trace", old, "", 0, 0, 0}).traces[0].cold_spans, 3);
}

CAF_TEST(a batch interrupted after its insert is finished by the next run without duplicates) {
  auto ci = fresh_databases();
  auto old = domain::now_us() - 40 * day_us;
  span_store store{ci};
  std::vector<std::string> traces;
  for (int i = 0; i < 10; ++i) {
    traces.push_back(domain::new_trace_id());
    copy(store, three_spans(traces.back(), "order", "ORD-X", "agent-a", old + i * 10'000));
  }
  span_archiver archiver{ci, ch()};
  auto cutoff = domain::now_us() - hot_days * day_us;
  // Crash after the insert: the batch is in both stores.
  auto first = archiver.run_batch(cutoff, 100, span_archiver::stop_point::after_insert);
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(first->selected, 30u);
  CAF_CHECK_EQUAL(first->inserted, 30u);
  CAF_CHECK_EQUAL(first->deleted, 0u);
  CAF_CHECK_EQUAL(pg_count(ci), 30);
  CAF_CHECK_EQUAL(ch_rows(), 30u);
  // A report now sees each span once (merged by id), from PostgreSQL or not at all from the
  // archive: the watermark is not raised until the delete.
  trace_repository repo{ci, ch()};
  auto r = must_report(repo, {"trace", traces[3], "", 0, 0, 0});
  CAF_CHECK_EQUAL(span_total(r), 3u);
  // The next run inserts nothing and deletes the batch.
  auto second = archiver.run_batch(cutoff, 100);
  CAF_REQUIRE(second);
  CAF_CHECK_EQUAL(second->selected, 30u);
  CAF_CHECK_EQUAL(second->inserted, 0u);
  CAF_CHECK_EQUAL(second->deleted, 30u);
  CAF_CHECK_EQUAL(pg_count(ci), 0);
  CAF_CHECK_EQUAL(ch_rows(), 30u);
  r = must_report(repo, {"trace", traces[3], "", 0, 0, 0});
  CAF_CHECK_EQUAL(span_total(r), 3u);
  CAF_CHECK_EQUAL(r.traces[0].cold_spans, 3);
}

CAF_TEST(a pipelined run moves every batch and says where its time went) {
  auto ci = fresh_databases();
  auto old = domain::now_us() - 40 * day_us;
  span_store store{ci};
  // 12 traces of 3 spans; some share an instant, so the keyset read must order by id too.
  for (int i = 0; i < 12; ++i)
    copy(store, three_spans(domain::new_trace_id(), "order", "ORD-R", "agent-a", old + i / 2));
  copy(store, three_spans(domain::new_trace_id(), "order", "ORD-NEW", "agent-a", domain::now_us()));
  span_archiver archiver{ci, ch()};
  auto run = archiver.run(domain::now_us() - hot_days * day_us, 5);
  CAF_REQUIRE(!run.error);
  CAF_CHECK_EQUAL(run.batches, 8u); // 36 spans: 7 full batches of 5 and one of 1
  CAF_CHECK_EQUAL(run.selected, 36u);
  CAF_CHECK_EQUAL(run.inserted, 36u);
  CAF_CHECK_EQUAL(run.deleted, 36u);
  CAF_CHECK(!run.more);
  CAF_CHECK_GREATER(run.insert_us, 0);
  CAF_CHECK_GREATER(run.select_us, 0);
  CAF_CHECK_GREATER(run.delete_us, 0);
  CAF_CHECK_EQUAL(pg_count(ci), 3); // the recent trace stays hot
  CAF_CHECK_EQUAL(ch_rows(), 36u);
  auto wm = store.archived_through();
  CAF_REQUIRE(wm);
  CAF_CHECK_EQUAL(*wm, run.through_us);
  CAF_CHECK_GREATER_OR_EQUAL(run.through_us, old + 5);
  // Nothing is left to move: a second run reads one empty batch.
  auto again = archiver.run(domain::now_us() - hot_days * day_us, 5);
  CAF_REQUIRE(!again.error);
  CAF_CHECK_EQUAL(again.batches, 0u);
  CAF_CHECK_EQUAL(ch_rows(), 36u);
}

CAF_TEST(a run after a crash in the pipeline inserts no span twice) {
  auto ci = fresh_databases();
  auto old = domain::now_us() - 40 * day_us;
  span_store store{ci};
  for (int i = 0; i < 8; ++i)
    copy(store, three_spans(domain::new_trace_id(), "order", "ORD-C", "agent-a", old + i));
  // The state a pipelined run leaves when killed: one batch verified but not deleted, the
  // next one half inserted.
  auto cutoff = domain::now_us() - hot_days * day_us;
  auto first = store.archive_batch(cutoff, 6);
  CAF_REQUIRE(first && first->size() == 6u);
  auto second = store.archive_batch(
      cutoff, 6, span_store::archive_key{first->back().created_us, first->back().id});
  CAF_REQUIRE(second && second->size() == 6u);
  CAF_CHECK_GREATER(second->front().id, first->back().id);
  span_archive cold{ch()};
  CAF_REQUIRE(!cold.ensure_schema());
  CAF_REQUIRE(!cold.insert(*first));
  CAF_REQUIRE(!cold.insert({second->begin(), second->begin() + 3}));
  CAF_CHECK_EQUAL(ch_rows(), 9u);
  // A new process (a new archiver) checks the first two batches before inserting.
  span_archiver archiver{ci, ch()};
  auto run = archiver.run(cutoff, 6);
  CAF_REQUIRE(!run.error);
  CAF_CHECK_EQUAL(run.selected, 24u);
  CAF_CHECK_EQUAL(run.inserted, 15u); // 3 of the second batch and the 12 after it
  CAF_CHECK_EQUAL(run.deleted, 24u);
  CAF_CHECK_EQUAL(ch_rows(), 24u);
  CAF_CHECK_EQUAL(pg_count(ci), 0);
}

CAF_TEST(a run with a time budget stops between batches and deletes what it inserted) {
  auto ci = fresh_databases();
  auto old = domain::now_us() - 40 * day_us;
  span_store store{ci};
  for (int i = 0; i < 10; ++i)
    copy(store, three_spans(domain::new_trace_id(), "order", "ORD-B", "agent-a", old + i));
  span_archiver archiver{ci, ch()};
  auto cutoff = domain::now_us() - hot_days * day_us;
  auto run = archiver.run(cutoff, 4, 1); // 1 µs: one batch, then the budget is spent
  CAF_REQUIRE(!run.error);
  CAF_CHECK_EQUAL(run.batches, 1u);
  CAF_CHECK(run.more);
  CAF_CHECK_EQUAL(run.deleted, 4u);
  CAF_CHECK_EQUAL(pg_count(ci), 26);
  CAF_CHECK_EQUAL(ch_rows(), 4u);
  auto rest = archiver.run(cutoff, 4);
  CAF_REQUIRE(!rest.error);
  CAF_CHECK_EQUAL(rest.deleted, 26u);
  CAF_CHECK_EQUAL(rest.inserted, 26u);
  CAF_CHECK_EQUAL(ch_rows(), 30u);
  CAF_CHECK_EQUAL(pg_count(ci), 0);
}

CAF_TEST(a batch partly in the archive gets only its missing spans) {
  auto ci = fresh_databases();
  auto old = domain::now_us() - 40 * day_us;
  span_store store{ci};
  for (int i = 0; i < 4; ++i)
    copy(store, three_spans(domain::new_trace_id(), "order", "ORD-P", "agent-a", old + i));
  // Half of the batch reached the archive before a crash.
  auto batch = store.archive_batch(domain::now_us() - hot_days * day_us, 100);
  CAF_REQUIRE(batch);
  CAF_REQUIRE_EQUAL(batch->size(), 12u);
  span_archive cold{ch()};
  CAF_REQUIRE(!cold.ensure_schema());
  std::vector<stored_span> half(batch->begin(), batch->begin() + 6);
  CAF_REQUIRE(!cold.insert(half));
  span_archiver archiver{ci, ch()};
  auto step = archiver.run_batch(domain::now_us() - hot_days * day_us, 100);
  CAF_REQUIRE(step);
  CAF_CHECK_EQUAL(step->inserted, 6u);
  CAF_CHECK_EQUAL(step->deleted, 12u);
  CAF_CHECK_EQUAL(ch_rows(), 12u);
  CAF_CHECK_EQUAL(pg_count(ci), 0);
}

CAF_TEST(the hot window stays in PostgreSQL and old archive days are dropped) {
  auto ci = fresh_databases();
  auto now = domain::now_us();
  span_store store{ci};
  auto ancient = domain::new_trace_id();
  auto old = domain::new_trace_id();
  auto fresh = domain::new_trace_id();
  copy(store, three_spans(ancient, "order", "ORD-1", "agent-a", now - 400 * day_us));
  copy(store, three_spans(old, "order", "ORD-1", "agent-a", now - 40 * day_us));
  copy(store, three_spans(fresh, "order", "ORD-1", "agent-a", now - 29 * day_us));
  span_archiver archiver{ci, ch()};
  CAF_CHECK_EQUAL(archive_all(archiver), 6u);
  CAF_CHECK_EQUAL(pg_count(ci), 3);
  auto dropped = archiver.drop_before(domain::today_utc() - 365);
  CAF_REQUIRE(dropped);
  CAF_CHECK_EQUAL(dropped->size(), 1u);
  CAF_CHECK_EQUAL(ch_rows(), 3u);
  trace_repository repo{ci, ch()};
  auto gone = repo.report({"trace", ancient, "", 0, 0, 0});
  CAF_REQUIRE(!gone);
  CAF_CHECK_EQUAL(code_of(gone.error()), ec::not_found);
  CAF_CHECK(static_cast<bool>(repo.report({"trace", old, "", 0, 0, 0})));
  CAF_CHECK(static_cast<bool>(repo.report({"trace", fresh, "", 0, 0, 0})));
}
