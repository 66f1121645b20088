// stored_span: a span as the hot (PostgreSQL) and cold (ClickHouse) stores hold it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocols/messages.hpp"

namespace bedbank::persistence {

/// A span as stored: the record, its PostgreSQL `trace_events.id` (the archive's identity:
/// one id is one span, whichever store holds it) and its `created_at` in microseconds.
struct stored_span {
  bedbank::span_record span;
  int64_t id = 0;
  int64_t created_us = 0;
};

/// Spans read from PostgreSQL, and the archive watermark read after them in the same
/// transaction: a span missing from `spans` because the archiver moved it is older than
/// `watermark_us` (the watermark rises in the transaction that deletes the span).
struct hot_read {
  std::vector<stored_span> spans;
  int64_t watermark_us = 0; ///< 0: nothing was ever archived
};

/// A trace found through a related object, with its earliest matching span start.
struct related_trace {
  std::string trace_id;
  int64_t started_us = 0;
};

} // namespace bedbank::persistence
