// span_store: the journal's PostgreSQL side. Batches of spans go into `trace_events` through
// COPY; traces are read back ordered by start. Not thread-safe: one actor owns one store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

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

  /// Runs `SELECT 1` and reports the round trip as dependency "postgresql".
  bedbank::dependency_health ping();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::persistence
