// journal_bench: how fast the journal actor persists spans, against a raw COPY baseline.
//
//   journal_bench --pg "host=127.0.0.1 port=35432 user=bedbank" [--db NAME] [--spans N]
//                 [--threads T] [--rounds R]
//
// (Re)creates database NAME on that server and migrates it with persistence::migrate. Then
//   (a) wires the journal exactly as `bedbank serve` does (a node_env whose directory holds the
//       span writer under span_writer_name and the journal under directory::journal_name, the
//       default trace batch size and flush interval, a buffer big enough for all N spans),
//       sends N realistic spans (~200-byte JSON request and response) from T threads with
//       caf::anon_send as fast as they can, asks for flush_atom and times first send → flush
//       answered; checks SELECT count(*) == N and that the journal dropped nothing;
//   (b) TRUNCATEs trace_events and COPYs the same N rows with persistence::span_store::copy in
//       batches of the same size from one thread: the raw COPY baseline.
// Each of R rounds runs (a) then (b) on an emptied table; prints every round, the medians, their
// ratio and a final `RESULT key=value ...` line for bench/run.sh.
// Exit code 0 when both parts ran (even when spans were lost: that is a reported figure),
// 1 when the benchmark could not run, 2 on bad flags.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "actors/factories.hpp"
#include "config/config.hpp"
#include "persistence/migrations.hpp"
#include "persistence/span_store.hpp"
#include "protocols/registry.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr uint64_t default_spans = 200000;
constexpr unsigned default_threads = 2;
/// Each round runs (a) then (b); the medians are reported (this box is noisy).
constexpr unsigned default_rounds = 3;
constexpr const char* default_db = "bedbank_journal_bench";
/// How long the journal may take to write everything once flush_atom is sent.
constexpr std::chrono::seconds flush_timeout{300};
/// Largest trace.buffer_limit the configuration accepts.
constexpr int64_t max_buffer_limit = 10'000'000;
/// Spans of one trace (a search fanning out to its suppliers).
constexpr uint64_t spans_per_trace = 12;
/// One span in this many is an error with a detail.
constexpr uint64_t error_every = 50;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

struct options {
  std::string pg;
  std::string db = default_db;
  uint64_t spans = default_spans;
  unsigned threads = default_threads;
  unsigned rounds = default_rounds;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "journal_bench: " << msg << "\nusage: journal_bench --pg CONNINFO [--db NAME] "
            << "[--spans N] [--threads T] [--rounds R]\n";
  std::exit(exit_usage);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--pg")
        o.pg = value();
      else if (a == "--db")
        o.db = value();
      else if (a == "--spans")
        o.spans = std::stoull(value());
      else if (a == "--threads")
        o.threads = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--rounds")
        o.rounds = static_cast<unsigned>(std::stoul(value()));
      else
        usage_error("unknown flag '" + a + "'");
    } catch (const std::logic_error&) {
      usage_error(a + ": not a number");
    }
  }
  if (o.pg.empty())
    usage_error("--pg is required");
  if (o.spans == 0 || o.threads == 0 || o.rounds == 0)
    usage_error("--spans, --threads and --rounds must be positive");
  return o;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Span number `i`: a supplier_query of a search, shaped like the ones the query engine records.
bedbank::span_record make_span(uint64_t i, int64_t base_us) {
  static const char* const suppliers[] = {"hotelbeds", "expedia", "dida", "webbeds", "tbo"};
  static const char* const cities[] = {"SHA", "PEK", "CAN", "SZX", "HKG"};
  const auto trace = i / spans_per_trace;
  const auto* supplier = suppliers[i % std::size(suppliers)];
  const auto* city = cities[trace % std::size(cities)];
  char buf[512];
  bedbank::span_record s;
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(trace),
                static_cast<unsigned long long>(trace * 0x9e3779b97f4a7c15ULL));
  s.trace_id = buf;
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(i + 1));
  s.span_id = buf;
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(trace * spans_per_trace + 1));
  s.parent_span_id = buf;
  s.event_type = "supplier_query";
  s.service = "supplier_adapter";
  s.related_type = "supplier";
  s.related_id = supplier;
  std::snprintf(buf, sizeof buf,
                R"({"city":"%s","check_in":"2026-12-01","check_out":"2026-12-03",)"
                R"("rooms":[{"adults":2,"children_ages":[5]}],"currency":"CNY",)"
                R"("hotel_codes":["%s-%05llu","%s-%05llu","%s-%05llu"],"deadline_ms":3000})",
                city, supplier, static_cast<unsigned long long>(i % 997), supplier,
                static_cast<unsigned long long>(i % 991), supplier,
                static_cast<unsigned long long>(i % 983));
  s.request_data = buf;
  const bool failed = i % error_every == 0;
  std::snprintf(
      buf, sizeof buf,
      R"({"status":"%s","hotels":%llu,"rates":%llu,"latency_ms":%llu,)"
      R"("cheapest":{"amount":"%llu.50","currency":"CNY"},"sold_out":%llu,)"
      R"("rate_keys":["rk-%08llx","rk-%08llx"]})",
      failed ? "error" : "ok", static_cast<unsigned long long>(i % 40),
      static_cast<unsigned long long>(i % 120), static_cast<unsigned long long>(40 + i % 90),
      static_cast<unsigned long long>(300 + i % 2000), static_cast<unsigned long long>(i % 7),
      static_cast<unsigned long long>(i), static_cast<unsigned long long>(i * 31));
  s.response_data = buf;
  s.started_us = base_us + static_cast<int64_t>(i) * 10;
  s.duration_us = 40000 + static_cast<int64_t>(i % 90000);
  s.status = failed ? "error" : "success";
  if (failed)
    s.error_detail = "supplier answered HTTP 503 Service Unavailable";
  s.agent_id = trace % 2 == 0 ? "demo-a" : "demo-b";
  s.node = "node-1";
  return s;
}

/// (Re)creates database `db` and applies the embedded migrations.
void prepare_database(const options& o, const std::string& conninfo) {
  {
    pqxx::connection admin{o.pg + " dbname=postgres"};
    pqxx::nontransaction tx{admin};
    tx.exec("DROP DATABASE IF EXISTS " + admin.quote_name(o.db));
    tx.exec("CREATE DATABASE " + admin.quote_name(o.db));
  }
  auto applied = bedbank::persistence::migrate(conninfo);
  if (!applied)
    throw std::runtime_error("migrate: " + caf::to_string(applied.error()));
}

uint64_t count_rows(const std::string& conninfo) {
  pqxx::connection c{conninfo};
  pqxx::nontransaction tx{c};
  return tx.exec1("SELECT count(*) FROM trace_events")[0].as<uint64_t>();
}

void truncate_spans(const std::string& conninfo) {
  pqxx::connection c{conninfo};
  pqxx::nontransaction tx{c};
  tx.exec("TRUNCATE trace_events RESTART IDENTITY");
  tx.exec("VACUUM ANALYZE trace_events");
}

struct journal_figures {
  double sent_seconds = 0; ///< first send → every sender done
  double seconds = 0;      ///< first send → flush answered
  bedbank::journal_stats stats;
  std::string flush_error; ///< empty when flush_atom answered with stats
};

/// Part (a): the journal as the app wires it, fed from `o.threads` threads.
journal_figures run_journal(const options& o, const std::string& conninfo, int64_t base_us) {
  using namespace bedbank;
  auto cfg = std::make_shared<config::bedbank_config>();
  cfg->trace.buffer_limit =
      std::min<int64_t>(max_buffer_limit, static_cast<int64_t>(o.spans) + cfg->trace.batch_size);
  auto env = std::make_shared<node_env>();
  env->cfg = cfg;
  env->actors = std::make_shared<directory>();
  env->node_id = "node-1";
  std::shared_ptr<const node_env> cenv = env;

  // Spans are built before the clock starts: only the journal's path is timed.
  std::vector<std::vector<span_record>> per_thread(o.threads);
  for (uint64_t i = 0; i < o.spans; ++i)
    per_thread[i % o.threads].push_back(make_span(i, base_us));

  caf::actor_system_config sys_cfg;
  register_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto writer = spawn_span_writer(sys, conninfo);
  env->actors->put(span_writer_name, caf::actor_cast<caf::strong_actor_ptr>(writer));
  auto journal = spawn_journal(sys, cenv);
  env->actors->put(directory::journal_name, caf::actor_cast<caf::strong_actor_ptr>(journal));

  journal_figures fig;
  std::latch start{static_cast<std::ptrdiff_t>(o.threads) + 1};
  std::vector<std::thread> senders;
  for (unsigned t = 0; t < o.threads; ++t)
    senders.emplace_back([&, t] {
      start.arrive_and_wait();
      for (auto& s : per_thread[t])
        caf::anon_send(journal, span_atom::value, std::move(s));
    });
  start.arrive_and_wait();
  auto t0 = clock_type::now();
  for (auto& th : senders)
    th.join();
  fig.sent_seconds = seconds_since(t0);
  caf::scoped_actor self{sys};
  self->request(journal, flush_timeout, flush_atom::value)
      .receive([&](journal_stats& s) { fig.stats = s; },
               [&](caf::error& err) { fig.flush_error = caf::to_string(err); });
  fig.seconds = seconds_since(t0);
  if (!fig.flush_error.empty())
    self->request(journal, flush_timeout, stats_atom::value)
        .receive([&](journal_stats& s) { fig.stats = s; }, [](caf::error&) {});
  self->send_exit(journal, caf::exit_reason::user_shutdown);
  self->send_exit(writer, caf::exit_reason::user_shutdown);
  // The directory outlives the actor system here: drop its strong references, or the
  // system's destructor waits forever for the detached writer.
  env->actors->erase(directory::journal_name);
  env->actors->erase(span_writer_name);
  return fig;
}

/// Part (b): the same rows through span_store::copy, one batch after the other.
double run_raw_copy(const options& o, const std::string& conninfo, int64_t base_us) {
  auto batch_size = static_cast<uint64_t>(bedbank::config::trace_config{}.batch_size);
  std::vector<std::vector<bedbank::span_record>> batches;
  for (uint64_t i = 0; i < o.spans; ++i) {
    if (i % batch_size == 0)
      batches.emplace_back().reserve(batch_size);
    batches.back().push_back(make_span(i, base_us));
  }
  bedbank::persistence::span_store store{conninfo};
  auto t0 = clock_type::now();
  for (const auto& b : batches) {
    auto written = store.copy(b);
    if (!written)
      throw std::runtime_error("raw COPY: " + caf::to_string(written.error()));
  }
  return seconds_since(t0);
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

std::string join(const std::vector<double>& xs) {
  std::string out;
  char buf[32];
  for (auto x : xs) {
    std::snprintf(buf, sizeof buf, "%s%.0f", out.empty() ? "" : ",", x);
    out += buf;
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // progress lines reach run.sh's log at once
  auto o = parse_args(argc, argv);
  const auto conninfo = o.pg + " dbname=" + o.db;
  const bedbank::config::trace_config trace_defaults;
  const auto base_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  try {
    prepare_database(o, conninfo);
    std::printf("journal_bench: %llu spans, %u sender threads, batch_size %lld, "
                "flush_interval %lld ms, %u rounds, database %s\n",
                static_cast<unsigned long long>(o.spans), o.threads,
                static_cast<long long>(trace_defaults.batch_size),
                static_cast<long long>(trace_defaults.flush_interval.count()), o.rounds,
                o.db.c_str());
    std::vector<double> journal_rates;
    std::vector<double> raw_rates;
    uint64_t lost = 0;
    uint64_t dropped = 0;
    uint64_t failed_batches = 0;
    for (unsigned round = 1; round <= o.rounds; ++round) {
      truncate_spans(conninfo);
      auto j = run_journal(o, conninfo, base_us);
      auto journal_rows = count_rows(conninfo);
      journal_rates.push_back(static_cast<double>(journal_rows) / j.seconds);
      lost += o.spans > journal_rows ? o.spans - journal_rows : 0;
      dropped += j.stats.dropped;
      failed_batches += j.stats.failed_batches;
      std::printf("round %u journal : sent in %.3f s, persisted in %.3f s = %.0f spans/s "
                  "(accepted %llu, written %llu, dropped %llu, batches %llu, failed batches "
                  "%llu, rows %llu)\n",
                  round, j.sent_seconds, j.seconds, journal_rates.back(),
                  static_cast<unsigned long long>(j.stats.accepted),
                  static_cast<unsigned long long>(j.stats.written),
                  static_cast<unsigned long long>(j.stats.dropped),
                  static_cast<unsigned long long>(j.stats.batches),
                  static_cast<unsigned long long>(j.stats.failed_batches),
                  static_cast<unsigned long long>(journal_rows));
      if (!j.flush_error.empty())
        std::printf("round %u journal : flush failed: %s\n", round, j.flush_error.c_str());

      truncate_spans(conninfo);
      auto raw_seconds = run_raw_copy(o, conninfo, base_us);
      auto raw_rows = count_rows(conninfo);
      if (raw_rows != o.spans)
        throw std::runtime_error("raw COPY stored " + std::to_string(raw_rows) + " rows, not " +
                                 std::to_string(o.spans));
      raw_rates.push_back(static_cast<double>(raw_rows) / raw_seconds);
      std::printf("round %u raw COPY: %llu rows in %.3f s = %.0f rows/s\n", round,
                  static_cast<unsigned long long>(raw_rows), raw_seconds, raw_rates.back());
    }
    auto journal_rate = median(journal_rates);
    auto raw_rate = median(raw_rates);
    auto ratio = journal_rate / raw_rate;
    std::printf("median  : journal %.0f spans/s, raw COPY %.0f rows/s, ratio %.2f; "
                "lost spans %llu, dropped %llu\n",
                journal_rate, raw_rate, ratio, static_cast<unsigned long long>(lost),
                static_cast<unsigned long long>(dropped));
    std::printf("RESULT spans=%llu threads=%u rounds=%u batch_size=%lld journal_rate=%.0f "
                "raw_rate=%.0f ratio=%.3f lost=%llu dropped=%llu failed_batches=%llu "
                "journal_rates=%s raw_rates=%s\n",
                static_cast<unsigned long long>(o.spans), o.threads, o.rounds,
                static_cast<long long>(trace_defaults.batch_size), journal_rate, raw_rate, ratio,
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(dropped),
                static_cast<unsigned long long>(failed_batches), join(journal_rates).c_str(),
                join(raw_rates).c_str());
  } catch (const std::exception& e) {
    std::cerr << "journal_bench: " << e.what() << "\n";
    return exit_failed;
  }
  return 0;
}
