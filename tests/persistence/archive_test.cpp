// archive_test: the ClickHouse span archive against a throwaway ClickHouse 18.16
// (BEDBANK_TEST_CH_PORT). Each test drops the database `bedbank_archive_test` first, so
// ensure_schema creates it again.
#define CAF_SUITE archive
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "domain/dates.hpp"
#include "persistence/span_archive.hpp"
#include "protocols/errors.hpp"

using namespace std::chrono_literals;
using namespace bedbank;
using namespace bedbank::persistence;

namespace {

constexpr const char* test_database = "bedbank_archive_test";
constexpr int64_t us_per_day = 86'400'000'000;
constexpr int64_t us_per_hour = 3'600'000'000;

uint16_t ch_port() {
  const char* s = std::getenv("BEDBANK_TEST_CH_PORT");
  return static_cast<uint16_t>(s != nullptr ? std::atoi(s) : 28123);
}

clickhouse_client server_client() {
  return clickhouse_client{"127.0.0.1", ch_port(), "", 10000ms};
}

/// The archive over a database dropped just now, with its schema in place.
span_archive fresh_archive() {
  auto server = server_client();
  auto dropped = server.query(std::string{"DROP DATABASE IF EXISTS "} + test_database);
  CAF_REQUIRE(dropped);
  span_archive archive{server.with_database(test_database)};
  auto err = archive.ensure_schema();
  CAF_REQUIRE(!err);
  return archive;
}

/// A query's TabSeparated answer in the test database.
std::string query(const std::string& sql) {
  auto res = server_client().with_database(test_database).query(sql);
  CAF_REQUIRE(res);
  return *res;
}

int64_t day_start_us(const char* date) {
  auto d = domain::parse_date(date);
  CAF_REQUIRE(d);
  return static_cast<int64_t>(*d) * us_per_day;
}

stored_span make_span(int64_t id, std::string trace_id, int64_t started_us,
                      std::string agent = "demo-a") {
  stored_span s;
  s.id = id;
  s.created_us = started_us + 2500;
  auto& x = s.span;
  x.trace_id = std::move(trace_id);
  x.span_id = "span-" + std::to_string(id);
  x.event_type = "supplier_query";
  x.service = "supplier_adapter";
  x.started_us = started_us;
  x.duration_us = 2500;
  x.status = "success";
  x.agent_id = std::move(agent);
  x.node = "node-1";
  return s;
}

stored_span related_span(int64_t id, std::string trace_id, int64_t started_us,
                         std::string related_type, std::string related_id,
                         std::string agent = "demo-a") {
  auto s = make_span(id, std::move(trace_id), started_us, std::move(agent));
  s.span.related_type = std::move(related_type);
  s.span.related_id = std::move(related_id);
  return s;
}

void check_same(const stored_span& got, const stored_span& want) {
  CAF_CHECK_EQUAL(got.id, want.id);
  CAF_CHECK_EQUAL(got.created_us, want.created_us);
  const auto& a = got.span;
  const auto& b = want.span;
  CAF_CHECK_EQUAL(a.trace_id, b.trace_id);
  CAF_CHECK_EQUAL(a.span_id, b.span_id);
  CAF_CHECK_EQUAL(a.parent_span_id, b.parent_span_id);
  CAF_CHECK_EQUAL(a.event_type, b.event_type);
  CAF_CHECK_EQUAL(a.service, b.service);
  CAF_CHECK_EQUAL(a.related_type, b.related_type);
  CAF_CHECK_EQUAL(a.related_id, b.related_id);
  CAF_CHECK_EQUAL(a.request_data, b.request_data);
  CAF_CHECK_EQUAL(a.response_data, b.response_data);
  CAF_CHECK_EQUAL(a.started_us, b.started_us);
  CAF_CHECK_EQUAL(a.duration_us, b.duration_us);
  CAF_CHECK_EQUAL(a.status, b.status);
  CAF_CHECK_EQUAL(a.error_detail, b.error_detail);
  CAF_CHECK_EQUAL(a.agent_id, b.agent_id);
  CAF_CHECK_EQUAL(a.node, b.node);
}

std::vector<int64_t> ids_of(const std::vector<stored_span>& spans) {
  std::vector<int64_t> ids;
  for (const auto& s : spans)
    ids.push_back(s.id);
  return ids;
}

std::vector<std::string> trace_ids_of(const std::vector<related_trace>& traces) {
  std::vector<std::string> ids;
  for (const auto& t : traces)
    ids.push_back(t.trace_id);
  return ids;
}

using strings = std::vector<std::string>;
using int64s = std::vector<int64_t>;

} // namespace

CAF_TEST(ping answers) {
  span_archive archive{server_client()};
  auto h = archive.ping();
  CAF_CHECK(h.ok);
  CAF_CHECK_EQUAL(h.name, "clickhouse");
}

CAF_TEST(the schema is created with its database and is idempotent) {
  auto archive = fresh_archive();
  CAF_CHECK_EQUAL(query("SELECT name FROM system.tables WHERE database = currentDatabase() "
                        "ORDER BY name FORMAT TabSeparated"),
                  "trace_events\ntrace_related\ntrace_related_mv\n");
  CAF_CHECK_EQUAL(query("SELECT name, type FROM system.columns WHERE database = "
                        "currentDatabase() AND table = 'trace_related' FORMAT TabSeparated"),
                  "day\tDate\nrelated_type\tString\nrelated_id\tString\ntrace_id\tString\n"
                  "started_us\tInt64\nagent_id\tString\nid\tUInt64\n");
  CAF_CHECK_EQUAL(query("SELECT count() FROM system.columns WHERE database = currentDatabase() "
                        "AND table = 'trace_events' FORMAT TabSeparated"),
                  "18\n");
  CAF_CHECK_EQUAL(query("SELECT engine, partition_key, sorting_key FROM system.tables WHERE "
                        "database = currentDatabase() AND name = 'trace_events' "
                        "FORMAT TabSeparated"),
                  "MergeTree\ttoYYYYMMDD(day)\ttrace_id, id\n");
  auto t0 = day_start_us("2024-03-10");
  CAF_REQUIRE(!archive.insert({make_span(1, "t1", t0)}));
  // A second run changes nothing and keeps the data.
  CAF_CHECK(!archive.ensure_schema());
  CAF_CHECK(!archive.ensure_schema());
  auto n = archive.count();
  CAF_REQUIRE(n);
  CAF_CHECK_EQUAL(*n, 1u);
}

CAF_TEST(spans round trip field by field whatever their bytes) {
  auto archive = fresh_archive();
  auto t0 = day_start_us("2024-03-10") + 23 * us_per_hour; // created 23:00 UTC
  auto root = related_span(101, "4bf92f3577b34da6a3ce929d0e0e4736", t0, "order", "ord-東京-1");
  root.span.event_type = "http_request";
  root.span.service = "api_gateway";
  root.span.request_data =
      R"({"city":"東京","note":"say \"hi\"\n\ttab \\ back\\slash","emoji":"😀","u":"\u0001"})";
  root.span.response_data = R"({"ok":true,"quote":"it's","list":[1,2.5,null]})";
  root.span.error_detail = std::string{"line1\nline2\r\n\ttab \"q\" 'a' \\ \x01\x02\x1f\x7f end"} +
                           std::string{"\0nul", 4} + "\b\f ✓ 𝄞";
  auto child = make_span(102, root.span.trace_id, t0 + 1000);
  child.span.parent_span_id = root.span.span_id;
  child.span.status = "error";
  child.span.error_detail = "supplier said: \"sold out\"\\n (not a newline)";
  child.created_us = t0 + us_per_hour + 5; // the next UTC day
  auto other = make_span(103, "another-trace", t0 + 500);
  CAF_REQUIRE(!archive.insert({child, root, other}));
  auto got = archive.spans_of_traces({root.span.trace_id}, "");
  CAF_REQUIRE(got);
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  check_same((*got)[0], root);
  check_same((*got)[1], child);
  // `day` is created_at's UTC day.
  CAF_CHECK_EQUAL(query("SELECT id, day FROM trace_events ORDER BY id FORMAT TabSeparated"),
                  "101\t2024-03-10\n102\t2024-03-11\n103\t2024-03-10\n");
  auto both = archive.spans_of_traces({root.span.trace_id, "another-trace", "no-such"}, "");
  CAF_REQUIRE(both);
  CAF_CHECK_EQUAL(ids_of(*both), int64s({101, 103, 102})); // by start
  auto none = archive.spans_of_traces({}, "");
  CAF_REQUIRE(none);
  CAF_CHECK(none->empty());
}

CAF_TEST(arbitrary bytes are stored as nlohmann would write them) {
  auto archive = fresh_archive();
  auto t0 = day_start_us("2024-03-10");
  std::mt19937 rng{42};
  // Bytes drawn mostly from the interesting ranges: controls, quotes, backslash, UTF-8 leads
  // and continuations, invalid bytes.
  const std::string alphabet = std::string{"\0\x01\x1f \"\\'/a\x7f", 10} +
                               "\x80\x8f\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe1\xed\xee\xef"
                               "\xf0\xf1\xf4\xf5\xff";
  std::vector<stored_span> spans;
  std::vector<std::string> expected;
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    auto len = rng() % 80; // past the 8-byte fast path
    for (size_t k = 0; k < len; ++k)
      s += alphabet[rng() % alphabet.size()];
    if (i % 3 == 0)
      s += "東京 😀 ✓"; // valid sequences among the noise
    if (i % 5 == 0)
      s += "plain ascii long enough for several words, then \"quoted\" and done";
    auto span = make_span(1000 + i, "noise", t0 + i);
    span.span.error_detail = s;
    span.span.request_data = s;
    spans.push_back(span);
    auto dumped = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    expected.push_back(nlohmann::json::parse(dumped).get<std::string>());
  }
  CAF_REQUIRE(!archive.insert(spans));
  auto got = archive.spans_of_traces({"noise"}, "");
  CAF_REQUIRE(got);
  CAF_REQUIRE_EQUAL(got->size(), spans.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    if ((*got)[i].span.error_detail != expected[i] || (*got)[i].span.request_data != expected[i])
      ++mismatches;
  }
  CAF_CHECK_EQUAL(mismatches, 0u);
}

CAF_TEST(an id inserted twice is read and counted once) {
  auto archive = fresh_archive();
  auto t0 = day_start_us("2024-03-10");
  std::vector<stored_span> spans;
  for (int i = 0; i < 50; ++i)
    spans.push_back(related_span(500 + i, "trace-" + std::to_string(i % 5), t0 + i * 1000, "order",
                                 "ord-" + std::to_string(i % 2)));
  CAF_REQUIRE(!archive.insert(spans));
  // An interrupted run inserted the last 20 again.
  CAF_REQUIRE(!archive.insert(std::vector<stored_span>(spans.begin() + 30, spans.end())));
  CAF_CHECK_EQUAL(query("SELECT count() FROM trace_events FORMAT TabSeparated"), "70\n");
  auto n = archive.count();
  CAF_REQUIRE(n);
  CAF_CHECK_EQUAL(*n, 50u);
  auto got = archive.spans_of_traces({"trace-0", "trace-1", "trace-2", "trace-3", "trace-4"}, "");
  CAF_REQUIRE(got);
  CAF_REQUIRE_EQUAL(got->size(), 50u);
  auto ids = ids_of(*got);
  CAF_CHECK(std::is_sorted(ids.begin(), ids.end())); // start order is id order here
  CAF_CHECK_EQUAL(std::set<int64_t>(ids.begin(), ids.end()).size(), 50u);
  auto one = archive.spans_of_traces({"trace-4"}, "");
  CAF_REQUIRE(one);
  CAF_CHECK_EQUAL(ids_of(*one), int64s({504, 509, 514, 519, 524, 529, 534, 539, 544, 549}));
  auto rel = archive.related("order", {"ord-0", "ord-1"}, 0, 0, "", 100);
  CAF_REQUIRE(rel);
  CAF_CHECK_EQUAL(rel->size(), 5u);
  auto present = archive.present({530, 549, 550}, t0, t0 + us_per_day);
  CAF_REQUIRE(present);
  CAF_CHECK_EQUAL(*present, int64s({530, 549}));
}

CAF_TEST(present answers exactly the held subset of 20000 ids) {
  auto archive = fresh_archive();
  auto d0 = day_start_us("2024-03-10");
  constexpr int64_t base = 1'000'000'000'000; // long ids: a query well over 256 KiB
  std::vector<stored_span> spans;
  std::vector<int64_t> ids;
  std::vector<int64_t> held;
  std::vector<int64_t> held_day1;
  for (int64_t i = 0; i < 20000; ++i) {
    auto id = base + i * 7;
    ids.push_back(id);
    if (i % 3 == 0) {
      auto day = i % 2; // two days
      spans.push_back(make_span(id, "t" + std::to_string(i % 100), d0 + day * us_per_day + i));
      held.push_back(id);
      if (day == 1)
        held_day1.push_back(id);
    }
  }
  CAF_REQUIRE(!archive.insert(spans));
  auto got = archive.present(ids, d0, d0 + 2 * us_per_day - 1);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(got->size(), held.size());
  CAF_CHECK(*got == held);
  // The bounds prune: only the second day.
  auto day1 = archive.present(ids, d0 + us_per_day, d0 + 2 * us_per_day - 1);
  CAF_REQUIRE(day1);
  CAF_CHECK(*day1 == held_day1);
  // Nothing, and a negative id, are fine.
  auto none = archive.present({}, d0, d0);
  CAF_REQUIRE(none);
  CAF_CHECK(none->empty());
  auto odd = archive.present({-1, base + 1}, d0, d0 + 2 * us_per_day);
  CAF_REQUIRE(odd);
  CAF_CHECK(odd->empty());
}

CAF_TEST(spans of traces are scoped to an agent) {
  auto archive = fresh_archive();
  auto t0 = day_start_us("2024-03-10");
  CAF_REQUIRE(!archive.insert(
      {make_span(1, "shared", t0, "demo-a"), make_span(2, "shared", t0 + 10, "demo-b"),
       make_span(3, "shared", t0 + 20, "demo-a"), make_span(4, "b-only", t0 + 30, "demo-b")}));
  auto a = archive.spans_of_traces({"shared", "b-only"}, "demo-a");
  CAF_REQUIRE(a);
  CAF_CHECK_EQUAL(ids_of(*a), int64s({1, 3}));
  auto b = archive.spans_of_traces({"shared", "b-only"}, "demo-b");
  CAF_REQUIRE(b);
  CAF_CHECK_EQUAL(ids_of(*b), int64s({2, 4}));
  auto all = archive.spans_of_traces({"shared", "b-only"}, "");
  CAF_REQUIRE(all);
  CAF_CHECK_EQUAL(ids_of(*all), int64s({1, 2, 3, 4}));
  auto nobody = archive.spans_of_traces({"shared"}, "demo-c' OR '1'='1");
  CAF_REQUIRE(nobody);
  CAF_CHECK(nobody->empty());
}

CAF_TEST(related finds traces by object newest first in a window) {
  auto archive = fresh_archive();
  auto t0 = day_start_us("2024-03-10");
  auto h = us_per_hour;
  std::vector<stored_span> spans{
      // ord-1: three traces over three days; tr-1 touches it twice.
      related_span(1, "tr-1", t0 + 1 * h, "order", "ord-1"),
      related_span(2, "tr-1", t0 + 2 * h, "order", "ord-1"),
      make_span(3, "tr-1", t0 + 3 * h),
      related_span(4, "tr-2", t0 + 1 * us_per_day, "order", "ord-1"),
      related_span(5, "tr-3", t0 + 2 * us_per_day, "order", "ord-1", "demo-b"),
      // ord-2, and the same id under another type.
      related_span(6, "tr-4", t0 + 5 * h, "order", "ord-2"),
      related_span(7, "tr-5", t0 + 6 * h, "hotel", "ord-1"),
  };
  CAF_REQUIRE(!archive.insert(spans));
  // Only spans with a related object land in trace_related.
  CAF_CHECK_EQUAL(query("SELECT count() FROM trace_related FORMAT TabSeparated"), "6\n");

  auto all = archive.related("order", {"ord-1"}, 0, 0, "", 10);
  CAF_REQUIRE(all);
  CAF_CHECK_EQUAL(trace_ids_of(*all), strings({"tr-3", "tr-2", "tr-1"}));
  CAF_REQUIRE_EQUAL(all->size(), 3u);
  CAF_CHECK_EQUAL((*all)[2].started_us, t0 + 1 * h); // earliest matching span
  CAF_CHECK_EQUAL((*all)[0].started_us, t0 + 2 * us_per_day);

  auto two = archive.related("order", {"ord-1", "ord-2"}, 0, 0, "", 10);
  CAF_REQUIRE(two);
  CAF_CHECK_EQUAL(trace_ids_of(*two), strings({"tr-3", "tr-2", "tr-4", "tr-1"}));

  auto limited = archive.related("order", {"ord-1", "ord-2"}, 0, 0, "", 2);
  CAF_REQUIRE(limited);
  CAF_CHECK_EQUAL(trace_ids_of(*limited), strings({"tr-3", "tr-2"}));

  // [from, to): tr-1's second span at 02:00 is inside, its first is not.
  auto window = archive.related("order", {"ord-1"}, t0 + 2 * h, t0 + 2 * us_per_day, "", 10);
  CAF_REQUIRE(window);
  CAF_CHECK_EQUAL(trace_ids_of(*window), strings({"tr-2", "tr-1"}));
  CAF_CHECK_EQUAL((*window)[1].started_us, t0 + 2 * h);
  auto from_only = archive.related("order", {"ord-1"}, t0 + 1 * us_per_day, 0, "", 10);
  CAF_REQUIRE(from_only);
  CAF_CHECK_EQUAL(trace_ids_of(*from_only), strings({"tr-3", "tr-2"}));

  auto agent_a = archive.related("order", {"ord-1"}, 0, 0, "demo-a", 10);
  CAF_REQUIRE(agent_a);
  CAF_CHECK_EQUAL(trace_ids_of(*agent_a), strings({"tr-2", "tr-1"}));
  auto agent_b = archive.related("order", {"ord-1"}, 0, 0, "demo-b", 10);
  CAF_REQUIRE(agent_b);
  CAF_CHECK_EQUAL(trace_ids_of(*agent_b), strings({"tr-3"}));

  auto hotel = archive.related("hotel", {"ord-1"}, 0, 0, "", 10);
  CAF_REQUIRE(hotel);
  CAF_CHECK_EQUAL(trace_ids_of(*hotel), strings({"tr-5"}));
  auto nothing = archive.related("order", {}, 0, 0, "", 10);
  CAF_REQUIRE(nothing);
  CAF_CHECK(nothing->empty());

  // related() reads trace_related alone: emptying trace_events changes nothing.
  for (const char* p : {"20240310", "20240311", "20240312"})
    query(std::string{"ALTER TABLE trace_events DROP PARTITION ID '"} + p + "'");
  CAF_CHECK_EQUAL(query("SELECT count() FROM trace_events FORMAT TabSeparated"), "0\n");
  auto again = archive.related("order", {"ord-1"}, 0, 0, "", 10);
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(trace_ids_of(*again), strings({"tr-3", "tr-2", "tr-1"}));
}

CAF_TEST(drop_before drops older days from both tables and keeps the rest) {
  auto archive = fresh_archive();
  auto d = domain::parse_date("2024-03-10");
  CAF_REQUIRE(d);
  auto day_us = [&](int offset) { return (static_cast<int64_t>(*d) + offset) * us_per_day; };
  std::vector<stored_span> spans;
  for (int offset = 0; offset < 4; ++offset)
    for (int k = 0; k < 3; ++k)
      spans.push_back(related_span(offset * 10 + k, "day-" + std::to_string(offset),
                                   day_us(offset) + k * us_per_hour, "order",
                                   "ord-" + std::to_string(offset)));
  CAF_REQUIRE(!archive.insert(spans));
  auto partitions = [](const char* table) {
    return query(std::string{"SELECT DISTINCT partition_id FROM system.parts WHERE database = "
                             "currentDatabase() AND active AND table = '"} +
                 table + "' ORDER BY partition_id FORMAT TabSeparated");
  };
  CAF_CHECK_EQUAL(partitions("trace_events"), "20240310\n20240311\n20240312\n20240313\n");
  CAF_CHECK_EQUAL(partitions("trace_related"), "20240310\n20240311\n20240312\n20240313\n");

  auto dropped = archive.drop_before(*d + 2);
  CAF_REQUIRE(dropped);
  CAF_CHECK_EQUAL(*dropped, strings({"20240310", "20240311"}));
  CAF_CHECK_EQUAL(partitions("trace_events"), "20240312\n20240313\n");
  CAF_CHECK_EQUAL(partitions("trace_related"), "20240312\n20240313\n");
  auto n = archive.count();
  CAF_REQUIRE(n);
  CAF_CHECK_EQUAL(*n, 6u);
  auto old_spans = archive.spans_of_traces({"day-0", "day-1"}, "");
  CAF_REQUIRE(old_spans);
  CAF_CHECK(old_spans->empty());
  auto kept = archive.spans_of_traces({"day-2", "day-3"}, "");
  CAF_REQUIRE(kept);
  CAF_CHECK_EQUAL(ids_of(*kept), int64s({20, 21, 22, 30, 31, 32}));
  auto old_rel = archive.related("order", {"ord-0", "ord-1"}, 0, 0, "", 10);
  CAF_REQUIRE(old_rel);
  CAF_CHECK(old_rel->empty());
  auto kept_rel = archive.related("order", {"ord-2", "ord-3"}, 0, 0, "", 10);
  CAF_REQUIRE(kept_rel);
  CAF_CHECK_EQUAL(trace_ids_of(*kept_rel), strings({"day-3", "day-2"}));

  auto again = archive.drop_before(*d + 2);
  CAF_REQUIRE(again);
  CAF_CHECK(again->empty());
}

CAF_TEST(an unreachable server gives errors not exceptions) {
  span_archive archive{clickhouse_client{"127.0.0.1", 1, "nowhere", 500ms}};
  auto check = [](const caf::error& err) {
    CAF_CHECK(err);
    CAF_CHECK_EQUAL(code_of(err), ec::storage_unavailable);
  };
  check(archive.ensure_schema());
  check(archive.insert({make_span(1, "t", 0)}));
  auto present = archive.present({1}, 0, 0);
  CAF_REQUIRE(!present);
  check(present.error());
  auto spans = archive.spans_of_traces({"t"}, "");
  CAF_REQUIRE(!spans);
  check(spans.error());
  auto related = archive.related("order", {"o"}, 0, 0, "", 1);
  CAF_REQUIRE(!related);
  check(related.error());
  auto dropped = archive.drop_before(1);
  CAF_REQUIRE(!dropped);
  check(dropped.error());
  auto n = archive.count();
  CAF_REQUIRE(!n);
  check(n.error());
  CAF_CHECK(!archive.ping().ok);
}
