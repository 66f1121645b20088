// span_archive: the ClickHouse side of trace_events (the cold store). Spans older than
// trace.hot_days move here from PostgreSQL; partitions by day are dropped after
// trace.archive_days. Speaks ClickHouse 18.16's HTTP interface through clickhouse_client.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "persistence/clickhouse_client.hpp"
#include "persistence/stored_span.hpp"
#include "protocols/messages.hpp"

namespace bedbank::persistence {

class span_archive {
public:
  /// Most spans one `spans_of_traces` call returns.
  static constexpr size_t max_spans = 10000;

  explicit span_archive(clickhouse_client client);

  /// Creates the database (if missing) and the archive's tables; idempotent.
  caf::error ensure_schema();

  /// Which of `ids` the archive already holds (spans created between the two instants; the
  /// bounds prune partitions).
  caf::expected<std::vector<int64_t>> present(const std::vector<int64_t>& ids,
                                              int64_t min_created_us, int64_t max_created_us);

  /// Inserts `spans` in one INSERT ... FORMAT JSONEachRow.
  caf::error insert(const std::vector<stored_span>& spans);

  /// The spans of `trace_ids` (agent-scoped unless `agent_id` is empty), ordered by start,
  /// at most `max_spans`; one row per id even if an interrupted archive run inserted it twice.
  caf::expected<std::vector<stored_span>> spans_of_traces(const std::vector<std::string>& trace_ids,
                                                          const std::string& agent_id);

  /// Traces with a span related to (`related_type`, one of `related_ids`) started in
  /// [from_us, to_us) (0: unbounded), agent-scoped unless `agent_id` is empty, newest first,
  /// at most `limit`.
  caf::expected<std::vector<related_trace>> related(const std::string& related_type,
                                                    const std::vector<std::string>& related_ids,
                                                    int64_t from_us, int64_t to_us,
                                                    const std::string& agent_id, int limit);

  /// Drops every partition of spans created before the UTC day `before_day`
  /// (domain::day); returns the partitions dropped (YYYYMMDD).
  caf::expected<std::vector<std::string>> drop_before(int32_t before_day);

  /// Spans held (counting an interrupted run's duplicates once).
  caf::expected<uint64_t> count();

  bedbank::dependency_health ping();

private:
  clickhouse_client client_;
};

} // namespace bedbank::persistence
