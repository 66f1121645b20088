// How the node makes its actors: one function per actor kind, implemented in
// the actor's own file. The node supervisor calls these (and calls them again
// after a crash).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "actors/directory.hpp"
#include "actors/local_cache.hpp"
#include "actors/placement.hpp"
#include "config/config.hpp"
#include "domain/catalog.hpp"
#include "persistence/clickhouse_client.hpp"

namespace bedbank {

/// What every actor of the node may read: immutable after start.
struct node_env {
  std::shared_ptr<const config::bedbank_config> cfg;
  std::shared_ptr<const domain::catalog> catalog;
  std::shared_ptr<directory> actors;
  std::shared_ptr<local_cache> cache;
  std::string node_id;
  /// Where work lives in the cluster (a cluster of one when the node runs alone); may be null
  /// in unit tests, which then see a node alone.
  std::shared_ptr<const placement> place;
  /// Live counts of the many-per-node actors (may be null in unit tests).
  std::shared_ptr<actor_counters> counters;
};

/// A simulated supplier configured by `cfg.suppliers[code].mock`.
mock_supplier_actor spawn_mock_supplier(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                                        const std::string& code);

/// The connection for supplier `code` in front of `adapter`.
supplier_conn_actor spawn_supplier_conn(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                                        const std::string& code, supplier_actor adapter);

/// One search actor; answers one search_atom request, then quits.
search_actor spawn_search(caf::actor_system& sys, std::shared_ptr<const node_env> env);

/// The query engine of the node.
query_engine_actor spawn_query_engine(caf::actor_system& sys, std::shared_ptr<const node_env> env);

/// The journal; it finds its span writer in the directory under `span_writer_name`.
journal_actor spawn_journal(caf::actor_system& sys, std::shared_ptr<const node_env> env);

/// Directory name of the span writer.
inline constexpr const char* span_writer_name = "span_writer";

/// A detached actor that COPYs spans into PostgreSQL at `conninfo`.
span_writer_actor spawn_span_writer(caf::actor_system& sys, const std::string& conninfo);

/// A detached actor reading trace_events from PostgreSQL at `conninfo`.
/// A search naming hotels records one `hotel_rates` span per named hotel (related to the
/// hotel: GET /api/traces/by-hotel finds it) with what was found for it, under
/// `parent_span_id`; a city search none (one span per hotel of a city would multiply the
/// journal's volume). Used by the search actor and by the gateway's cache hits.
std::vector<span_record> hotel_spans(const domain::search_query& q, const search_result& result,
                                     const std::string& trace_id, const std::string& parent_span_id,
                                     const std::string& agent_id, const std::string& node,
                                     bool cache_hit);

/// The ClickHouse archive's client of `cfg` (none when clickhouse.enabled is false).
std::optional<persistence::clickhouse_client> archive_client(const config::bedbank_config& cfg);

/// A trace reader over PostgreSQL (`conninfo`) and, when `cfg.clickhouse.enabled`, the archive.
trace_reader_actor spawn_trace_reader(caf::actor_system& sys, const config::bedbank_config& cfg);

/// The archiver of `env`'s configuration (needs clickhouse.enabled).
archiver_actor spawn_archiver(caf::actor_system& sys, std::shared_ptr<const node_env> env);

/// A detached actor in front of Redis for the price cache.
price_cache_actor spawn_price_cache(caf::actor_system& sys, const config::redis_config& cfg);

/// A detached actor keeping the mock suppliers' bookings in PostgreSQL at `conninfo`.
mock_ledger_actor spawn_mock_ledger(caf::actor_system& sys, const std::string& conninfo);

/// A detached actor running order_store calls on its own connection to `conninfo`.
order_store_actor spawn_order_store(caf::actor_system& sys, const std::string& conninfo);

/// The order store serving `key` (an order id: the same store for an order every time, so
/// its calls stay in order); null when the node has none registered.
order_store_actor order_store_for(const node_env& env, const std::string& key);

/// The order engine of the node (order and hold actors are its children).
order_engine_actor spawn_order_engine(caf::actor_system& sys, std::shared_ptr<const node_env> env);

/// One order actor for `order_id`; it loads the order on its first message unless `known`
/// (just written by the create transaction) is given. `engine` is told when it is idle and
/// when the order's hold is no longer needed.
order_actor spawn_order(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                        std::string order_id, order_engine_actor engine,
                        std::optional<order_record> known = std::nullopt);

/// One hold actor; it reports the hold's expiry (or lost inventory) to `engine`.
hold_actor spawn_hold(caf::actor_system& sys, std::shared_ptr<const node_env> env, hold_info hold,
                      order_engine_actor engine);

/// The outbox relay of the node; it hands claimed rows to the order engine in the directory.
outbox_relay_actor spawn_outbox_relay(caf::actor_system& sys, std::shared_ptr<const node_env> env);

/// Sends a span to the node's journal (if it is up); never blocks, never fails.
void record_span(const node_env& env, span_record span);

/// A span that starts a trace of its own, now, on this node: `event_type` by `service` about
/// (`related_type`, `related_id`) with `status` (background work: supervision, crashes).
span_record incident_span(const node_env& env, std::string event_type, std::string service,
                          std::string related_type, std::string related_id, std::string status);

} // namespace bedbank

namespace bedbank {

/// A long-lived child of the node supervisor: its directory name and how to start it.
struct child_spec {
  std::string name;
  std::function<caf::strong_actor_ptr(caf::actor_system&)> start;
};

/// Restart policy (OTP's intensity/period, with exponential back-off).
struct supervision_settings {
  int max_restarts = 5; ///< within `window` before escalating
  std::chrono::milliseconds window{60000};
  std::chrono::milliseconds backoff_min{100};   ///< first restart delay
  std::chrono::milliseconds backoff_max{10000}; ///< cap of the doubling delay
};

/// The policy of `supervision:`.
supervision_settings supervision_of(const config::supervision_config& cfg);

/// The node supervisor: starts `children` in order, publishes each in
/// `actors`, restarts a child that exits with back-off, and quits (taking the
/// children with it) when a child restarts more than the policy allows. With `env`, every
/// restart and the escalation are also recorded as `supervision` spans.
caf::actor spawn_node_supervisor(caf::actor_system& sys, std::shared_ptr<directory> actors,
                                 std::vector<child_spec> children, supervision_settings policy,
                                 std::shared_ptr<const node_env> env = nullptr);

/// Directory name of the node supervisor itself (for its restart counts).
inline constexpr const char* supervisor_name = "node_supervisor";

} // namespace bedbank
