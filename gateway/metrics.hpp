// The gateway's own counters (atomics, no locks on the hot path) and their
// Prometheus text exposition (format 0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace bedbank::gateway {

/// Routes the gateway counts requests under (a fixed set: bounded label values).
enum class route : uint8_t {
  search,
  hotels,
  traces,
  orders_trial,
  orders,
  order,
  admin_health,
  admin_suppliers,
  admin_circuit,
  admin_cluster,
  admin_nodes,
  admin_traces,
  admin_orders,
  metrics,
  other, ///< unknown paths and requests rejected before routing
  count_,
};

/// The `route` label of `r`.
const char* to_string(route r);

/// Request counters by route and status, a latency histogram per route, the
/// in-flight gauge and the rate-limited counter.
class metrics {
public:
  /// Upper bounds of the latency histogram buckets, in seconds.
  static constexpr std::array<double, 12> latency_buckets_s{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
  /// Status codes counted individually; any other is counted as "other".
  static constexpr std::array<unsigned, 17> statuses{200, 201, 400, 401, 402, 404, 405, 409, 413,
                                                     415, 429, 431, 500, 501, 503, 504, 0};

  /// One finished request.
  void observe(route r, unsigned status, int64_t duration_us);
  /// A request entered / left the gateway.
  void request_started() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void request_finished() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  /// A request refused by the rate limiter.
  void rate_limited() { rate_limited_.fetch_add(1, std::memory_order_relaxed); }

  /// Requests counted for `r` with `status` (tests).
  uint64_t requests(route r, unsigned status) const;
  /// Requests now in flight.
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  /// The gateway series in Prometheus text format 0.0.4.
  std::string render() const;

private:
  static constexpr size_t n_routes = static_cast<size_t>(route::count_);
  static constexpr size_t n_buckets = latency_buckets_s.size();
  static size_t status_index(unsigned status);

  std::array<std::array<std::atomic<uint64_t>, statuses.size()>, n_routes> requests_{};
  std::array<std::array<std::atomic<uint64_t>, n_buckets>, n_routes> buckets_{};
  std::array<std::atomic<uint64_t>, n_routes> latency_count_{};
  std::array<std::atomic<uint64_t>, n_routes> latency_sum_us_{};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> rate_limited_{0};
};

} // namespace bedbank::gateway
