// clickhouse_test: the HTTP client against the throwaway ClickHouse 18.16 of the services
// fixture (BEDBANK_TEST_CH_PORT).
#define CAF_SUITE clickhouse
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <cstdlib>

#include "persistence/clickhouse_client.hpp"
#include "protocols/errors.hpp"

using namespace std::chrono_literals;
using namespace bedbank;
using namespace bedbank::persistence;

namespace {

uint16_t ch_port() {
  const char* s = std::getenv("BEDBANK_TEST_CH_PORT");
  return static_cast<uint16_t>(s != nullptr ? std::atoi(s) : 28123);
}

clickhouse_client make_client() {
  return clickhouse_client{"127.0.0.1", ch_port(), "bedbank", 5000ms};
}

} // namespace

CAF_TEST(ping answers) {
  auto client = make_client();
  auto h = client.ping();
  CAF_CHECK(h.ok);
  CAF_CHECK_EQUAL(h.name, "clickhouse");
  CAF_CHECK_EQUAL(h.message, "");
}

CAF_TEST(a simple query) {
  auto client = make_client();
  auto one = client.query("SELECT 1 + 1");
  CAF_REQUIRE(one);
  CAF_CHECK_EQUAL(*one, "2\n");
  auto db = client.query("SELECT currentDatabase()");
  CAF_REQUIRE(db);
  CAF_CHECK_EQUAL(*db, "bedbank\n");
}

CAF_TEST(settings go as URL parameters) {
  auto client = make_client();
  auto res = client.query("SELECT value FROM system.settings WHERE name = 'max_threads'",
                          {{"max_threads", "3"}});
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(*res, "3\n");
}

CAF_TEST(insert and read back JSONEachRow) {
  auto client = make_client();
  CAF_REQUIRE(client.query("DROP TABLE IF EXISTS pers_test_rows"));
  CAF_REQUIRE(client.query("CREATE TABLE pers_test_rows (day Date, id UInt64, note String) "
                           "ENGINE = MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY id"));
  auto ins = client.insert("INSERT INTO pers_test_rows FORMAT JSONEachRow",
                           "{\"day\":\"2024-01-02\",\"id\":1,\"note\":\"東京 ✓\"}\n"
                           "{\"day\":\"2024-01-03\",\"id\":2,\"note\":\"b&c=d\"}\n");
  CAF_REQUIRE(ins);
  auto rows = client.query("SELECT id, note FROM pers_test_rows ORDER BY id FORMAT TSV");
  CAF_REQUIRE(rows);
  CAF_CHECK_EQUAL(*rows, "1\t東京 ✓\n2\tb&c=d\n");
  CAF_CHECK(client.query("DROP TABLE pers_test_rows"));
}

CAF_TEST(a bad query carries the server message) {
  auto client = make_client();
  auto res = client.query("SELECT no_such_column FROM system.one");
  CAF_REQUIRE(!res);
  CAF_CHECK_EQUAL(code_of(res.error()), ec::storage_unavailable);
  CAF_MESSAGE("error: " << message_of(res.error()));
  CAF_CHECK(message_of(res.error()).find("no_such_column") != std::string::npos);
}

CAF_TEST(an unreachable server gives errors not exceptions) {
  clickhouse_client client{"127.0.0.1", 1, "", 500ms};
  auto res = client.query("SELECT 1");
  CAF_REQUIRE(!res);
  CAF_CHECK_EQUAL(code_of(res.error()), ec::storage_unavailable);
  auto h = client.ping();
  CAF_CHECK(!h.ok);
}
