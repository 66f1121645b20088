// ARCHIVER: the seed's "30 天内存 PG, 之后归档 ClickHouse". Every trace.archive_interval it
// moves spans older than trace.hot_days from PostgreSQL to ClickHouse in batches of
// trace.archive_batch (persistence::span_archiver: insert, verify, delete, pipelined) and
// drops archive partitions older than trace.archive_days. Detached: every call blocks on a
// database. A slice of a pass is bounded in time, so a backlog of millions moves over many
// slices with the mailbox (an operator's pass, the exit) served between them. Each pass that
// did something is recorded as an `archive` span with the time of each step.
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "log/log.hpp"
#include "persistence/span_archiver.hpp"
#include "protocols/errors.hpp"
#include "protocols/trace_report.hpp"

namespace bedbank {

namespace {

using std::chrono::milliseconds;

/// One timer slice works at most this long before yielding to the mailbox.
constexpr int64_t slice_budget_us = 2'000'000;
constexpr int64_t us_per_day = 86'400'000'000;

struct archiver_state {
  static inline const char* name = "archiver";
  std::shared_ptr<const node_env> env;
  std::unique_ptr<persistence::span_archiver> archiver;
  uint64_t gen = 0;
  int32_t dropped_through = 0; ///< the day retention last ran for (once a day is enough)
};

using archiver_pointer = archiver_actor::stateful_pointer<archiver_state>;

void arm(archiver_pointer self, milliseconds delay) {
  auto gen = ++self->state.gen;
  self->delayed_send(self, delay, tick_atom::value, gen);
}

void record_pass(archiver_pointer self, const archive_pass& p, int64_t started_us) {
  auto& st = self->state;
  span_record s;
  s.trace_id = domain::new_trace_id();
  s.span_id = domain::new_span_id();
  s.event_type = "archive";
  s.service = "archiver";
  s.request_data = nlohmann::json{{"hot_days", st.env->cfg->trace.hot_days},
                                  {"archive_days", st.env->cfg->trace.archive_days},
                                  {"batch", st.env->cfg->trace.archive_batch}}
                       .dump();
  s.response_data = trace_report_format::encode_archive_pass(p).dump();
  s.started_us = started_us;
  s.duration_us = p.duration_us;
  s.status = p.error.empty() ? "success" : "error";
  s.error_detail = p.error;
  s.node = st.env->node_id;
  record_span(*st.env, std::move(s));
}

/// Runs batches until nothing old is left or `budget_us` is spent (0: no limit), then the
/// retention drop (once per day, or when `force_retention`).
archive_pass run_pass(archiver_pointer self, int64_t budget_us, bool force_retention) {
  auto& st = self->state;
  const auto& tc = st.env->cfg->trace;
  archive_pass p;
  auto started = domain::now_us();
  auto cutoff = started - static_cast<int64_t>(tc.hot_days) * us_per_day;
  auto run = st.archiver->run(cutoff, tc.archive_batch, budget_us);
  if (run.error)
    p.error = message_of(run.error);
  p.batches = run.batches;
  p.moved = run.deleted;
  p.inserted = run.inserted;
  p.through_us = run.through_us;
  p.more = run.more;
  p.select_us = run.select_us;
  p.insert_us = run.insert_us;
  p.verify_us = run.verify_us;
  p.delete_us = run.delete_us;
  auto today = domain::today_utc();
  if (p.error.empty() && (force_retention || st.dropped_through != today)) {
    auto dropped = st.archiver->drop_before(today - tc.archive_days);
    if (dropped) {
      p.dropped = std::move(*dropped);
      st.dropped_through = today;
    } else {
      p.error = message_of(dropped.error());
    }
  }
  p.duration_us = domain::now_us() - started;
  if (!p.error.empty())
    log::warn("archiver", "archive pass failed; it is retried next interval",
              {{"error", p.error}, {"moved", p.moved}});
  else if (p.moved > 0 || !p.dropped.empty())
    log::info("archiver", "spans archived",
              {{"moved", p.moved},
               {"batches", p.batches},
               {"dropped_partitions", p.dropped.size()},
               {"ms", p.duration_us / 1000}});
  if (p.moved > 0 || !p.dropped.empty() || !p.error.empty())
    record_pass(self, p, started);
  return p;
}

archiver_actor::behavior_type archiver_behavior(archiver_pointer self,
                                                std::shared_ptr<const node_env> env) {
  answer_probes(self);
  auto& st = self->state;
  st.env = std::move(env);
  auto client = archive_client(*st.env->cfg);
  if (!client) {
    log::error("archiver", "the archiver needs clickhouse.enabled");
    self->quit(make_error(ec::internal, "clickhouse is disabled"));
    return {
        [](archive_atom) -> archive_pass { return {}; },
        [](tick_atom, uint64_t) {},
    };
  }
  st.archiver = std::make_unique<persistence::span_archiver>(st.env->cfg->database.conninfo(),
                                                             std::move(*client));
  arm(self, st.env->cfg->trace.archive_interval);
  return {
      [=](archive_atom) -> archive_pass {
        auto p = run_pass(self, 0, true);
        arm(self, self->state.env->cfg->trace.archive_interval);
        return p;
      },
      [=](tick_atom, uint64_t gen) {
        if (gen != self->state.gen)
          return;
        // One archiver of the cluster works on its timer: the leader's (the live journal node
        // with the smallest id). The others look again next interval.
        if (const auto& place = self->state.env->place; place && !place->leads()) {
          arm(self, self->state.env->cfg->trace.archive_interval);
          return;
        }
        auto p = run_pass(self, slice_budget_us, false);
        arm(self, p.more ? milliseconds{0} : self->state.env->cfg->trace.archive_interval);
      },
  };
}

} // namespace

archiver_actor spawn_archiver(caf::actor_system& sys, std::shared_ptr<const node_env> env) {
  return sys.spawn<caf::detached>(archiver_behavior, std::move(env));
}

} // namespace bedbank
