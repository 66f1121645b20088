// trace_repository: builds trace reports from the hot and the cold span store.
#include "persistence/trace_repository.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "domain/dates.hpp"
#include "persistence/order_store.hpp"
#include "persistence/span_archive.hpp"
#include "persistence/span_store.hpp"
#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

constexpr int64_t us_per_hour = 3'600'000'000;
/// How long before an order's creation its spans may start (the trial, up to the hold TTL
/// earlier, and clock skew between nodes): the archive is consulted for an order when the
/// watermark reaches this far back from the order's creation.
constexpr int64_t order_lookback_us = 48 * us_per_hour;
/// A trace's spans lie within this of each other; the archive is consulted for a trace when
/// its oldest hot span is this close to the watermark.
constexpr int64_t trace_span_us = 24 * us_per_hour;

/// Spans of both stores grouped by trace: each span once (by row id), hot ones counted hot.
class collector {
public:
  void add(std::vector<stored_span>& spans, bool cold) {
    for (auto& s : spans) {
      if (!seen_.insert(s.id).second)
        continue;
      auto& g = groups_[s.span.trace_id];
      g.trace_id = s.span.trace_id;
      (cold ? g.cold_spans : g.hot_spans) += 1;
      g.spans.push_back(std::move(s.span));
      ++total_;
    }
  }

  size_t total() const { return total_; }

  /// The groups, spans in start order; groups by first start (newest first if asked).
  std::vector<trace_group> take(bool newest_first) {
    std::vector<trace_group> out;
    out.reserve(groups_.size());
    for (auto& [id, g] : groups_) {
      std::stable_sort(g.spans.begin(), g.spans.end(),
                       [](const auto& a, const auto& b) { return a.started_us < b.started_us; });
      out.push_back(std::move(g));
    }
    std::stable_sort(out.begin(), out.end(), [newest_first](const auto& a, const auto& b) {
      auto x = a.spans.front().started_us;
      auto y = b.spans.front().started_us;
      return newest_first ? x > y : x < y;
    });
    return out;
  }

private:
  std::unordered_set<int64_t> seen_;
  std::map<std::string, trace_group> groups_;
  size_t total_ = 0;
};

/// Adds `more` to `ids` (kept unique, in first-seen order).
void merge_ids(std::vector<std::string>& ids, const std::vector<related_trace>& more) {
  for (const auto& r : more)
    if (std::find(ids.begin(), ids.end(), r.trace_id) == ids.end())
      ids.push_back(r.trace_id);
}

} // namespace

struct trace_repository::impl {
  span_store hot;
  order_store orders;
  std::optional<span_archive> cold;

  impl(const std::string& conninfo, std::optional<clickhouse_client> archive)
      : hot(conninfo), orders(conninfo) {
    if (archive)
      cold.emplace(std::move(*archive));
  }

  /// Whether the archive must be read too: it is configured, holds something, and
  /// `oldest_us` (the oldest instant of interest) is not clearly newer than its watermark.
  bool consult_cold(int64_t watermark_us, int64_t oldest_us) const {
    return cold.has_value() && watermark_us > 0 && oldest_us <= watermark_us;
  }

  /// The archive's spans of `trace_ids`, and the hot spans of those traces in it the first
  /// read did not ask for (a trace straddling the cut-off), into `c`.
  caf::error gather_cold(collector& c, std::vector<std::string> trace_ids,
                         const std::vector<std::string>& asked_hot, const std::string& agent_id) {
    auto old = cold->spans_of_traces(trace_ids, agent_id);
    if (!old)
      return std::move(old.error());
    c.add(*old, true);
    std::vector<std::string> unasked;
    for (const auto& id : trace_ids)
      if (std::find(asked_hot.begin(), asked_hot.end(), id) == asked_hot.end())
        unasked.push_back(id);
    if (!unasked.empty()) {
      auto more = hot.spans_of_traces(unasked, agent_id);
      if (!more)
        return std::move(more.error());
      c.add(more->spans, false);
    }
    return {};
  }

  caf::expected<trace_report> by_trace(const trace_report_query& q) {
    trace_report r;
    collector c;
    // Hot spans first, the watermark after them: a span the archiver moved before this read
    // raised the watermark in its delete, so the archive is asked below.
    auto read = hot.spans_of_traces({q.subject}, q.agent_id);
    if (!read)
      return std::move(read.error());
    int64_t oldest = INT64_MAX;
    for (const auto& s : read->spans)
      oldest = std::min(oldest, s.created_us);
    bool use_cold =
        consult_cold(read->watermark_us, read->spans.empty() ? 0 : oldest - trace_span_us);
    c.add(read->spans, false);
    if (use_cold) {
      auto old = cold->spans_of_traces({q.subject}, q.agent_id);
      if (!old)
        return std::move(old.error());
      c.add(*old, true);
    }
    if (c.total() == 0)
      return make_error(ec::not_found, "no trace " + q.subject);
    r.traces = c.take(false);
    r.truncated = c.total() >= span_store::max_trace_spans;
    return r;
  }

  caf::expected<trace_report> by_order(const trace_report_query& q) {
    trace_report r;
    auto order = orders.load(q.subject);
    if (!order) {
      if (code_of(order.error()) == ec::not_found)
        return make_error(ec::not_found, "no order " + q.subject);
      return std::move(order.error());
    }
    if (!q.agent_id.empty() && order->agent_id != q.agent_id)
      return make_error(ec::not_found, "no order " + q.subject);
    // One query: every trace with a span of the order, and the order's own trace list.
    auto read = hot.spans_of_related("order", q.subject, order->trace_ids, q.agent_id);
    if (!read)
      return std::move(read.error());
    collector c;
    std::vector<std::string> hot_ids = order->trace_ids;
    for (const auto& s : read->spans)
      if (std::find(hot_ids.begin(), hot_ids.end(), s.span.trace_id) == hot_ids.end())
        hot_ids.push_back(s.span.trace_id);
    c.add(read->spans, false);
    if (consult_cold(read->watermark_us, order->created_us - order_lookback_us)) {
      auto old = cold->related("order", {q.subject}, 0, 0, q.agent_id, max_traces);
      if (!old)
        return std::move(old.error());
      std::vector<std::string> ids = hot_ids;
      merge_ids(ids, *old);
      if (static_cast<int>(ids.size()) > max_traces) {
        ids.resize(max_traces);
        r.truncated = true;
      }
      if (auto err = gather_cold(c, ids, hot_ids, q.agent_id))
        return err;
    }
    r.has_order = true;
    r.order = std::move(*order);
    r.traces = c.take(false);
    r.truncated = r.truncated || c.total() >= span_store::max_trace_spans;
    return r;
  }

  caf::expected<trace_report> by_hotel(const trace_report_query& q) {
    trace_report r;
    r.from_us = q.from_us;
    r.to_us = q.to_us;
    int limit = std::clamp(q.limit, 1, max_traces);
    auto order_ids = hot.hotel_orders(q.subject, q.from_us, q.to_us, q.agent_id, limit);
    if (!order_ids)
      return std::move(order_ids.error());
    // Traces by their newest relevant start, across both relations and both stores.
    std::map<std::string, int64_t> found;
    auto lookup = [&](auto& store, const char* type,
                      const std::vector<std::string>& subjects) -> caf::error {
      auto xs = store.related(type, subjects, q.from_us, q.to_us, q.agent_id, limit + 1);
      if (!xs)
        return std::move(xs.error());
      for (const auto& x : *xs) {
        auto& t = found[x.trace_id];
        t = std::max(t, x.started_us);
      }
      return {};
    };
    std::vector<std::string> hotel{q.subject};
    if (auto err = lookup(hot, "hotel", hotel))
      return err;
    if (auto err = lookup(hot, "order", *order_ids))
      return err;
    // The watermark after the hot lookups (see by_trace).
    auto mark = hot.archived_through();
    if (!mark)
      return std::move(mark.error());
    bool use_cold = consult_cold(*mark, q.from_us);
    if (use_cold) {
      if (auto err = lookup(*cold, "hotel", hotel))
        return err;
      if (auto err = lookup(*cold, "order", *order_ids))
        return err;
    }
    std::vector<std::pair<int64_t, std::string>> newest;
    for (const auto& [id, at] : found)
      newest.emplace_back(at, id);
    std::sort(newest.begin(), newest.end(), std::greater<>{});
    if (static_cast<int>(newest.size()) > limit) {
      newest.resize(limit);
      r.truncated = true;
    }
    std::vector<std::string> ids;
    for (const auto& n : newest)
      ids.push_back(n.second);
    collector c;
    auto read = hot.spans_of_traces(ids, q.agent_id);
    if (!read)
      return std::move(read.error());
    c.add(read->spans, false);
    if (use_cold || consult_cold(read->watermark_us, q.from_us))
      if (auto err = gather_cold(c, ids, ids, q.agent_id))
        return err;
    r.traces = c.take(true);
    r.truncated = r.truncated || c.total() >= span_store::max_trace_spans;
    return r;
  }
};

trace_repository::trace_repository(std::string conninfo, std::optional<clickhouse_client> archive)
    : impl_(std::make_unique<impl>(conninfo, std::move(archive))) {}

trace_repository::~trace_repository() = default;
trace_repository::trace_repository(trace_repository&&) noexcept = default;
trace_repository& trace_repository::operator=(trace_repository&&) noexcept = default;

caf::expected<trace_report> trace_repository::report(const trace_report_query& q) {
  caf::expected<trace_report> r = make_error(ec::invalid_request, "unknown report kind " + q.kind);
  if (q.kind == "trace")
    r = impl_->by_trace(q);
  else if (q.kind == "order")
    r = impl_->by_order(q);
  else if (q.kind == "hotel")
    r = impl_->by_hotel(q);
  if (r) {
    r->kind = q.kind;
    r->subject = q.subject;
  }
  return r;
}

dependency_health trace_repository::ping() {
  return impl_->hot.ping();
}

} // namespace bedbank::persistence
