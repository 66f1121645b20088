// clickhouse_client: a minimal client of ClickHouse's HTTP interface (GET /ping, POSTed
// queries, settings as URL parameters). Blocking, one connection per call; Beast stays
// inside the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <caf/expected.hpp>

#include "protocols/messages.hpp"

namespace bedbank::persistence {

/// Talks to one ClickHouse server over HTTP. Failures (connect, timeout, a non-200 answer)
/// come back as `ec::storage_unavailable` carrying ClickHouse's message, never thrown.
class clickhouse_client {
public:
  /// Settings sent as URL parameters with every query, e.g. {"max_execution_time", "10"}.
  using settings_map = std::map<std::string, std::string>;

  /// Largest response body read, in bytes.
  static constexpr uint64_t max_response_bytes = 64ull * 1024 * 1024;

  /// A client of `host`:`port` (HTTP). `database` is the default database of queries (empty
  /// for the server's); `timeout` bounds each call as a whole; `user` / `password` are sent
  /// when not empty. Does not connect yet.
  clickhouse_client(std::string host, uint16_t port, std::string database,
                    std::chrono::milliseconds timeout, std::string user = {},
                    std::string password = {});

  /// GET /ping; reports the round trip as dependency "clickhouse".
  bedbank::dependency_health ping();

  /// POSTs `sql` and returns the response body (rows in the query's FORMAT, if any).
  caf::expected<std::string> query(const std::string& sql, const settings_map& settings = {});

  /// Sends `sql` (e.g. "INSERT INTO t FORMAT JSONEachRow") as the `query` URL parameter and
  /// `data` as the POST body; returns the response body.
  caf::expected<std::string> insert(const std::string& sql, const std::string& data,
                                    const settings_map& settings = {});

  /// The default database of queries (empty: the server's).
  const std::string& database() const noexcept { return database_; }

  /// A client of the same server, credentials and timeout with `database` as the default
  /// database (empty: the server's), e.g. to create the database itself.
  clickhouse_client with_database(std::string database) const;

private:
  caf::expected<std::string> request(bool post, const std::string& target, const std::string& body);
  std::string target(const settings_map& settings, const std::string* sql) const;

  std::string host_;
  uint16_t port_;
  std::string database_;
  std::chrono::milliseconds timeout_;
  std::string user_;
  std::string password_;
};

} // namespace bedbank::persistence
