// JOURNAL: takes spans from anyone without blocking them, keeps at most
// trace.buffer_limit in memory, and hands batches of trace.batch_size to the
// span writer (COPY) by size or every trace.flush_interval. When PostgreSQL
// is slow or down the buffer fills and further spans are dropped, counted and
// logged — the senders never wait.

#include <algorithm>
#include <deque>
#include <iterator>

#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "log/log.hpp"
#include "protocols/errors.hpp"
#include "protocols/trace_report.hpp"

namespace bedbank {

namespace {

/// Longest a COPY may take before the batch counts as failed.
constexpr std::chrono::seconds write_timeout{30};
/// At most one "dropping spans" log line per this period.
constexpr int64_t drop_log_period_us = 10'000'000;

struct journal_state {
  static inline const char* name = "journal";
  std::shared_ptr<const node_env> env;
  std::deque<span_record> buffer; ///< front is oldest; batches leave from the front
  bool in_flight = false;
  uint64_t generation = 0;
  journal_stats stats;
  std::vector<caf::typed_response_promise<journal_stats>> flush_waiters;
  int64_t last_drop_log_us = 0;
  uint64_t drops_since_log = 0;

  journal_stats snapshot() const {
    auto s = stats;
    s.buffered = buffer.size();
    return s;
  }
};

using journal_pointer = journal_actor::stateful_pointer<journal_state>;

void note_drops(journal_pointer self, uint64_t n, const char* why) {
  auto& st = self->state;
  st.stats.dropped += n;
  st.drops_since_log += n;
  auto now = domain::now_us();
  if (now - st.last_drop_log_us >= drop_log_period_us) {
    log::warn(
        "journal", "dropping spans",
        {{"reason", why}, {"dropped", st.drops_since_log}, {"dropped_total", st.stats.dropped}});
    st.last_drop_log_us = now;
    st.drops_since_log = 0;
  }
}

void answer_flushes(journal_pointer self) {
  auto& st = self->state;
  if (!st.buffer.empty() || st.in_flight)
    return;
  for (auto& rp : st.flush_waiters)
    rp.deliver(st.snapshot());
  st.flush_waiters.clear();
}

void write_batch(journal_pointer self) {
  auto& st = self->state;
  if (st.in_flight || st.buffer.empty())
    return;
  // This node's own writer (journal role), else one of a live journal node.
  auto writer = st.env->place ? st.env->place->span_writer()
                              : st.env->actors->get<span_writer_actor>(span_writer_name);
  if (!writer)
    return; // the writer is restarting (or no journal node is up); keep buffering
  auto batch_size = static_cast<size_t>(st.env->cfg->trace.batch_size);
  auto take = std::min(batch_size, st.buffer.size());
  std::vector<span_record> batch;
  batch.reserve(take);
  std::move(st.buffer.begin(), st.buffer.begin() + static_cast<ptrdiff_t>(take),
            std::back_inserter(batch));
  st.buffer.erase(st.buffer.begin(), st.buffer.begin() + static_cast<ptrdiff_t>(take));
  auto n = batch.size();
  st.in_flight = true;
  self->request(writer, write_timeout, write_atom::value, std::move(batch))
      .then(
          [=](uint64_t written) {
            auto& st = self->state;
            st.in_flight = false;
            st.stats.written += written;
            ++st.stats.batches;
            if (written < n)
              note_drops(self, n - written, "rows refused by PostgreSQL");
            if (st.buffer.size() >= static_cast<size_t>(st.env->cfg->trace.batch_size) ||
                !st.flush_waiters.empty())
              write_batch(self);
            answer_flushes(self);
          },
          [=](caf::error& err) {
            auto& st = self->state;
            st.in_flight = false;
            ++st.stats.failed_batches;
            note_drops(self, n, "PostgreSQL write failed");
            // The next attempt waits for the next tick, so a dead database is not hammered.
            if (!st.flush_waiters.empty()) {
              for (auto& rp : st.flush_waiters)
                rp.deliver(err);
              st.flush_waiters.clear();
            }
          });
}

void accept(journal_pointer self, span_record&& s) {
  auto& st = self->state;
  if (st.buffer.size() >= static_cast<size_t>(st.env->cfg->trace.buffer_limit)) {
    note_drops(self, 1, "buffer full");
    return;
  }
  ++st.stats.accepted;
  // Secrets never reach the journal's tables, whatever a writer put in a span.
  trace_report_format::redact_in_place(s.request_data);
  trace_report_format::redact_in_place(s.response_data);
  st.buffer.push_back(std::move(s));
  if (st.buffer.size() >= static_cast<size_t>(st.env->cfg->trace.batch_size))
    write_batch(self);
}

journal_actor::behavior_type journal(journal_pointer self, std::shared_ptr<const node_env> env) {
  answer_probes(self);
  self->state.env = std::move(env);
  self->send(self, tick_atom::value, self->state.generation);
  return {
      [=](span_atom, span_record& s) { accept(self, std::move(s)); },
      [=](span_atom, std::vector<span_record>& xs) {
        for (auto& s : xs)
          accept(self, std::move(s));
      },
      [=](flush_atom) -> caf::result<journal_stats> {
        auto& st = self->state;
        if (st.buffer.empty() && !st.in_flight)
          return st.snapshot();
        auto rp = self->make_response_promise<journal_stats>();
        st.flush_waiters.push_back(rp);
        write_batch(self);
        return rp;
      },
      [=](stats_atom) -> journal_stats { return self->state.snapshot(); },
      [=](tick_atom, uint64_t gen) {
        auto& st = self->state;
        if (gen != st.generation)
          return;
        write_batch(self);
        self->delayed_send(self, st.env->cfg->trace.flush_interval, tick_atom::value, gen);
      },
  };
}

} // namespace

journal_actor spawn_journal(caf::actor_system& sys, std::shared_ptr<const node_env> env) {
  return sys.spawn(journal, std::move(env));
}

span_record incident_span(const node_env& env, std::string event_type, std::string service,
                          std::string related_type, std::string related_id, std::string status) {
  span_record s;
  s.trace_id = domain::new_trace_id();
  s.span_id = domain::new_span_id();
  s.event_type = std::move(event_type);
  s.service = std::move(service);
  s.related_type = std::move(related_type);
  s.related_id = std::move(related_id);
  s.started_us = domain::now_us();
  s.status = std::move(status);
  s.node = env.node_id;
  return s;
}

void record_span(const node_env& env, span_record span) {
  if (auto j = env.actors->journal())
    caf::anon_send(j, span_atom::value, std::move(span));
}

} // namespace bedbank
