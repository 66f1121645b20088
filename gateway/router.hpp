// Routing of the agent and admin APIs: authentication, rate limits, trace
// context, spans and metrics around every request, and the bridge from HTTP
// to the node's actors (each actor call from a short-lived request actor with
// a finite timeout, so no I/O thread ever blocks).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/http_types.hpp"
#include "gateway/metrics.hpp"
#include "gateway/node_context.hpp"
#include "gateway/rate_limiter.hpp"

namespace bedbank::gateway {

/// Extra time the gateway gives the query engine beyond pricing.supplier_timeout.
inline constexpr std::chrono::milliseconds search_grace{2000};
/// Deadline of a trace read.
inline constexpr std::chrono::milliseconds trace_timeout{5000};
/// Deadline of admin and metrics calls to actors.
inline constexpr std::chrono::milliseconds admin_timeout{2000};
/// Largest `limit` of GET /api/hotels.
inline constexpr int max_hotels_page = 200;
/// Default `limit` of GET /api/hotels.
inline constexpr int default_hotels_page = 50;

struct exchange;

/// Routes requests of both listeners; thread-safe, shared by every session.
class router : public std::enable_shared_from_this<router> {
public:
  /// A configured agent as the gateway needs it.
  struct agent_entry {
    std::string id;
    std::string api_key;
    int64_t rate_limit = 0;
    int32_t markup_bps = 0;
  };

  /// Builds the key tables from `ctx.cfg`; `clickhouse_ping` may be empty.
  router(node_context ctx, std::shared_ptr<metrics> stats, ping_fn clickhouse_ping);
  ~router();

  /// Serves one request; `reply` is called exactly once, possibly from another thread.
  void handle(port_kind port, http_request req, reply_fn reply);

  /// Requests accepted and not yet answered (graceful stop waits for 0).
  int64_t pending() const { return pending_.load(); }

  /// The counters this router updates.
  const std::shared_ptr<metrics>& stats() const { return metrics_; }

  /// Completes `x`: trace and rate-limit headers, metrics, span, then the
  /// reply. Only the first call per exchange has an effect.
  void finish(exchange& x, http_response res);

  /// The agent owning `api_key` (constant-time key comparison), or null.
  const agent_entry* authenticate(const std::string& api_key) const;

private:
  friend struct exchange;

  // router.cpp
  void route_agent(const std::shared_ptr<exchange>& x);
  void search(const std::shared_ptr<exchange>& x);
  void hotels(const std::shared_ptr<exchange>& x);
  void record_span(const exchange& x, const http_response& res, int64_t now_us);

  // order_routes.cpp
  void order_trial(const std::shared_ptr<exchange>& x);
  void create_order(const std::shared_ptr<exchange>& x);
  /// GET /api/orders/{id}, POST …/confirm, POST …/cancel.
  void order_action(const std::shared_ptr<exchange>& x);
  /// GET /api/orders (agent_id set) and GET /admin/orders (agent_id empty).
  void list_orders(const std::shared_ptr<exchange>& x, const std::string& agent_id);
  /// The mock scenario of the `Test` header: empty when absent; answers 400 and returns
  /// nothing when it is not allowed (production) or unknown.
  std::optional<std::string> test_scenario(exchange& x);
  void serve_cached(const std::shared_ptr<exchange>& x, const domain::search_query& q,
                    const search_result& hit);
  /// Answers `x` with a search result; a cached result's fragment is rendered
  /// once per markup/currency/page and written without a copy.
  void answer_search(exchange& x, const search_result& r, const std::string& search_id,
                     bool cache_hit, const domain::search_query& q);

  // trace_routes.cpp
  /// GET {/api,/admin}/traces/`rest` for `agent_id` (empty: an operator, every agent).
  void traces(const std::shared_ptr<exchange>& x, std::string_view rest,
              const std::string& agent_id);
  /// POST /admin/traces/archive: one archive pass now.
  void archive_now(const std::shared_ptr<exchange>& x);

  // admin_routes.cpp
  void route_admin(const std::shared_ptr<exchange>& x);
  void health(const std::shared_ptr<exchange>& x);
  void prometheus(const std::shared_ptr<exchange>& x);

  // cluster_routes.cpp: answers gathered from every node, each with a deadline.
  /// GET /admin/suppliers: every engine node's breakers, summed per supplier.
  void suppliers(const std::shared_ptr<exchange>& x);
  /// POST /admin/suppliers/{code}/circuit, applied on every engine node.
  void circuit(const std::shared_ptr<exchange>& x, const std::string& code);
  /// GET /admin/cluster.
  void cluster(const std::shared_ptr<exchange>& x);
  /// The members as this node sees them and the status of each that answers in time
  /// (cluster.gather_timeout); `k` runs once, on the thread of the last answer.
  using status_fn =
      std::function<void(std::vector<member_info>, std::map<std::string, node_status>&,
                         std::map<std::string, std::string>&)>;
  void gather_status(status_fn k);
  /// POST /admin/nodes/{id}/drain.
  void drain(const std::shared_ptr<exchange>& x, const std::string& node);

  node_context ctx_;
  std::shared_ptr<metrics> metrics_;
  ping_fn clickhouse_ping_;
  rate_limiter limiter_;
  /// Rendered answer fragments of cached results: (token, markup, currency, max) → JSON text.
  ttl_cache<std::shared_ptr<const std::string>> renders_;
  std::vector<agent_entry> agents_;
  std::unordered_multimap<uint64_t, size_t> key_index_; ///< hash of api key → agents_ index
  std::atomic<int64_t> pending_{0};
  std::atomic<uint64_t> reader_seq_{0}; ///< where the search for the least busy reader starts
  /// Reports in flight per trace reader (config caps trace.readers at max_trace_readers).
  std::shared_ptr<std::array<std::atomic<int>, config::max_trace_readers>> reader_busy_ =
      std::make_shared<std::array<std::atomic<int>, config::max_trace_readers>>();
};

} // namespace bedbank::gateway
