// order_bench: confirmed orders per second end to end through the agent API, and the
// latency of a booking, with C keep-alive connections.
//
//   order_bench [--host 127.0.0.1] [--port 38080] [--key demo-key-a] [--connections C]
//               [--warmup S] [--duration S] [--city SHA] [--check-in-days D] [--nights N]
//               [--serial N] [--verify V]
//
// 1. One search (POST /api/search: the city, check-in today+D, N nights, one room for two
//    adults) collects every rate key with its price.
// 1b. N bookings (trial + create) one at a time on one connection: the time of a booking
//    without queueing behind others (reported apart; not part of the load figures).
// 2. C threads, each with its own keep-alive connection, loop for warm-up + duration seconds:
//      POST /api/orders/trial  {rate_key, rooms: [{adults: 2, guests: [one]}], expected_price}
//      POST /api/orders        {trial_id, client_reference (unique), hold_only: false}
//    taking the rate keys round robin. The create answers once the booking settled (the
//    server waits up to orders.create_wait), so 201 with status `confirmed` is a confirmed
//    order. A booking counts in the measured window when its create answered in it (after
//    the warm-up); the figures are confirmed orders / window seconds and the percentiles of
//    the create call alone ("platform time per booking": with a zero-latency mock supplier
//    that is bedbank's time plus the simulated supplier's bookkeeping of its booking) and of
//    trial + create.
// 3. Every answer that is not `available` (trial) or 201 `confirmed` (create), and every
//    transport error, is counted by kind, over the whole run; the first few of each kind are
//    printed with their request and answer.
// 4. Up to V of the confirmed orders are read back with GET /api/orders/{order_id}.
// Prints progress, then `RESULT key=value ...`, `OUTCOME <kind> <count>` and
// `EXAMPLE <kind> ...` lines for bench/run.sh. Exit code 0 when the load ran and at least one
// order was confirmed (non-confirmed answers are reported figures, not failures), 1 when the
// benchmark could not run (no search answer, no rate key, not a single confirmed order),
// 2 on bad flags.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr unsigned default_connections = 16;
constexpr unsigned default_warmup_s = 3;
constexpr unsigned default_duration_s = 20;
constexpr int default_check_in_days = 30;
constexpr int default_nights = 2;
constexpr unsigned default_verify = 16;
constexpr unsigned default_serial = 50;
/// One request may take this long (create_wait is 10 s by default) before it counts as an error.
constexpr std::chrono::seconds request_timeout{30};
/// The search answer of a whole city can be a few MB.
constexpr uint64_t max_answer_bytes = 64ull << 20;
/// Examples kept (and printed) per kind of non-confirmed outcome.
constexpr size_t examples_per_kind = 3;
/// Characters of a request or answer body shown in an example.
constexpr size_t example_chars = 600;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 38080;
  std::string key = "demo-key-a";
  unsigned connections = default_connections;
  unsigned warmup_s = default_warmup_s;
  unsigned duration_s = default_duration_s;
  std::string city = "SHA";
  int check_in_days = default_check_in_days;
  int nights = default_nights;
  unsigned verify = default_verify;
  unsigned serial = default_serial;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "order_bench: " << msg
            << "\nusage: order_bench [--host H] [--port P] [--key API_KEY] [--connections C] "
               "[--warmup S] [--duration S] [--city CODE] [--check-in-days D] [--nights N] "
               "[--serial N] [--verify V]\n";
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
      if (a == "--host")
        o.host = value();
      else if (a == "--port")
        o.port = static_cast<unsigned short>(std::stoul(value()));
      else if (a == "--key")
        o.key = value();
      else if (a == "--connections")
        o.connections = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--warmup")
        o.warmup_s = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--duration")
        o.duration_s = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--city")
        o.city = value();
      else if (a == "--check-in-days")
        o.check_in_days = std::stoi(value());
      else if (a == "--nights")
        o.nights = std::stoi(value());
      else if (a == "--serial")
        o.serial = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--verify")
        o.verify = static_cast<unsigned>(std::stoul(value()));
      else
        usage_error("unknown flag '" + a + "'");
    } catch (const std::logic_error&) {
      usage_error(a + ": not a number");
    }
  }
  if (o.connections == 0 || o.connections > 1024)
    usage_error("--connections must be 1..1024");
  if (o.duration_s == 0)
    usage_error("--duration must be positive");
  if (o.check_in_days < 0 || o.nights < 1)
    usage_error("--check-in-days must be >= 0 and --nights >= 1");
  return o;
}

/// today (UTC) + `days` as YYYY-MM-DD.
std::string utc_date(int days) {
  using namespace std::chrono;
  auto d = floor<std::chrono::days>(system_clock::now()) + std::chrono::days{days};
  year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

/// At most `n` characters of `s` on one line (an example is one output line).
std::string clip(const std::string& s, size_t n = example_chars) {
  std::string out =
      s.size() <= n ? s : s.substr(0, n) + "…(" + std::to_string(s.size()) + " bytes)";
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

/// One keep-alive HTTP/1.1 connection, synchronous. A transport error closes it; the next
/// request connects again.
class connection {
public:
  struct answer {
    unsigned status = 0; ///< 0: transport error (see `error`)
    std::string body;
    std::string error;
    bool replay = false; ///< Idempotent-Replay: true
  };

  connection(const options& o) : opts_(o), stream_(ioc_) {}

  answer request(http::verb method, const std::string& target, const std::string& body) {
    answer a;
    try {
      if (!open_) {
        tcp::resolver resolver{ioc_};
        stream_.expires_after(request_timeout);
        stream_.connect(resolver.resolve(opts_.host, std::to_string(opts_.port)));
        stream_.socket().set_option(tcp::no_delay{true});
        open_ = true;
      }
      http::request<http::string_body> req{method, target, 11};
      req.set(http::field::host, opts_.host + ":" + std::to_string(opts_.port));
      req.set(http::field::authorization, "Bearer " + opts_.key);
      req.set(http::field::user_agent, "bedbank-order-bench");
      req.keep_alive(true);
      if (method == http::verb::post) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
      }
      stream_.expires_after(request_timeout);
      http::write(stream_, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(max_answer_bytes);
      buffer_.clear();
      http::read(stream_, buffer_, parser);
      auto& res = parser.get();
      a.status = res.result_int();
      a.body = std::move(res.body());
      a.replay = res["Idempotent-Replay"] == "true";
      if (!res.keep_alive())
        close();
    } catch (const std::exception& e) {
      a.status = 0;
      a.error = e.what();
      close();
    }
    return a;
  }

private:
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    open_ = false;
  }

  const options& opts_;
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

struct rate {
  std::string key;
  json price; ///< {"amount", "currency"} as the search answered it
  std::string supplier;
};

/// One booking attempt that ended in a confirmed order.
struct sample {
  clock_type::time_point done; ///< the create answered
  int64_t trial_us = 0;
  int64_t create_us = 0;
  std::string order_id;
};

/// What every thread shares: the outcome counters and the examples of each kind.
struct tally {
  std::mutex mu;
  std::map<std::string, uint64_t> outcomes; ///< kind → count (the whole run)
  std::map<std::string, std::vector<std::string>> examples;

  void add(const std::string& kind, const std::string& example) {
    std::lock_guard lock{mu};
    ++outcomes[kind];
    auto& ex = examples[kind];
    if (ex.size() < examples_per_kind && !example.empty())
      ex.push_back(example);
  }
};

/// The kind of a non-confirmed answer: "<step> HTTP <status> <error code or status>".
std::string kind_of(const std::string& step, const connection::answer& a, const json& body) {
  if (a.status == 0)
    return step + " transport_error";
  std::string k = step + " HTTP " + std::to_string(a.status);
  if (body.is_object()) {
    if (body.contains("error") && body["error"].is_object() && body["error"].contains("code") &&
        body["error"]["code"].is_string())
      k += " " + body["error"]["code"].get<std::string>();
    else if (body.contains("status") && body["status"].is_string())
      k += " status=" + body["status"].get<std::string>();
  } else {
    k += " (not JSON)";
  }
  if (a.replay)
    k += " replay";
  return k;
}

std::string example_of(const std::string& target, const std::string& request,
                       const connection::answer& a) {
  std::string s = "POST " + target + " " + clip(request) + " -> ";
  if (a.status == 0)
    s += "error: " + a.error;
  else
    s += "HTTP " + std::to_string(a.status) + (a.replay ? " (Idempotent-Replay)" : "") + " " +
         clip(a.body);
  return s;
}

json parse_or_null(const std::string& text) {
  return json::parse(text, nullptr, false); // discarded (is_discarded) when not JSON
}

/// One booking: trial, then create with client_reference `ref`. A confirmed order is
/// returned; anything else is counted in `t` (with an example) and yields nothing.
std::optional<sample> book_once(connection& conn, const rate& r, const std::string& ref, tally& t) {
  json trial_req = {
      {"rate_key", r.key},
      {"rooms",
       json::array({{{"adults", 2},
                     {"children_ages", json::array()},
                     {"guests", json::array({{{"first_name", "San"}, {"last_name", "Zhang"}}})}}})},
      {"expected_price", r.price}};
  const std::string trial_body = trial_req.dump();
  auto t0 = clock_type::now();
  auto trial = conn.request(http::verb::post, "/api/orders/trial", trial_body);
  auto t1 = clock_type::now();
  json tj = trial.status == 0 ? json{} : parse_or_null(trial.body);
  bool available = (trial.status == 200 || trial.status == 201) && tj.is_object() &&
                   tj.value("status", "") == "available" && tj.contains("trial_id") &&
                   tj["trial_id"].is_string();
  if (!available) {
    t.add(kind_of("trial", trial, tj), example_of("/api/orders/trial", trial_body, trial));
    return std::nullopt;
  }
  json create_req = {{"trial_id", tj["trial_id"]}, {"client_reference", ref}, {"hold_only", false}};
  const std::string create_body = create_req.dump();
  auto create = conn.request(http::verb::post, "/api/orders", create_body);
  auto t2 = clock_type::now();
  json cj = create.status == 0 ? json{} : parse_or_null(create.body);
  bool confirmed = create.status == 201 && !create.replay && cj.is_object() &&
                   cj.value("status", "") == "confirmed" && cj.contains("order_id") &&
                   cj["order_id"].is_string();
  if (!confirmed) {
    t.add(kind_of("create", create, cj), example_of("/api/orders", create_body, create));
    return std::nullopt;
  }
  t.add("confirmed", "");
  return sample{t2, std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count(),
                std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1).count(),
                cj["order_id"].get<std::string>()};
}

/// The bookings of one thread until `stop`.
void run_worker(const options& o, unsigned id, const std::vector<rate>& rates,
                std::atomic<uint64_t>& next_rate, clock_type::time_point stop,
                const std::string& ref_prefix, tally& t, std::vector<sample>& out,
                std::latch& start) {
  connection conn{o};
  uint64_t n = 0;
  start.arrive_and_wait();
  while (clock_type::now() < stop) {
    const rate& r = rates[next_rate.fetch_add(1, std::memory_order_relaxed) % rates.size()];
    auto s =
        book_once(conn, r, ref_prefix + "-" + std::to_string(id) + "-" + std::to_string(++n), t);
    if (s)
      out.push_back(std::move(*s));
  }
}

/// Nearest-rank percentile of sorted values, in milliseconds.
double pct_ms(const std::vector<int64_t>& sorted_us, double p) {
  if (sorted_us.empty())
    return 0;
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted_us.size())));
  rank = std::clamp<size_t>(rank, 1, sorted_us.size());
  return static_cast<double>(sorted_us[rank - 1]) / 1000.0;
}

/// Spaces would split a RESULT value; outcome kinds go on their own lines instead.
std::string no_spaces(std::string s) {
  std::replace(s.begin(), s.end(), ' ', '_');
  return s;
}

} // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // progress lines reach run.sh's log at once
  auto o = parse_args(argc, argv);
  try {
    // 1. The search that yields the rate keys.
    const std::string check_in = utc_date(o.check_in_days);
    const std::string check_out = utc_date(o.check_in_days + o.nights);
    json search_req = {{"city", o.city},
                       {"check_in", check_in},
                       {"check_out", check_out},
                       {"rooms", json::array({{{"adults", 2}}})}};
    connection sc{o};
    auto s0 = clock_type::now();
    auto search = sc.request(http::verb::post, "/api/search", search_req.dump());
    auto search_ms = std::chrono::duration<double, std::milli>(clock_type::now() - s0).count();
    if (search.status != 200) {
      std::cerr << "order_bench: the search failed: "
                << example_of("/api/search", search_req.dump(), search) << "\n";
      return exit_failed;
    }
    json sj = parse_or_null(search.body);
    std::vector<rate> rates;
    size_t hotels = 0;
    if (sj.is_object() && sj.contains("results") && sj["results"].is_array()) {
      for (const auto& h : sj["results"]) {
        ++hotels;
        if (!h.contains("rates") || !h["rates"].is_array())
          continue;
        for (const auto& r : h["rates"])
          if (r.contains("rate_key") && r["rate_key"].is_string() && r.contains("price") &&
              r["price"].is_object())
            rates.push_back(
                rate{r["rate_key"].get<std::string>(), r["price"], r.value("supplier", "")});
      }
    }
    std::printf("order_bench: search %s %s..%s: HTTP 200 in %.1f ms, cache %s, %zu hotels, "
                "%zu rate keys\n",
                o.city.c_str(), check_in.c_str(), check_out.c_str(), search_ms,
                sj.is_object() ? sj.value("cache", "?").c_str() : "?", hotels, rates.size());
    if (rates.empty()) {
      std::cerr << "order_bench: the search answered no rate key: " << clip(search.body) << "\n";
      return exit_failed;
    }

    const std::string ref_prefix =
        "bench-" +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()) +
        "-" + std::to_string(::getpid());
    std::atomic<uint64_t> next_rate{0};

    // 1b. One at a time.
    tally serial_tally;
    std::vector<int64_t> serial_create_us;
    std::vector<int64_t> serial_booking_us;
    for (unsigned i = 0; i < o.serial; ++i) {
      const rate& r = rates[next_rate.fetch_add(1) % rates.size()];
      if (auto s = book_once(sc, r, ref_prefix + "-s-" + std::to_string(i), serial_tally)) {
        serial_create_us.push_back(s->create_us);
        serial_booking_us.push_back(s->trial_us + s->create_us);
      }
    }
    std::sort(serial_create_us.begin(), serial_create_us.end());
    std::sort(serial_booking_us.begin(), serial_booking_us.end());
    if (o.serial > 0)
      std::printf("order_bench: %u bookings one at a time: %zu confirmed; create p50 %.2f ms, "
                  "p99 %.2f ms; trial+create p50 %.2f ms\n",
                  o.serial, serial_create_us.size(), pct_ms(serial_create_us, 50),
                  pct_ms(serial_create_us, 99), pct_ms(serial_booking_us, 50));

    // 2. The load.
    std::printf("order_bench: %u connections, warm-up %u s, measured %u s: trial + create "
                "(hold_only false) in a loop, rate keys round robin\n",
                o.connections, o.warmup_s, o.duration_s);
    tally t;
    std::vector<std::vector<sample>> per_thread(o.connections);
    std::latch start{static_cast<std::ptrdiff_t>(o.connections) + 1};
    auto t_start = clock_type::now() + std::chrono::milliseconds(100);
    const auto window_start = t_start + std::chrono::seconds(o.warmup_s);
    const auto window_end = window_start + std::chrono::seconds(o.duration_s);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < o.connections; ++i)
      threads.emplace_back([&, i] {
        run_worker(o, i, rates, next_rate, window_end, ref_prefix, t, per_thread[i], start);
      });
    start.arrive_and_wait();
    for (auto& th : threads)
      th.join();
    auto all_done = clock_type::now();

    // 3. Figures.
    std::vector<int64_t> create_us;
    std::vector<int64_t> trial_us;
    std::vector<int64_t> booking_us;
    std::vector<std::string> order_ids;
    uint64_t confirmed_total = 0;
    for (const auto& v : per_thread) {
      confirmed_total += v.size();
      for (const auto& s : v) {
        if (s.done < window_start || s.done > window_end)
          continue;
        create_us.push_back(s.create_us);
        trial_us.push_back(s.trial_us);
        booking_us.push_back(s.trial_us + s.create_us);
      }
      if (!v.empty())
        order_ids.push_back(v.back().order_id);
    }
    std::sort(create_us.begin(), create_us.end());
    std::sort(trial_us.begin(), trial_us.end());
    std::sort(booking_us.begin(), booking_us.end());
    const double window_s = static_cast<double>(o.duration_s);
    const double rate_per_s = static_cast<double>(create_us.size()) / window_s;
    uint64_t not_confirmed = 0;
    uint64_t transport_errors = 0;
    uint64_t attempts = 0;
    for (const auto& [kind, count] : t.outcomes) {
      attempts += count;
      if (kind != "confirmed")
        not_confirmed += count;
      if (kind.find("transport_error") != std::string::npos)
        transport_errors += count;
    }
    std::printf("order_bench: %llu booking attempts in %.1f s (whole run), %llu confirmed, %llu "
                "not confirmed (%llu transport errors)\n",
                static_cast<unsigned long long>(attempts),
                std::chrono::duration<double>(all_done - t_start).count(),
                static_cast<unsigned long long>(confirmed_total),
                static_cast<unsigned long long>(not_confirmed),
                static_cast<unsigned long long>(transport_errors));
    std::printf("order_bench: measured window %u s: %zu confirmed = %.1f orders/s\n", o.duration_s,
                create_us.size(), rate_per_s);
    std::printf("order_bench: create  p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                pct_ms(create_us, 50), pct_ms(create_us, 95), pct_ms(create_us, 99),
                pct_ms(create_us, 100));
    std::printf("order_bench: trial   p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                pct_ms(trial_us, 50), pct_ms(trial_us, 95), pct_ms(trial_us, 99),
                pct_ms(trial_us, 100));
    std::printf("order_bench: trial+create p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                pct_ms(booking_us, 50), pct_ms(booking_us, 95), pct_ms(booking_us, 99),
                pct_ms(booking_us, 100));

    // 4. Read some confirmed orders back.
    unsigned verified = 0;
    unsigned checked = 0;
    std::string verify_problem;
    for (const auto& id : order_ids) {
      if (checked >= o.verify)
        break;
      ++checked;
      auto a = sc.request(http::verb::get, "/api/orders/" + id, "");
      json j = a.status == 200 ? parse_or_null(a.body) : json{};
      if (a.status == 200 && j.is_object() && j.value("status", "") == "confirmed")
        ++verified;
      else if (verify_problem.empty())
        verify_problem = "GET /api/orders/" + id + " -> " +
                         (a.status == 0 ? "error: " + a.error
                                        : "HTTP " + std::to_string(a.status) + " " + clip(a.body));
    }
    std::printf("order_bench: read back %u confirmed orders with GET /api/orders/{id}: %u "
                "confirmed\n",
                checked, verified);
    if (!verify_problem.empty())
      std::printf("order_bench: read back: %s\n", verify_problem.c_str());

    std::printf("RESULT connections=%u warmup_s=%u duration_s=%u rate_keys=%zu hotels=%zu "
                "attempts=%llu confirmed_total=%llu confirmed=%zu orders_per_s=%.1f "
                "create_p50_ms=%.2f create_p95_ms=%.2f create_p99_ms=%.2f create_max_ms=%.2f "
                "trial_p50_ms=%.2f trial_p99_ms=%.2f booking_p50_ms=%.2f booking_p95_ms=%.2f "
                "booking_p99_ms=%.2f not_confirmed=%llu transport_errors=%llu verified=%u "
                "verify_checked=%u check_in=%s check_out=%s serial=%u serial_confirmed=%zu "
                "serial_create_p50_ms=%.2f serial_create_p99_ms=%.2f serial_booking_p50_ms=%.2f "
                "serial_not_confirmed=%zu\n",
                o.connections, o.warmup_s, o.duration_s, rates.size(), hotels,
                static_cast<unsigned long long>(attempts),
                static_cast<unsigned long long>(confirmed_total), create_us.size(), rate_per_s,
                pct_ms(create_us, 50), pct_ms(create_us, 95), pct_ms(create_us, 99),
                pct_ms(create_us, 100), pct_ms(trial_us, 50), pct_ms(trial_us, 99),
                pct_ms(booking_us, 50), pct_ms(booking_us, 95), pct_ms(booking_us, 99),
                static_cast<unsigned long long>(not_confirmed),
                static_cast<unsigned long long>(transport_errors), verified, checked,
                check_in.c_str(), check_out.c_str(), o.serial, serial_create_us.size(),
                pct_ms(serial_create_us, 50), pct_ms(serial_create_us, 99),
                pct_ms(serial_booking_us, 50), o.serial - serial_create_us.size());
    for (const auto& [kind, count] : serial_tally.outcomes)
      if (kind != "confirmed")
        std::printf("OUTCOME one-at-a-time_%s %llu\n", no_spaces(kind).c_str(),
                    static_cast<unsigned long long>(count));
    for (const auto& [kind, list] : serial_tally.examples)
      for (const auto& e : list)
        std::printf("EXAMPLE one at a time, %s: %s\n", kind.c_str(), e.c_str());
    for (const auto& [kind, count] : t.outcomes)
      std::printf("OUTCOME %s %llu\n", no_spaces(kind).c_str(),
                  static_cast<unsigned long long>(count));
    for (const auto& [kind, list] : t.examples)
      for (const auto& e : list)
        std::printf("EXAMPLE %s: %s\n", kind.c_str(), e.c_str());
    if (confirmed_total == 0) {
      std::cerr << "order_bench: not a single order was confirmed\n";
      return exit_failed;
    }
  } catch (const std::exception& e) {
    std::cerr << "order_bench: " << e.what() << "\n";
    return exit_failed;
  }
  return 0;
}
