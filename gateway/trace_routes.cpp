// The trace endpoints: GET /api/traces/{trace_id}, /api/traces/by-order/{order_id},
// /api/traces/by-hotel/{hotel_id}?from=&to=&limit= (agent-scoped), the same under
// /admin/traces/ across agents, `?format=json|html|otlp`, and POST /admin/traces/archive.
#include <algorithm>

#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "gateway/router_detail.hpp"
#include "protocols/errors.hpp"
#include "protocols/order_json.hpp"
#include "protocols/trace_report.hpp"

namespace bedbank::gateway {

namespace {

using nlohmann::json;

constexpr std::string_view by_order_prefix = "by-order/";
constexpr std::string_view by_hotel_prefix = "by-hotel/";
constexpr size_t max_subject_chars = 64;
constexpr int32_t default_hotel_traces = 20;
constexpr int32_t max_hotel_traces = 200;
/// by-hotel without `from`: this long before `to`.
constexpr int64_t default_hotel_window_us = 7 * 86'400'000'000LL;
/// An operator's archive pass may move millions of spans.
constexpr std::chrono::milliseconds archive_timeout{600000};

bool plain_id(std::string_view id) {
  return !id.empty() && id.size() <= max_subject_chars &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

void answer_text(exchange& x, std::string content_type, std::string body) {
  http_response res;
  res.status = 200;
  res.content_type = std::move(content_type);
  res.body = std::move(body);
  x.owner->finish(x, std::move(res));
}

} // namespace

void router::traces(const std::shared_ptr<exchange>& x, std::string_view rest,
                    const std::string& agent_id) {
  trace_report_query q;
  q.agent_id = agent_id;
  std::string field;
  if (rest.compare(0, by_order_prefix.size(), by_order_prefix) == 0) {
    q.kind = "order";
    q.subject = rest.substr(by_order_prefix.size());
    field = "order_id";
  } else if (rest.compare(0, by_hotel_prefix.size(), by_hotel_prefix) == 0) {
    q.kind = "hotel";
    q.subject = rest.substr(by_hotel_prefix.size());
    field = "hotel_id";
  } else {
    q.kind = "trace";
    q.subject = rest;
    field = "trace_id";
  }
  if (q.subject.find('/') != std::string::npos) {
    fail(*x, ec::not_found, "no such endpoint: " + x->path);
    return;
  }
  if (q.kind == "trace" && !domain::is_hex_id(q.subject, 32)) {
    fail(*x, ec::invalid_request, "a trace id is 32 lowercase hex digits, not all zero", field);
    return;
  }
  if (q.kind != "trace" && !plain_id(q.subject)) {
    fail(*x, ec::invalid_request,
         field + " is 1 to 64 letters, digits, '_' or '-', got '" + q.subject + "'", field);
    return;
  }
  if (q.kind == "hotel" && ctx_.catalog && ctx_.catalog->find(q.subject) == nullptr) {
    fail(*x, ec::not_found, "no hotel " + q.subject);
    return;
  }
  std::string format = "json";
  for (const auto& [k, v] : parse_query(x->query)) {
    if (k == "format") {
      if (v != "json" && v != "html" && v != "otlp") {
        fail(*x, ec::invalid_request, "format must be json, html or otlp", "format");
        return;
      }
      format = v;
    } else if (q.kind == "hotel" && (k == "from" || k == "to")) {
      auto t = order_json::parse_filter_instant(v, k == "to");
      if (!t) {
        fail(*x, ec::invalid_request, k + " must be a date (YYYY-MM-DD) or an RFC 3339 instant", k);
        return;
      }
      (k == "from" ? q.from_us : q.to_us) = *t;
    } else if (q.kind == "hotel" && k == "limit") {
      bool digits = !v.empty() && v.size() <= 4 &&
                    std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      int32_t n = digits ? std::stoi(v) : 0;
      if (n < 1 || n > max_hotel_traces) {
        fail(*x, ec::invalid_request,
             "limit must be an integer between 1 and " + std::to_string(max_hotel_traces), "limit");
        return;
      }
      q.limit = n;
    } else {
      fail(*x, ec::invalid_request, "unknown query parameter '" + k + "'", k);
      return;
    }
  }
  if (q.kind == "hotel") {
    if (q.to_us == 0)
      q.to_us = domain::now_us();
    if (q.from_us == 0)
      q.from_us = q.to_us - default_hotel_window_us;
    if (q.from_us >= q.to_us) {
      fail(*x, ec::invalid_request, "from must be before to", "from");
      return;
    }
    if (q.limit == 0)
      q.limit = default_hotel_traces;
  }
  // The least busy reader (reports in flight), looking from a rotating start so ties spread.
  int readers = std::clamp(ctx_.cfg->trace.readers, 1, config::max_trace_readers);
  auto& busy = *reader_busy_;
  int pick = static_cast<int>(reader_seq_++ % static_cast<uint64_t>(readers));
  for (int k = 1, best = busy[pick].load(); k < readers && best > 0; ++k) {
    int i = (pick + k) % readers;
    if (int n = busy[i].load(); n < best) {
      best = n;
      pick = i;
    }
  }
  auto reader = ctx_.actors ? ctx_.actors->traces(pick, readers) : trace_reader_actor{};
  if (!reader) {
    fail(*x, ec::storage_unavailable, "the trace reader is restarting; retry shortly");
    return;
  }
  // Held by both handlers of the call: the count drops when the call is over, whichever ran.
  struct lease {
    std::shared_ptr<std::array<std::atomic<int>, config::max_trace_readers>> busy;
    int i;
    ~lease() { --(*busy)[i]; }
  };
  ++busy[pick];
  auto held = std::shared_ptr<lease>(new lease{reader_busy_, pick});
  ask(
      *ctx_.sys, reader, trace_timeout,
      [x, format, held](trace_report& r) {
        if (format == "html")
          answer_text(*x, "text/html; charset=utf-8", trace_report_format::render_html(r));
        else if (format == "otlp")
          answer(*x, 200, trace_report_format::encode_otlp(r));
        else
          answer(*x, 200, trace_report_format::encode_report(r));
      },
      [x, held](const caf::error& e) { fail_call(*x, e, "trace reader"); }, get_atom::value, q);
}

void router::archive_now(const std::shared_ptr<exchange>& x) {
  // This node's archiver, else the cluster leader's (a gateway without the journal role).
  auto archiver = ctx_.place    ? ctx_.place->archiver()
                  : ctx_.actors ? ctx_.actors->archiver()
                                : archiver_actor{};
  if (!archiver) {
    fail(*x, ec::not_found,
         ctx_.cfg->clickhouse.enabled ? "the archiver is restarting; retry shortly"
                                      : "there is no archive: clickhouse.enabled is false");
    return;
  }
  ask(
      *ctx_.sys, archiver, archive_timeout,
      [x](archive_pass& p) {
        if (!p.error.empty()) {
          fail(*x, ec::storage_unavailable, "archive pass failed: " + p.error);
          return;
        }
        answer(*x, 200, trace_report_format::encode_archive_pass(p));
      },
      [x](const caf::error& e) { fail_call(*x, e, "archiver"); }, archive_atom::value);
}

} // namespace bedbank::gateway
