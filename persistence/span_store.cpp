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

/// One trace, optionally one agent's spans of it; NULLs read back as empty strings.
constexpr const char* sql_select_trace =
    "SELECT trace_id, span_id, COALESCE(parent_span_id, ''), event_type, service, "
    "COALESCE(related_type, ''), COALESCE(related_id, ''), COALESCE(request_data::text, ''), "
    "COALESCE(response_data::text, ''), "
    "(EXTRACT(EPOCH FROM COALESCE(started_at, created_at)) * 1000000)::BIGINT, "
    "COALESCE(duration_us, duration_ms::BIGINT * 1000, 0), status, COALESCE(error_detail, ''), "
    "COALESCE(agent_id, ''), COALESCE(node, '') "
    "FROM trace_events WHERE trace_id = $1 AND ($2 = '' OR agent_id = $2) "
    "ORDER BY COALESCE(started_at, created_at), id LIMIT $3";

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

int64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

} // namespace

struct span_store::impl {
  std::string conninfo;
  std::unique_ptr<pqxx::connection> conn;

  /// The open connection, (re)connecting first when there is none.
  pqxx::connection& connection() {
    if (conn && !conn->is_open())
      conn.reset();
    if (!conn)
      conn = std::make_unique<pqxx::connection>(conninfo);
    return *conn;
  }

  /// Opens a transaction; when an existing connection turns out broken at BEGIN (server
  /// restart, killed backend), nothing has been sent yet, so it reconnects and tries once more.
  template <class Transaction> std::unique_ptr<Transaction> begin(const char* name) {
    bool had_connection = static_cast<bool>(conn);
    try {
      return std::make_unique<Transaction>(connection(), name);
    } catch (const pqxx::broken_connection&) {
      conn.reset();
      if (!had_connection)
        throw;
    }
    return std::make_unique<Transaction>(connection(), name);
  }

  /// Turns the exception in flight into an error; forgets a broken connection.
  caf::error fail(const std::string& what) {
    std::string reason;
    try {
      throw;
    } catch (const pqxx::broken_connection& e) {
      conn.reset();
      reason = e.what();
    } catch (const std::exception& e) {
      reason = e.what();
    } catch (...) {
      reason = "unknown exception";
    }
    try {
      if (conn && !conn->is_open())
        conn.reset();
    } catch (...) {
      conn.reset();
    }
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
      reason.pop_back();
    return make_error(ec::storage_unavailable, what + ": " + reason);
  }
};

span_store::span_store(std::string conninfo) : impl_(std::make_unique<impl>()) {
  impl_->conninfo = std::move(conninfo);
}

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
    auto rows = txn->exec_params(sql_select_trace, q.trace_id, q.agent_id,
                                 static_cast<int64_t>(max_trace_spans));
    std::vector<span_record> result;
    result.reserve(rows.size());
    for (const auto& row : rows) {
      span_record x;
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
      result.push_back(std::move(x));
    }
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("reading trace " + q.trace_id + " failed");
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
