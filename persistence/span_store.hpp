// span_store: the journal's PostgreSQL side. Batches of spans go into `trace_events` through
// COPY; traces are read back ordered by start. Not thread-safe: one actor owns one store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "persistence/stored_span.hpp"
#include "protocols/messages.hpp"

namespace bedbank::persistence {

/// Writes and reads `trace_events`. Connects lazily; a connection found broken when a call
/// begins its transaction is replaced at once (nothing was sent yet), one that breaks later
/// fails that call and is replaced by the next. Every failure comes back as
/// `ec::storage_unavailable`, never thrown.
class span_store {
public:
  /// Most spans one `trace()` call returns.
  static constexpr size_t max_trace_spans = 10000;

  /// A store for the database at `conninfo` (libpq syntax); does not connect yet.
  explicit span_store(std::string conninfo);

  ~span_store();
  span_store(span_store&&) noexcept;
  span_store& operator=(span_store&&) noexcept;
  span_store(const span_store&) = delete;
  span_store& operator=(const span_store&) = delete;

  /// Appends `spans` in one COPY (all or nothing) and returns how many rows were written.
  /// Empty optional fields become NULL; JSON text that does not parse is stored as a JSON
  /// string so one bad payload cannot fail the batch.
  caf::expected<uint64_t> copy(const std::vector<bedbank::span_record>& spans);

  /// The spans of `q.trace_id` ordered by start (at most `max_trace_spans`), only those of
  /// `q.agent_id` unless it is empty.
  caf::expected<std::vector<bedbank::span_record>> trace(const bedbank::trace_query& q);

  // -- reports and the archive ------------------------------------------------------

  /// The spans of `trace_ids` (only `agent_id`'s unless empty) ordered by start, at most
  /// `max_trace_spans`, then the archive watermark.
  caf::expected<hot_read> spans_of_traces(const std::vector<std::string>& trace_ids,
                                          const std::string& agent_id);

  /// In one query: the spans of every trace with a span related to (`related_type`,
  /// `related_id`) and of `more_traces` (only `agent_id`'s unless empty), ordered by start, at
  /// most `max_trace_spans`; then the archive watermark.
  caf::expected<hot_read> spans_of_related(const std::string& related_type,
                                           const std::string& related_id,
                                           const std::vector<std::string>& more_traces,
                                           const std::string& agent_id);

  /// Traces with a span related to (`related_type`, one of `related_ids`) created in
  /// [from_us, to_us) (0: unbounded), only `agent_id`'s unless empty, newest first, at most
  /// `limit`.
  caf::expected<std::vector<related_trace>> related(const std::string& related_type,
                                                    const std::vector<std::string>& related_ids,
                                                    int64_t from_us, int64_t to_us,
                                                    const std::string& agent_id, int limit);

  /// Ids of the orders of platform hotel `hotel_id` created before `to_us` and changed at or
  /// after `from_us` (only `agent_id`'s unless empty), newest change first, at most `limit`.
  caf::expected<std::vector<std::string>> hotel_orders(const std::string& hotel_id, int64_t from_us,
                                                       int64_t to_us, const std::string& agent_id,
                                                       int limit);

  /// Where an archive batch ended: its last span's created_at and id (batches are taken in
  /// (created_at, id) order).
  struct archive_key {
    int64_t created_us = 0;
    int64_t id = 0;
  };

  /// The oldest spans created before `cutoff_us`, at most `limit`, oldest first: the next
  /// batch for the archive; with `after`, the batch after the one ending there (a keyset read,
  /// so it may run before that batch is deleted).
  caf::expected<std::vector<stored_span>>
  archive_batch(int64_t cutoff_us, int limit, std::optional<archive_key> after = std::nullopt);

  /// Deletes the archived spans `ids` and raises the archive watermark to `through_us`, in one
  /// transaction; returns how many rows were deleted.
  caf::expected<uint64_t> remove_archived(const std::vector<int64_t>& ids, int64_t through_us);

  /// The archive watermark: the newest created_at ever archived, 0 when nothing was.
  caf::expected<int64_t> archived_through();

  /// Runs `SELECT 1` and reports the round trip as dependency "postgresql".
  bedbank::dependency_health ping();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::persistence
