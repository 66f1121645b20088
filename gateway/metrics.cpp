// Gateway counters and their Prometheus rendering.
#include "gateway/metrics.hpp"

#include <cstdio>

namespace bedbank::gateway {

namespace {

constexpr double us_per_s = 1e6;

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

} // namespace

const char* to_string(route r) {
  switch (r) {
  case route::search:
    return "/api/search";
  case route::hotels:
    return "/api/hotels";
  case route::traces:
    return "/api/traces";
  case route::orders_trial:
    return "/api/orders/trial";
  case route::orders:
    return "/api/orders";
  case route::order:
    return "/api/orders/{id}";
  case route::admin_orders:
    return "/admin/orders";
  case route::admin_health:
    return "/admin/health";
  case route::admin_suppliers:
    return "/admin/suppliers";
  case route::admin_circuit:
    return "/admin/suppliers/circuit";
  case route::admin_cluster:
    return "/admin/cluster";
  case route::admin_nodes:
    return "/admin/nodes/{id}/drain";
  case route::admin_traces:
    return "/admin/traces";
  case route::metrics:
    return "/metrics";
  case route::other:
  case route::count_:
    break;
  }
  return "other";
}

size_t metrics::status_index(unsigned status) {
  for (size_t i = 0; i + 1 < statuses.size(); ++i)
    if (statuses[i] == status)
      return i;
  return statuses.size() - 1;
}

void metrics::observe(route r, unsigned status, int64_t duration_us) {
  auto ri = static_cast<size_t>(r);
  if (ri >= n_routes)
    ri = static_cast<size_t>(route::other);
  requests_[ri][status_index(status)].fetch_add(1, std::memory_order_relaxed);
  double s = static_cast<double>(duration_us) / us_per_s;
  for (size_t b = 0; b < n_buckets; ++b)
    if (s <= latency_buckets_s[b]) {
      buckets_[ri][b].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  latency_count_[ri].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_[ri].fetch_add(static_cast<uint64_t>(duration_us < 0 ? 0 : duration_us),
                                std::memory_order_relaxed);
}

uint64_t metrics::requests(route r, unsigned status) const {
  return requests_[static_cast<size_t>(r)][status_index(status)].load(std::memory_order_relaxed);
}

std::string metrics::render() const {
  std::string out;
  out.reserve(8192);
  out += "# HELP bedbank_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE bedbank_http_requests_total counter\n";
  for (size_t r = 0; r < n_routes; ++r)
    for (size_t s = 0; s < statuses.size(); ++s) {
      auto v = requests_[r][s].load(std::memory_order_relaxed);
      if (v == 0)
        continue;
      out += "bedbank_http_requests_total{route=\"";
      out += to_string(static_cast<route>(r));
      out += "\",status=\"";
      out += statuses[s] == 0 ? std::string{"other"} : std::to_string(statuses[s]);
      out += "\"} ";
      out += std::to_string(v);
      out += '\n';
    }
  out += "# HELP bedbank_http_request_duration_seconds HTTP request latency.\n";
  out += "# TYPE bedbank_http_request_duration_seconds histogram\n";
  for (size_t r = 0; r < n_routes; ++r) {
    auto count = latency_count_[r].load(std::memory_order_relaxed);
    if (count == 0)
      continue;
    std::string label = std::string{"route=\""} + to_string(static_cast<route>(r)) + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < n_buckets; ++b) {
      cumulative += buckets_[r][b].load(std::memory_order_relaxed);
      out += "bedbank_http_request_duration_seconds_bucket{" + label + ",le=\"" +
             fmt_double(latency_buckets_s[b]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "bedbank_http_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " +
           std::to_string(count) + "\n";
    out += "bedbank_http_request_duration_seconds_sum{" + label + "} " +
           fmt_double(static_cast<double>(latency_sum_us_[r].load(std::memory_order_relaxed)) /
                      us_per_s) +
           "\n";
    out += "bedbank_http_request_duration_seconds_count{" + label + "} " + std::to_string(count) +
           "\n";
  }
  out += "# HELP bedbank_http_requests_in_flight HTTP requests being served.\n";
  out += "# TYPE bedbank_http_requests_in_flight gauge\n";
  out += "bedbank_http_requests_in_flight " + std::to_string(in_flight()) + "\n";
  out += "# HELP bedbank_http_rate_limited_total Requests refused by the rate limiter.\n";
  out += "# TYPE bedbank_http_rate_limited_total counter\n";
  out += "bedbank_http_rate_limited_total " +
         std::to_string(rate_limited_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

} // namespace bedbank::gateway
