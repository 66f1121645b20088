// trace_repository: trace reports over both stores. Spans live in PostgreSQL (hot) until the
// archiver moves them to ClickHouse (cold); a report reads PostgreSQL first, then the archive
// when what it looks for may be older than the archive watermark, and merges the two by span
// row id, so a span moved between the two reads is seen once, never lost. Not thread-safe:
// one actor (or the CLI) owns one repository.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "persistence/clickhouse_client.hpp"
#include "protocols/messages.hpp"

namespace bedbank::persistence {

class trace_repository {
public:
  /// Most traces one report carries.
  static constexpr int max_traces = 200;

  /// Reads PostgreSQL at `conninfo` and, when given, the ClickHouse archive.
  trace_repository(std::string conninfo, std::optional<clickhouse_client> archive);
  ~trace_repository();
  trace_repository(trace_repository&&) noexcept;
  trace_repository& operator=(trace_repository&&) noexcept;

  /// The report `q` asks for; `ec::not_found` when the trace, order or hotel shows nothing
  /// the asker may see (another agent's order is not found either), `ec::invalid_request`
  /// for an unknown kind.
  caf::expected<trace_report> report(const trace_report_query& q);

  /// PostgreSQL's health (dependency "postgresql").
  bedbank::dependency_health ping();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::persistence
