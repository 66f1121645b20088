// span_archive: trace_events in ClickHouse 18.16 — DDL, JSONEachRow inserts written by hand
// (the archive's hot path), TabSeparated reads, partition drops.
//
// Two tables: `trace_events` (ordered by trace id, read by `spans_of_traces`) and
// `trace_related` (ordered by related object then start, read by `related`), the latter filled
// by the materialized view `trace_related_mv TO trace_related`, so an insert writes one table.
// An interrupted archive run may insert the same id twice (MergeTree does not deduplicate):
// reads keep one row per id (`LIMIT 1 BY id`), counts use `uniqExact(id)`.
#include "persistence/span_archive.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <exception>
#include <limits>
#include <string_view>

#include "domain/dates.hpp"
#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

constexpr const char* events_table = "trace_events";
constexpr const char* related_table = "trace_related";
constexpr const char* related_view = "trace_related_mv";

constexpr int64_t us_per_day = 86'400'000'000;

/// ClickHouse's default `max_query_size`: longer queries (e.g. `present` with 10 000+ ids in
/// the POST body) raise it for that query alone.
constexpr size_t default_max_query_size = 262'144;
constexpr size_t max_query_size_margin = 1024;

/// `related` prunes partitions below the window's first day minus this many days: a span is
/// created (its `day`) when it ends, never before it started, so one day absorbs clock skew.
constexpr int32_t related_day_margin = 1;

/// Columns of trace_events as the DDL creates them.
constexpr const char* events_columns =
    "(day Date, id UInt64, trace_id String, span_id String, parent_span_id String, "
    "event_type String, service String, related_type String, related_id String, "
    "request_data String, response_data String, started_us Int64, duration_us Int64, "
    "status String, error_detail String, agent_id String, node String, created_us Int64)";

/// Columns of trace_related, in the order the view selects them.
constexpr const char* related_columns =
    "(day Date, related_type String, related_id String, trace_id String, started_us Int64, "
    "agent_id String, id UInt64)";
constexpr const char* related_select =
    "day, related_type, related_id, trace_id, started_us, agent_id, id";

/// Columns `spans_of_traces` reads, in the order it parses them.
constexpr const char* span_columns =
    "id, created_us, trace_id, span_id, parent_span_id, event_type, service, related_type, "
    "related_id, request_data, response_data, started_us, duration_us, status, error_detail, "
    "agent_id, node";
constexpr size_t span_column_count = 17;

/// Bytes of a JSONEachRow row besides its strings' contents (keys, quotes, numbers, date).
constexpr size_t row_overhead_bytes = 400;
/// The body's first estimate allows escapes to add 1/4 of the strings' bytes.
constexpr size_t escape_allowance_divisor = 4;

// -- SQL text -----------------------------------------------------------------------

/// `s` as a ClickHouse string literal.
std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  for (char c : s) {
    switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '\'':
      out += "\\'";
      break;
    case '\0':
      out += "\\0";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += c;
    }
  }
  out += '\'';
  return out;
}

/// `s` as a back-quoted ClickHouse identifier.
std::string identifier(std::string_view s) {
  std::string out = "`";
  for (char c : s) {
    if (c == '`' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '`';
  return out;
}

/// `name` qualified with the client's database (unqualified for the server's default).
std::string table_of(const clickhouse_client& client, const std::string& name) {
  if (client.database().empty())
    return identifier(name);
  return identifier(client.database()) + "." + identifier(name);
}

/// `xs` as a list of string literals, e.g. `'a', 'b'`.
std::string quoted_list(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty())
      out += ", ";
    out += quoted(x);
  }
  return out;
}

template <class Int> void append_int(std::string& out, Int x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, res.ptr);
}

/// The UTC day of an instant in microseconds (rounding down before the epoch too).
domain::day day_of(int64_t us) {
  auto d = us / us_per_day;
  if (us % us_per_day < 0)
    --d;
  return static_cast<domain::day>(d);
}

/// `d` as the YYYYMMDD partition id of `toYYYYMMDD(day)`.
std::string partition_id(domain::day d) {
  auto text = domain::format_date(d);
  text.erase(std::remove(text.begin(), text.end(), '-'), text.end());
  return text;
}

// -- JSONEachRow writer -------------------------------------------------------------

/// How `escape_json` treats a byte.
enum byte_kind : uint8_t {
  plain,     ///< copied as is
  escaped,   ///< `"`, `\` and control characters
  multibyte, ///< starts (or continues) a UTF-8 sequence: validated
};

constexpr std::array<uint8_t, 256> byte_kinds = [] {
  std::array<uint8_t, 256> kinds{};
  for (size_t c = 0; c < kinds.size(); ++c)
    kinds[c] = c < 0x20 || c == '"' || c == '\\' ? escaped : c >= 0x80 ? multibyte : plain;
  return kinds;
}();

/// U+FFFD, replacing ill-formed UTF-8.
constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

/// Most bytes one input byte becomes (a control character as \u00xx).
constexpr size_t max_escape_growth = 6;

/// The length of the well-formed UTF-8 sequence at `p` (its lead byte >= 0x80, `avail` > 0
/// bytes readable), or 0 when it is ill-formed, with `bad` set to the length of its maximal
/// ill-formed prefix (at least 1), which one U+FFFD replaces.
size_t utf8_sequence(const unsigned char* p, size_t avail, size_t& bad) {
  unsigned char lead = p[0];
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  size_t len = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead == 0xE0) {
    len = 3;
    lo = 0xA0;
  } else if (lead == 0xED) {
    len = 3;
    hi = 0x9F; // no surrogates
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    len = 3;
  } else if (lead == 0xF0) {
    len = 4;
    lo = 0x90;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    len = 4;
  } else if (lead == 0xF4) {
    len = 4;
    hi = 0x8F; // at most U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (k >= avail || p[k] < lo || p[k] > hi) {
      bad = k;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return len;
}

/// Whether any of the 8 bytes in `x` is not `plain` (never wrong when it says no).
constexpr bool needs_attention(uint64_t x) {
  constexpr uint64_t ones = 0x0101010101010101;
  constexpr uint64_t highs = 0x8080808080808080;
  auto has_zero = [](uint64_t v) { return (v - ones) & ~v & highs; };
  auto has_less = [](uint64_t v, uint64_t n) { return (v - ones * n) & ~v & highs; };
  return ((x & highs) | has_less(x, 0x20) | has_zero(x ^ (ones * '"')) |
          has_zero(x ^ (ones * '\\'))) != 0;
}

/// Writes `s` as the inside of a JSON string at `w` (room for `max_escape_growth` bytes per
/// input byte) exactly as `nlohmann::json(s).dump(-1, ' ', false, error_handler_t::replace)`
/// writes it: `"`, `\` and \b \f \n \r \t escaped, other control characters as \u00xx, UTF-8
/// as is, each maximal ill-formed UTF-8 subsequence replaced by U+FFFD. Returns the end.
char* escape_json(char* w, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  constexpr size_t word = sizeof(uint64_t);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // Plain ASCII eight bytes at a time.
    while (static_cast<size_t>(end - p) >= word) {
      uint64_t x;
      std::memcpy(&x, p, word);
      if (needs_attention(x))
        break;
      std::memcpy(w, p, word);
      w += word;
      p += word;
    }
    if (p == end)
      break;
    unsigned char c = *p;
    switch (byte_kinds[c]) {
    case plain:
      *w++ = static_cast<char>(c);
      ++p;
      break;
    case multibyte: {
      size_t bad = 0;
      if (auto len = utf8_sequence(p, static_cast<size_t>(end - p), bad); len > 0) {
        std::memcpy(w, p, len);
        w += len;
        p += len;
      } else {
        std::memcpy(w, replacement_character.data(), replacement_character.size());
        w += replacement_character.size();
        p += bad;
      }
      break;
    }
    default: {
      *w++ = '\\';
      switch (c) {
      case '"':
      case '\\':
        *w++ = static_cast<char>(c);
        break;
      case '\b':
        *w++ = 'b';
        break;
      case '\f':
        *w++ = 'f';
        break;
      case '\n':
        *w++ = 'n';
        break;
      case '\r':
        *w++ = 'r';
        break;
      case '\t':
        *w++ = 't';
        break;
      default:
        std::memcpy(w, "u00", 3);
        w += 3;
        *w++ = hex[c >> 4];
        *w++ = hex[c & 0x0F];
      }
      ++p;
    }
    }
  }
  return w;
}

/// A JSONEachRow body: a buffer written through a raw pointer after one capacity check per
/// piece. Grows (rarely: it starts at an estimate of the whole body) by doubling.
class rows_writer {
public:
  explicit rows_writer(size_t capacity) { buf_.resize(capacity); }

  void raw(std::string_view s) {
    auto* w = room(s.size());
    std::memcpy(w, s.data(), s.size());
    len_ += s.size();
  }

  template <class Int> void integer(Int x) {
    constexpr size_t max_digits = 24;
    auto* w = room(max_digits);
    len_ = static_cast<size_t>(std::to_chars(w, w + max_digits, x).ptr - buf_.data());
  }

  /// `s` as a JSON string, quotes included (see escape_json).
  void string(std::string_view s) {
    auto* w = room(s.size() * max_escape_growth + 2);
    *w++ = '"';
    w = escape_json(w, s);
    *w++ = '"';
    len_ = static_cast<size_t>(w - buf_.data());
  }

  std::string take() && {
    buf_.resize(len_);
    return std::move(buf_);
  }

private:
  /// Where the next `n` bytes go.
  char* room(size_t n) {
    if (buf_.size() - len_ < n)
      buf_.resize(std::max(buf_.size() * 2, len_ + n));
    return buf_.data() + len_;
  }

  std::string buf_;
  size_t len_ = 0;
};

/// One JSONEachRow line of trace_events; `day` is the `YYYY-MM-DD` of `s.created_us`.
void write_row(rows_writer& out, const stored_span& s, std::string_view day) {
  using namespace std::string_view_literals;
  const auto& x = s.span;
  out.raw(R"({"day":")"sv);
  out.raw(day);
  out.raw(R"(","id":)"sv);
  out.integer(static_cast<uint64_t>(s.id));
  out.raw(R"(,"trace_id":)"sv);
  out.string(x.trace_id);
  out.raw(R"(,"span_id":)"sv);
  out.string(x.span_id);
  out.raw(R"(,"parent_span_id":)"sv);
  out.string(x.parent_span_id);
  out.raw(R"(,"event_type":)"sv);
  out.string(x.event_type);
  out.raw(R"(,"service":)"sv);
  out.string(x.service);
  out.raw(R"(,"related_type":)"sv);
  out.string(x.related_type);
  out.raw(R"(,"related_id":)"sv);
  out.string(x.related_id);
  out.raw(R"(,"request_data":)"sv);
  out.string(x.request_data);
  out.raw(R"(,"response_data":)"sv);
  out.string(x.response_data);
  out.raw(R"(,"started_us":)"sv);
  out.integer(x.started_us);
  out.raw(R"(,"duration_us":)"sv);
  out.integer(x.duration_us);
  out.raw(R"(,"status":)"sv);
  out.string(x.status);
  out.raw(R"(,"error_detail":)"sv);
  out.string(x.error_detail);
  out.raw(R"(,"agent_id":)"sv);
  out.string(x.agent_id);
  out.raw(R"(,"node":)"sv);
  out.string(x.node);
  out.raw(R"(,"created_us":)"sv);
  out.integer(s.created_us);
  out.raw("}\n"sv);
}

size_t text_bytes(const stored_span& s) {
  const auto& x = s.span;
  return x.trace_id.size() + x.span_id.size() + x.parent_span_id.size() + x.event_type.size() +
         x.service.size() + x.related_type.size() + x.related_id.size() + x.request_data.size() +
         x.response_data.size() + x.status.size() + x.error_detail.size() + x.agent_id.size() +
         x.node.size();
}

/// The JSONEachRow body of `spans`, `day` being each one's created_at UTC day.
std::string json_rows(const std::vector<stored_span>& spans) {
  size_t bytes = 0;
  for (const auto& s : spans)
    bytes += text_bytes(s);
  // Escapes (JSON text inside JSON strings) add some; the buffer doubles if that was short.
  rows_writer out{bytes + bytes / escape_allowance_divisor + spans.size() * row_overhead_bytes};
  // Spans of one batch share few days: format each once.
  auto last_day = std::numeric_limits<int64_t>::min();
  std::string day_text;
  for (const auto& s : spans) {
    auto d = day_of(s.created_us);
    if (d != last_day) {
      last_day = d;
      day_text = domain::format_date(d);
    }
    write_row(out, s, day_text);
  }
  return std::move(out).take();
}

// -- TabSeparated reader ------------------------------------------------------------

/// The fields of one TabSeparated line, unescaped (ClickHouse writes \b \f \n \r \t \0 \\ \'
/// and leaves every other byte as is).
void split_row(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  fields.emplace_back();
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\t') {
      fields.emplace_back();
      continue;
    }
    if (c == '\\' && i + 1 < line.size()) {
      c = line[++i];
      switch (c) {
      case 'b':
        c = '\b';
        break;
      case 'f':
        c = '\f';
        break;
      case 'n':
        c = '\n';
        break;
      case 'r':
        c = '\r';
        break;
      case 't':
        c = '\t';
        break;
      case '0':
        c = '\0';
        break;
      case 'a':
        c = '\a';
        break;
      case 'v':
        c = '\v';
        break;
      default:
        break; // \\, \' and any other escaped byte stand for themselves
      }
    }
    fields.back() += c;
  }
}

/// Calls `f(fields)` for each line of a TabSeparated answer; stops at and returns false on
/// the first line `f` rejects.
template <class F> bool for_each_row(const std::string& body, F f) {
  std::vector<std::string> fields;
  std::string_view rest{body};
  while (!rest.empty()) {
    auto end = rest.find('\n');
    auto line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    split_row(line, fields);
    if (!f(fields))
      return false;
  }
  return true;
}

template <class Int> bool parse_int(const std::string& s, Int& out) {
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc{} && res.ptr == s.data() + s.size();
}

// -- calls --------------------------------------------------------------------------

caf::error failure(const char* what, const std::string& detail) {
  return make_error(ec::storage_unavailable,
                    std::string{"clickhouse archive: "} + what + ": " + detail);
}

caf::error failure(const char* what, const caf::error& err) {
  return failure(what, message_of(err));
}

/// Runs `sql` (POSTed), raising `max_query_size` for long queries.
caf::expected<std::string> run(clickhouse_client& client, const std::string& sql) {
  clickhouse_client::settings_map settings;
  if (sql.size() + max_query_size_margin > default_max_query_size)
    settings.emplace("max_query_size", std::to_string(sql.size() + max_query_size_margin));
  return client.query(sql, settings);
}

/// `f()`, with an exception (e.g. std::bad_alloc) turned into an error of `what`.
template <class F> auto guarded(const char* what, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return failure(what, e.what());
  }
}

} // namespace

span_archive::span_archive(clickhouse_client client) : client_(std::move(client)) {
  // nop
}

caf::error span_archive::ensure_schema() {
  return guarded("ensure_schema", [&]() -> caf::error {
    const auto& db = client_.database();
    if (!db.empty()) {
      auto server = client_.with_database({});
      if (auto res = server.query("CREATE DATABASE IF NOT EXISTS " + identifier(db)); !res)
        return failure("create database", res.error());
    }
    auto events = table_of(client_, events_table);
    auto related = table_of(client_, related_table);
    const std::string statements[] = {
        "CREATE TABLE IF NOT EXISTS " + events + " " + events_columns +
            " ENGINE = MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY (trace_id, id)",
        "CREATE TABLE IF NOT EXISTS " + related + " " + related_columns +
            " ENGINE = MergeTree PARTITION BY toYYYYMMDD(day) "
            "ORDER BY (related_type, related_id, started_us)",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS " + table_of(client_, related_view) + " TO " +
            related + " AS SELECT " + related_select + " FROM " + events +
            " WHERE related_type != ''",
    };
    for (const auto& sql : statements)
      if (auto res = client_.query(sql); !res)
        return failure("create table", res.error());
    return caf::none;
  });
}

caf::expected<std::vector<int64_t>> span_archive::present(const std::vector<int64_t>& ids,
                                                          int64_t min_created_us,
                                                          int64_t max_created_us) {
  return guarded("present", [&]() -> caf::expected<std::vector<int64_t>> {
    std::vector<int64_t> found;
    // One array literal parses as one AST node and builds the IN set fast; a plain IN list
    // of 10 000+ literals is slow to parse and trips max_ast_elements.
    std::string list;
    list.reserve(ids.size() * 12);
    for (auto id : ids) {
      if (id < 0)
        continue; // never stored (id is UInt64)
      if (!list.empty())
        list += ',';
      append_int(list, id);
    }
    if (list.empty())
      return found;
    auto sql = "SELECT DISTINCT id FROM " + table_of(client_, events_table) +
               " WHERE day BETWEEN " + quoted(domain::format_date(day_of(min_created_us))) +
               " AND " + quoted(domain::format_date(day_of(max_created_us))) +
               " AND id IN (SELECT arrayJoin(CAST([" + list +
               "] AS Array(UInt64)))) FORMAT TabSeparated";
    auto res = run(client_, sql);
    if (!res)
      return failure("present", res.error());
    bool ok = for_each_row(*res, [&](const std::vector<std::string>& f) {
      uint64_t id = 0;
      if (f.size() != 1 || !parse_int(f[0], id))
        return false;
      found.push_back(static_cast<int64_t>(id));
      return true;
    });
    if (!ok)
      return failure("present", "unexpected answer");
    std::sort(found.begin(), found.end());
    return found;
  });
}

caf::error span_archive::insert(const std::vector<stored_span>& spans) {
  return guarded("insert", [&]() -> caf::error {
    if (spans.empty())
      return caf::none;
    auto body = json_rows(spans);
    auto sql = "INSERT INTO " + table_of(client_, events_table) + " FORMAT JSONEachRow";
    if (auto res = client_.insert(sql, body); !res)
      return failure("insert", res.error());
    return caf::none;
  });
}

caf::expected<std::vector<stored_span>>
span_archive::spans_of_traces(const std::vector<std::string>& trace_ids,
                              const std::string& agent_id) {
  return guarded("spans_of_traces", [&]() -> caf::expected<std::vector<stored_span>> {
    std::vector<stored_span> spans;
    if (trace_ids.empty())
      return spans;
    auto sql = std::string{"SELECT "} + span_columns + " FROM " + table_of(client_, events_table) +
               " WHERE trace_id IN (" + quoted_list(trace_ids) + ")";
    if (!agent_id.empty())
      sql += " AND agent_id = " + quoted(agent_id);
    sql += " ORDER BY started_us, id LIMIT 1 BY id LIMIT " + std::to_string(max_spans) +
           " FORMAT TabSeparated";
    auto res = run(client_, sql);
    if (!res)
      return failure("spans_of_traces", res.error());
    bool ok = for_each_row(*res, [&](std::vector<std::string>& f) {
      if (f.size() != span_column_count)
        return false;
      stored_span s;
      auto& x = s.span;
      uint64_t id = 0;
      if (!parse_int(f[0], id) || !parse_int(f[1], s.created_us) ||
          !parse_int(f[11], x.started_us) || !parse_int(f[12], x.duration_us))
        return false;
      s.id = static_cast<int64_t>(id);
      x.trace_id = std::move(f[2]);
      x.span_id = std::move(f[3]);
      x.parent_span_id = std::move(f[4]);
      x.event_type = std::move(f[5]);
      x.service = std::move(f[6]);
      x.related_type = std::move(f[7]);
      x.related_id = std::move(f[8]);
      x.request_data = std::move(f[9]);
      x.response_data = std::move(f[10]);
      x.status = std::move(f[13]);
      x.error_detail = std::move(f[14]);
      x.agent_id = std::move(f[15]);
      x.node = std::move(f[16]);
      spans.push_back(std::move(s));
      return true;
    });
    if (!ok)
      return failure("spans_of_traces", "unexpected answer");
    return spans;
  });
}

caf::expected<std::vector<related_trace>>
span_archive::related(const std::string& related_type, const std::vector<std::string>& related_ids,
                      int64_t from_us, int64_t to_us, const std::string& agent_id, int limit) {
  return guarded("related", [&]() -> caf::expected<std::vector<related_trace>> {
    std::vector<related_trace> traces;
    if (related_ids.empty() || limit <= 0)
      return traces;
    // Only trace_related, through its primary key (related_type, related_id, started_us).
    auto sql = "SELECT trace_id, min(started_us) AS first_us FROM " +
               table_of(client_, related_table) + " WHERE related_type = " + quoted(related_type) +
               " AND related_id IN (" + quoted_list(related_ids) + ")";
    if (from_us != 0)
      sql += " AND started_us >= " + std::to_string(from_us) + " AND day >= " +
             quoted(domain::format_date(std::max(day_of(from_us) - related_day_margin, 0)));
    if (to_us != 0)
      sql += " AND started_us < " + std::to_string(to_us);
    if (!agent_id.empty())
      sql += " AND agent_id = " + quoted(agent_id);
    sql += " GROUP BY trace_id ORDER BY first_us DESC, trace_id LIMIT " + std::to_string(limit) +
           " FORMAT TabSeparated";
    auto res = run(client_, sql);
    if (!res)
      return failure("related", res.error());
    bool ok = for_each_row(*res, [&](std::vector<std::string>& f) {
      related_trace t;
      if (f.size() != 2 || !parse_int(f[1], t.started_us))
        return false;
      t.trace_id = std::move(f[0]);
      traces.push_back(std::move(t));
      return true;
    });
    if (!ok)
      return failure("related", "unexpected answer");
    return traces;
  });
}

caf::expected<std::vector<std::string>> span_archive::drop_before(int32_t before_day) {
  return guarded("drop_before", [&]() -> caf::expected<std::vector<std::string>> {
    const auto& db = client_.database();
    auto sql = "SELECT DISTINCT `table`, partition_id FROM system.parts WHERE database = " +
               (db.empty() ? std::string{"currentDatabase()"} : quoted(db)) + " AND `table` IN (" +
               quoted(events_table) + ", " + quoted(related_table) +
               ") AND active AND partition_id < " + quoted(partition_id(before_day)) +
               " ORDER BY partition_id, `table` FORMAT TabSeparated";
    auto res = run(client_, sql);
    if (!res)
      return failure("list partitions", res.error());
    std::vector<std::pair<std::string, std::string>> parts; // table, partition id
    bool ok = for_each_row(*res, [&](std::vector<std::string>& f) {
      if (f.size() != 2)
        return false;
      parts.emplace_back(std::move(f[0]), std::move(f[1]));
      return true;
    });
    if (!ok)
      return failure("list partitions", "unexpected answer");
    // A failure part-way leaves the remaining partitions to the next call.
    std::vector<std::string> dropped;
    for (const auto& [table, id] : parts) {
      auto alter = "ALTER TABLE " + table_of(client_, table) + " DROP PARTITION ID " + quoted(id);
      if (auto r = client_.query(alter); !r)
        return failure("drop partition", r.error());
      dropped.push_back(id);
    }
    std::sort(dropped.begin(), dropped.end());
    dropped.erase(std::unique(dropped.begin(), dropped.end()), dropped.end());
    return dropped;
  });
}

caf::expected<uint64_t> span_archive::count() {
  return guarded("count", [&]() -> caf::expected<uint64_t> {
    auto res = run(client_, "SELECT uniqExact(id) FROM " + table_of(client_, events_table) +
                                " FORMAT TabSeparated");
    if (!res)
      return failure("count", res.error());
    uint64_t n = 0;
    std::string text = *res;
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    if (!parse_int(text, n))
      return failure("count", "unexpected answer");
    return n;
  });
}

dependency_health span_archive::ping() {
  return client_.ping();
}

} // namespace bedbank::persistence
