// span_store: COPY of span batches into trace_events and ordered trace reads (libpqxx 6.4).
#include "persistence/span_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "persistence/pg_session.hpp"

#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

constexpr const char* table_name = "trace_events";
constexpr const char* dependency_name = "postgresql";

/// Column order of the COPY rows built by `to_row`.
const std::vector<std::string> copy_columns{
    "trace_id",   "span_id",      "parent_span_id", "event_type",  "service", "related_type",
    "related_id", "request_data", "response_data",  "duration_ms", "status",  "error_detail",
    "created_at", "started_at",   "duration_us",    "agent_id",    "node"};

/// The columns of a span as `read_span` reads them (NULLs as empty strings), then the row id
/// and created_at in microseconds.
#define BEDBANK_SPAN_COLUMNS                                                                       \
  "trace_id, span_id, COALESCE(parent_span_id, ''), event_type, service, "                         \
  "COALESCE(related_type, ''), COALESCE(related_id, ''), COALESCE(request_data::text, ''), "       \
  "COALESCE(response_data::text, ''), "                                                            \
  "(EXTRACT(EPOCH FROM COALESCE(started_at, created_at)) * 1000000)::BIGINT, "                     \
  "COALESCE(duration_us, duration_ms::BIGINT * 1000, 0), status, COALESCE(error_detail, ''), "     \
  "COALESCE(agent_id, ''), COALESCE(node, ''), id, "                                               \
  "(EXTRACT(EPOCH FROM created_at) * 1000000)::BIGINT "

/// One trace, optionally one agent's spans of it.
constexpr const char* sql_select_trace =
    "SELECT " BEDBANK_SPAN_COLUMNS
    "FROM trace_events WHERE trace_id = $1 AND ($2 = '' OR agent_id = $2) "
    "ORDER BY COALESCE(started_at, created_at), id LIMIT $3";

/// Several traces ($1 a text[] literal), optionally one agent's spans of them.
constexpr const char* sql_select_traces =
    "SELECT " BEDBANK_SPAN_COLUMNS
    "FROM trace_events WHERE trace_id = ANY($1::text[]) AND ($2 = '' OR agent_id = $2) "
    "ORDER BY COALESCE(started_at, created_at), id LIMIT $3";

/// Every trace related to one object ($1, $2) or listed in $3 (a text[] literal).
constexpr const char* sql_select_related_spans =
    "SELECT " BEDBANK_SPAN_COLUMNS "FROM trace_events WHERE trace_id IN ("
    "SELECT trace_id FROM trace_events WHERE related_type = $1 AND related_id = $2 "
    "AND ($4 = '' OR agent_id = $4) UNION SELECT unnest($3::text[])) "
    "AND ($4 = '' OR agent_id = $4) "
    "ORDER BY COALESCE(started_at, created_at), id LIMIT $5";

/// Traces touching related objects ($2 a text[] literal) in a created_at window (microseconds;
/// the bounds are always given), newest first.
constexpr const char* sql_select_related =
    "SELECT trace_id, (EXTRACT(EPOCH FROM MIN(COALESCE(started_at, created_at))) * "
    "1000000)::BIGINT "
    "AS first_us FROM trace_events "
    "WHERE related_type = $1 AND related_id = ANY($2::text[]) "
    "AND created_at >= to_timestamp($3::BIGINT / 1000000.0) "
    "AND created_at < to_timestamp($4::BIGINT / 1000000.0) AND ($5 = '' OR agent_id = $5) "
    "GROUP BY trace_id ORDER BY first_us DESC LIMIT $6";

constexpr const char* sql_select_hotel_orders =
    "SELECT order_id FROM orders WHERE hotel_id = $1 "
    "AND created_at < to_timestamp($3::BIGINT / 1000000.0) "
    "AND updated_at >= to_timestamp($2::BIGINT / 1000000.0) AND ($4 = '' OR agent_id = $4) "
    "ORDER BY updated_at DESC LIMIT $5";

/// The next archive batch: the oldest spans before the cutoff (idx_trace_created).
constexpr const char* sql_select_archive_batch =
    "SELECT " BEDBANK_SPAN_COLUMNS
    "FROM trace_events WHERE created_at < to_timestamp($1::BIGINT / 1000000.0) "
    "ORDER BY created_at, id LIMIT $2";

// The batch after (created_at, id) = ($3 µs, $4): the instant is built exactly from its
// microseconds (to_timestamp takes a double).
constexpr const char* sql_select_archive_batch_after =
    "SELECT " BEDBANK_SPAN_COLUMNS
    "FROM trace_events WHERE created_at < to_timestamp($1::BIGINT / 1000000.0) "
    "AND created_at >= TIMESTAMPTZ 'epoch' + $3::BIGINT * INTERVAL '1 microsecond' "
    "AND (created_at > TIMESTAMPTZ 'epoch' + $3::BIGINT * INTERVAL '1 microsecond' OR id > $4) "
    "ORDER BY created_at, id LIMIT $2";

constexpr const char* sql_delete_archived = "DELETE FROM trace_events WHERE id = ANY($1::bigint[])";

constexpr const char* sql_raise_watermark =
    "UPDATE trace_archive_state SET archived_through = GREATEST(COALESCE(archived_through, "
    "to_timestamp($1::BIGINT / 1000000.0)), to_timestamp($1::BIGINT / 1000000.0)), "
    "archived_rows = archived_rows + $2, updated_at = now() WHERE id = 1";

constexpr const char* sql_select_watermark =
    "SELECT COALESCE((EXTRACT(EPOCH FROM archived_through) * 1000000)::BIGINT, 0) "
    "FROM trace_archive_state WHERE id = 1";

#undef BEDBANK_SPAN_COLUMNS

constexpr const char* sql_ping = "SELECT 1";

// Column widths of trace_events (VARCHAR(n)).
constexpr size_t id_width = 64;
constexpr size_t service_width = 32;
constexpr size_t related_type_width = 32;
constexpr size_t status_width = 16;

using opt_text = std::optional<std::string>;

/// `s` cut to at most `n` bytes (hence characters) without splitting a UTF-8 sequence.
std::string clip(const std::string& s, size_t n) {
  if (s.size() <= n)
    return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n);
}

opt_text null_if_empty(const std::string& s, size_t width = 0) {
  if (s.empty())
    return std::nullopt;
  return width == 0 ? s : clip(s, width);
}

/// JSON text for a JSONB column: NULL when empty, a JSON string when it does not parse.
opt_text json_or_null(const std::string& s) {
  if (s.empty())
    return std::nullopt;
  if (nlohmann::json::accept(s))
    return s;
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Microseconds since the epoch as a timestamptz literal in UTC.
std::string timestamp_literal(int64_t us) {
  constexpr int64_t per_second = 1'000'000;
  auto secs = us / per_second;
  auto frac = us % per_second;
  if (frac < 0) {
    frac += per_second;
    --secs;
  }
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

/// Microseconds rounded to whole milliseconds, clamped to INT.
int32_t rounded_ms(int64_t us) {
  auto ms = (us >= 0 ? us + 500 : us - 500) / 1000;
  ms = std::clamp<int64_t>(ms, std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max());
  return static_cast<int32_t>(ms);
}

auto to_row(const span_record& x) {
  auto start = timestamp_literal(x.started_us);
  return std::make_tuple(
      clip(x.trace_id, id_width), clip(x.span_id, id_width),
      null_if_empty(x.parent_span_id, id_width), clip(x.event_type, id_width),
      clip(x.service, service_width), null_if_empty(x.related_type, related_type_width),
      null_if_empty(x.related_id, id_width), json_or_null(x.request_data),
      json_or_null(x.response_data), rounded_ms(x.duration_us), clip(x.status, status_width),
      null_if_empty(x.error_detail), start, start, x.duration_us,
      null_if_empty(x.agent_id, id_width), null_if_empty(x.node, id_width));
}

/// Far enough in the future to stand for "no upper bound" (year 2200).
constexpr int64_t unbounded_us = 7'258'118'400'000'000;

/// A span row of BEDBANK_SPAN_COLUMNS.
stored_span read_span(const pqxx::row& row) {
  stored_span out;
  auto& x = out.span;
  x.trace_id = row[0].as<std::string>();
  x.span_id = row[1].as<std::string>();
  x.parent_span_id = row[2].as<std::string>();
  x.event_type = row[3].as<std::string>();
  x.service = row[4].as<std::string>();
  x.related_type = row[5].as<std::string>();
  x.related_id = row[6].as<std::string>();
  x.request_data = row[7].as<std::string>();
  x.response_data = row[8].as<std::string>();
  x.started_us = row[9].as<int64_t>();
  x.duration_us = row[10].as<int64_t>();
  x.status = row[11].as<std::string>();
  x.error_detail = row[12].as<std::string>();
  x.agent_id = row[13].as<std::string>();
  x.node = row[14].as<std::string>();
  out.id = row[15].as<int64_t>();
  out.created_us = row[16].as<int64_t>();
  return out;
}

/// A PostgreSQL text[] literal of `xs` (every element quoted and escaped).
std::string text_array(const std::vector<std::string>& xs) {
  std::string out = "{";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    out += '"';
    for (char c : xs[i]) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

int64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

} // namespace

struct span_store::impl : pg_session {
  // Report statements are cheap to run and costly to plan; one generic plan per connection.
  explicit impl(std::string conninfo)
      : pg_session(std::move(conninfo), [](pqxx::connection& c) {
          c.set_variable("plan_cache_mode", "force_generic_plan");
        }) {}
};

span_store::span_store(std::string conninfo) : impl_(std::make_unique<impl>(std::move(conninfo))) {}

span_store::~span_store() = default;
span_store::span_store(span_store&&) noexcept = default;
span_store& span_store::operator=(span_store&&) noexcept = default;

caf::expected<uint64_t> span_store::copy(const std::vector<span_record>& spans) {
  if (spans.empty())
    return uint64_t{0};
  try {
    auto txn = impl_->begin<pqxx::work>("span_copy");
    pqxx::stream_to stream{*txn, table_name, copy_columns};
    for (const auto& x : spans)
      stream << to_row(x);
    stream.complete();
    txn->commit();
    return static_cast<uint64_t>(spans.size());
  } catch (...) {
    return impl_->fail("writing " + std::to_string(spans.size()) + " spans failed");
  }
}

caf::expected<std::vector<span_record>> span_store::trace(const trace_query& q) {
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("span_trace");
    auto rows = impl_->run(*txn, sql_select_trace, q.trace_id, q.agent_id,
                           static_cast<int64_t>(max_trace_spans));
    std::vector<span_record> result;
    result.reserve(rows.size());
    for (const auto& row : rows)
      result.push_back(read_span(row).span);
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("reading trace " + q.trace_id + " failed");
  }
}

caf::expected<hot_read> span_store::spans_of_traces(const std::vector<std::string>& trace_ids,
                                                    const std::string& agent_id) {
  hot_read result;
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("span_traces");
    if (!trace_ids.empty()) {
      auto rows = impl_->run(*txn, sql_select_traces, text_array(trace_ids), agent_id,
                             static_cast<int64_t>(max_trace_spans));
      result.spans.reserve(rows.size());
      for (const auto& row : rows)
        result.spans.push_back(read_span(row));
    }
    auto mark = impl_->run(*txn, sql_select_watermark);
    result.watermark_us = mark.empty() ? 0 : mark[0][0].as<int64_t>();
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("reading " + std::to_string(trace_ids.size()) + " traces failed");
  }
}

caf::expected<hot_read> span_store::spans_of_related(const std::string& related_type,
                                                     const std::string& related_id,
                                                     const std::vector<std::string>& more_traces,
                                                     const std::string& agent_id) {
  hot_read result;
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("span_related_spans");
    auto rows =
        impl_->run(*txn, sql_select_related_spans, related_type, related_id,
                   text_array(more_traces), agent_id, static_cast<int64_t>(max_trace_spans));
    result.spans.reserve(rows.size());
    for (const auto& row : rows)
      result.spans.push_back(read_span(row));
    auto mark = impl_->run(*txn, sql_select_watermark);
    result.watermark_us = mark.empty() ? 0 : mark[0][0].as<int64_t>();
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("reading the traces of " + related_type + " " + related_id + " failed");
  }
}

caf::expected<std::vector<related_trace>>
span_store::related(const std::string& related_type, const std::vector<std::string>& related_ids,
                    int64_t from_us, int64_t to_us, const std::string& agent_id, int limit) {
  std::vector<related_trace> result;
  if (related_ids.empty() || limit <= 0)
    return result;
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("span_related");
    auto rows = impl_->run(*txn, sql_select_related, related_type, text_array(related_ids), from_us,
                           to_us > 0 ? to_us : unbounded_us, agent_id, limit);
    for (const auto& row : rows)
      result.push_back({row[0].as<std::string>(), row[1].as<int64_t>()});
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("looking up the traces of " + related_type + " failed");
  }
}

caf::expected<std::vector<std::string>> span_store::hotel_orders(const std::string& hotel_id,
                                                                 int64_t from_us, int64_t to_us,
                                                                 const std::string& agent_id,
                                                                 int limit) {
  std::vector<std::string> result;
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("span_hotel_orders");
    auto rows = impl_->run(*txn, sql_select_hotel_orders, hotel_id, from_us,
                           to_us > 0 ? to_us : unbounded_us, agent_id, limit);
    for (const auto& row : rows)
      result.push_back(row[0].as<std::string>());
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("looking up the orders of hotel " + hotel_id + " failed");
  }
}

caf::expected<std::vector<stored_span>>
span_store::archive_batch(int64_t cutoff_us, int limit, std::optional<archive_key> after) {
  std::vector<stored_span> result;
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("span_archive_batch");
    auto rows = after ? impl_->run(*txn, sql_select_archive_batch_after, cutoff_us, limit,
                                   after->created_us, after->id)
                      : impl_->run(*txn, sql_select_archive_batch, cutoff_us, limit);
    result.reserve(rows.size());
    for (const auto& row : rows)
      result.push_back(read_span(row));
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("reading spans to archive failed");
  }
}

caf::expected<uint64_t> span_store::remove_archived(const std::vector<int64_t>& ids,
                                                    int64_t through_us) {
  if (ids.empty())
    return uint64_t{0};
  std::string list = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0)
      list += ',';
    list += std::to_string(ids[i]);
  }
  list += '}';
  try {
    auto txn = impl_->begin<pqxx::work>("span_remove_archived");
    auto deleted = impl_->run(*txn, sql_delete_archived, list).affected_rows();
    impl_->run(*txn, sql_raise_watermark, through_us, static_cast<int64_t>(deleted));
    txn->commit();
    return static_cast<uint64_t>(deleted);
  } catch (...) {
    return impl_->fail("deleting " + std::to_string(ids.size()) + " archived spans failed");
  }
}

caf::expected<int64_t> span_store::archived_through() {
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("span_watermark");
    auto rows = impl_->run(*txn, sql_select_watermark);
    txn->commit();
    return rows.empty() ? int64_t{0} : rows[0][0].as<int64_t>();
  } catch (...) {
    return impl_->fail("reading the archive watermark failed");
  }
}

dependency_health span_store::ping() {
  dependency_health h;
  h.name = dependency_name;
  auto t0 = std::chrono::steady_clock::now();
  try {
    auto txn = impl_->begin<pqxx::nontransaction>("span_ping");
    txn->exec(sql_ping);
    h.ok = true;
  } catch (...) {
    h.message = message_of(impl_->fail("ping failed"));
  }
  h.latency_us = micros_since(t0);
  return h;
}

} // namespace bedbank::persistence
