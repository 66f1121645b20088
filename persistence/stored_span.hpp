// stored_span: a span as the hot (PostgreSQL) and cold (ClickHouse) stores hold it.
#pragma once

#include <cstdint>
#include <string>

#include "protocols/messages.hpp"

namespace bedbank::persistence {

/// A span as stored: the record, its PostgreSQL `trace_events.id` (the archive's identity:
/// one id is one span, whichever store holds it) and its `created_at` in microseconds.
struct stored_span {
  bedbank::span_record span;
  int64_t id = 0;
  int64_t created_us = 0;
};

/// A trace found through a related object, with its earliest matching span start.
struct related_trace {
  std::string trace_id;
  int64_t started_us = 0;
};

} // namespace bedbank::persistence
