// Every message type that crosses an actor boundary, each with inspect(), and
// bedbank's CAF type-ID block. Registered on every node (cluster-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include "domain/rate_generator.hpp"
#include "domain/search_query.hpp"

namespace bedbank::domain {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, room_occupancy& x) {
  return f(caf::meta::type_name("room_occupancy"), x.adults, x.children_ages);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, search_query& x) {
  return f(caf::meta::type_name("search_query"), x.city, x.hotel_ids, x.check_in, x.check_out,
           x.rooms, x.currency, x.max_results);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancellation_policy& x) {
  return f(caf::meta::type_name("cancellation_policy"), x.from_us, x.penalty_minor);
}

} // namespace bedbank::domain

namespace bedbank {

/// Where a piece of work sits in a trace: the W3C trace id (32 hex), the
/// span that caused it (16 hex) and the agent it is done for.
struct trace_context {
  std::string trace_id;
  std::string parent_span_id;
  std::string agent_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, trace_context& x) {
  return f(caf::meta::type_name("trace_context"), x.trace_id, x.parent_span_id, x.agent_id);
}

/// One span of the journal: a row of `trace_events`.
struct span_record {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id; ///< empty for a root span
  std::string event_type;     ///< search, cache_hit, supplier_query, http_request, ...
  std::string service;        ///< api_gateway, query_engine, supplier_adapter, ...
  std::string related_type;   ///< order, supplier, agent, hotel (or empty)
  std::string related_id;
  std::string request_data;  ///< JSON text, or empty for NULL
  std::string response_data; ///< JSON text, or empty for NULL
  int64_t started_us = 0;    ///< start, microseconds since the epoch
  int64_t duration_us = 0;
  std::string status; ///< success | error | timeout
  std::string error_detail;
  std::string agent_id; ///< owner, for agent-scoped reads
  std::string node;     ///< node id that recorded it
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, span_record& x) {
  return f(caf::meta::type_name("span_record"), x.trace_id, x.span_id, x.parent_span_id,
           x.event_type, x.service, x.related_type, x.related_id, x.request_data, x.response_data,
           x.started_us, x.duration_us, x.status, x.error_detail, x.agent_id, x.node);
}

// -- supplier adapter interface (the seed's SupplierAdapter) -------------------

/// SearchHotels: which of the supplier's hotels are in a city.
struct hotels_request {
  std::string city;
  trace_context trace;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hotels_request& x) {
  return f(caf::meta::type_name("hotels_request"), x.city, x.trace);
}

struct hotels_reply {
  std::vector<std::string> hotel_codes;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, hotels_reply& x) {
  return f(caf::meta::type_name("hotels_reply"), x.hotel_codes);
}

/// SearchRates: prices for a stay at some of the supplier's hotels.
struct rates_request {
  std::vector<std::string> hotel_codes; ///< the supplier's own codes
  int32_t check_in = 0;                 ///< domain::day
  int32_t check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  trace_context trace;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, rates_request& x) {
  return f(caf::meta::type_name("rates_request"), x.hotel_codes, x.check_in, x.check_out, x.rooms,
           x.trace);
}

/// One offer of one supplier.
struct supplier_rate {
  std::string supplier;
  std::string hotel_code; ///< supplier's hotel code
  std::string room_code;
  std::string room_name;
  std::string board;
  int64_t net_minor = 0;
  std::string currency;
  bool refundable = true;
  bool bookable = true;
  std::vector<domain::cancellation_policy> policies;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, supplier_rate& x) {
  return f(caf::meta::type_name("supplier_rate"), x.supplier, x.hotel_code, x.room_code,
           x.room_name, x.board, x.net_minor, x.currency, x.refundable, x.bookable, x.policies);
}

struct rates_reply {
  std::vector<supplier_rate> rates;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, rates_reply& x) {
  return f(caf::meta::type_name("rates_reply"), x.rates);
}

/// CreateBooking at the supplier; `idempotency_key` is the platform order id.
struct booking_request {
  std::string idempotency_key;
  std::string hotel_code;
  std::string room_code;
  std::string board;
  int32_t check_in = 0;
  int32_t check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  int64_t expected_net_minor = 0;
  std::string currency;
  std::string holder_name;
  /// Mock suppliers only: the test scenario to play (empty: the configured one).
  std::string scenario;
  trace_context trace;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, booking_request& x) {
  return f(caf::meta::type_name("booking_request"), x.idempotency_key, x.hotel_code, x.room_code,
           x.board, x.check_in, x.check_out, x.rooms, x.expected_net_minor, x.currency,
           x.holder_name, x.scenario, x.trace);
}

/// The supplier's booking as it knows it (CreateBooking / GetBooking answer).
struct booking_detail {
  bool found = false; ///< GetBooking: whether the supplier has a booking under the key
  std::string supplier_ref;
  std::string idempotency_key;
  std::string status; ///< confirmed | cancelled
  int64_t net_minor = 0;
  std::string currency;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, booking_detail& x) {
  return f(caf::meta::type_name("booking_detail"), x.found, x.supplier_ref, x.idempotency_key,
           x.status, x.net_minor, x.currency);
}

/// CancelBooking at the supplier.
struct cancel_request {
  std::string supplier_ref;
  std::string idempotency_key;
  std::string scenario; ///< mock suppliers only (empty: the configured one)
  trace_context trace;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_request& x) {
  return f(caf::meta::type_name("cancel_request"), x.supplier_ref, x.idempotency_key, x.scenario,
           x.trace);
}

/// GetBooking: what the supplier holds under the platform's idempotency key (the order id).
struct booking_query {
  std::string idempotency_key;
  std::string scenario; ///< mock suppliers only (empty: the configured one)
  trace_context trace;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, booking_query& x) {
  return f(caf::meta::type_name("booking_query"), x.idempotency_key, x.scenario, x.trace);
}

/// CheckAvailability: re-check one rate before booking.
struct avail_request {
  std::string hotel_code;
  std::string room_code;
  std::string board;
  int32_t check_in = 0;
  int32_t check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  std::string scenario; ///< mock suppliers only (empty: the configured one)
  trace_context trace;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, avail_request& x) {
  return f(caf::meta::type_name("avail_request"), x.hotel_code, x.room_code, x.board, x.check_in,
           x.check_out, x.rooms, x.scenario, x.trace);
}

/// The rate as the supplier sells it now; `available` false when it is sold out.
struct avail_reply {
  bool available = false;
  int64_t net_minor = 0;
  std::string currency;
  std::string room_name;
  bool refundable = true;
  std::vector<domain::cancellation_policy> policies; ///< penalties in the supplier's currency
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, avail_reply& x) {
  return f(caf::meta::type_name("avail_reply"), x.available, x.net_minor, x.currency, x.room_name,
           x.refundable, x.policies);
}

/// What an operator sees of one supplier connection (GET /admin/suppliers).
struct supplier_stats {
  std::string code;
  std::string name;
  bool enabled = true;
  std::string circuit; ///< closed | open | half_open
  std::string mode;    ///< auto | forced_open | forced_closed
  int32_t consecutive_failures = 0;
  int64_t reset_timeout_ms = 0;
  uint64_t calls = 0;
  uint64_t successes = 0;
  uint64_t errors = 0;
  uint64_t timeouts = 0;
  uint64_t rejected = 0; ///< failed fast: circuit open or bulkhead full
  int32_t in_flight = 0;
  int32_t max_concurrent = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supplier_stats& x) {
  return f(caf::meta::type_name("supplier_stats"), x.code, x.name, x.enabled, x.circuit, x.mode,
           x.consecutive_failures, x.reset_timeout_ms, x.calls, x.successes, x.errors, x.timeouts,
           x.rejected, x.in_flight, x.max_concurrent, x.p50_ms, x.p95_ms, x.p99_ms);
}

// -- search ------------------------------------------------------------------

/// One price query, as the gateway hands it to the query engine.
struct search_request {
  domain::search_query query;
  trace_context trace;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, search_request& x) {
  return f(caf::meta::type_name("search_request"), x.query, x.trace);
}

/// How one supplier did in one search.
struct supplier_outcome {
  std::string code;
  std::string status; ///< ok | timeout | error | circuit_open
  int64_t latency_us = 0;
  int32_t rates = 0;
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supplier_outcome& x) {
  return f(caf::meta::type_name("supplier_outcome"), x.code, x.status, x.latency_us, x.rates,
           x.message);
}

/// A platform hotel with every supplier's rates, net prices, cheapest first.
struct merged_hotel {
  std::string hotel_id;
  std::string hotel_name;
  int64_t cheapest_net_minor = 0;
  std::vector<supplier_rate> rates;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, merged_hotel& x) {
  return f(caf::meta::type_name("merged_hotel"), x.hotel_id, x.hotel_name, x.cheapest_net_minor,
           x.rates);
}

/// The query engine's answer: merged net results (markup is the gateway's) and per-supplier
/// outcomes.
struct search_result {
  std::string search_id;
  bool cache_hit = false;
  std::vector<merged_hotel> hotels; ///< sorted by cheapest net price
  std::vector<supplier_outcome> suppliers;
  /// Identity of the cached copy this result is (0: not cached). Renderings of
  /// a cached result may be reused for as long as the token is served.
  uint64_t cache_token = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, search_result& x) {
  return f(caf::meta::type_name("search_result"), x.search_id, x.cache_hit, x.hotels, x.suppliers,
           x.cache_token);
}

// -- journal and stores ------------------------------------------------------------

/// Counters of the journal (metrics and benchmarks).
struct journal_stats {
  uint64_t accepted = 0; ///< spans taken into the buffer
  uint64_t written = 0;  ///< spans committed to PostgreSQL
  uint64_t dropped = 0;  ///< spans lost: buffer full or batch given up
  uint64_t batches = 0;
  uint64_t failed_batches = 0;
  uint64_t buffered = 0; ///< now in memory, not yet written
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, journal_stats& x) {
  return f(caf::meta::type_name("journal_stats"), x.accepted, x.written, x.dropped, x.batches,
           x.failed_batches, x.buffered);
}

/// A value read from the price cache; `found` false on a miss.
struct cache_value {
  bool found = false;
  std::string data;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, cache_value& x) {
  return f(caf::meta::type_name("cache_value"), x.found, x.data);
}

/// Reads of trace_events: one trace, agent-scoped unless `agent_id` is empty.
struct trace_query {
  std::string trace_id;
  std::string agent_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, trace_query& x) {
  return f(caf::meta::type_name("trace_query"), x.trace_id, x.agent_id);
}

/// Health of one dependency (GET /admin/health).
struct dependency_health {
  std::string name;
  bool ok = false;
  int64_t latency_us = 0;
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dependency_health& x) {
  return f(caf::meta::type_name("dependency_health"), x.name, x.ok, x.latency_us, x.message);
}

// -- orders ------------------------------------------------------------------------

/// One status change of an order (order_events), as GET /api/orders/{id} shows it.
struct order_history_entry {
  std::string from_status; ///< empty for the creation
  std::string to_status;
  std::string event;  ///< domain::order_event name, or "created"
  std::string reason; ///< why, in snake_case (hold_expired, sold_out, ...), may be empty
  int64_t at_us = 0;
  std::string trace_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_history_entry& x) {
  return f(caf::meta::type_name("order_history_entry"), x.from_status, x.to_status, x.event,
           x.reason, x.at_us, x.trace_id);
}

/// An order as PostgreSQL holds it (`orders` row plus its history). Money in minor units:
/// `price` is what the agent pays (markup included, in the agent's currency), `net` what the
/// platform pays the supplier, `credit` what is reserved or captured on the agent's credit line
/// (in the line's currency).
struct order_record {
  std::string order_id;
  std::string agent_id;
  std::string client_reference;
  std::string status;        ///< domain::order_status name
  std::string status_reason; ///< snake_case, may be empty
  std::string supplier;
  std::string supplier_ref; ///< the supplier's booking reference once confirmed
  std::string hotel_id;     ///< platform hotel id
  std::string hotel_code;   ///< the supplier's hotel code
  std::string room_code;
  std::string room_name;
  std::string board;
  int32_t check_in = 0; ///< domain::day
  int32_t check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  std::string guests_json;  ///< the agent's rooms with guest names, JSON array text
  std::string contact_json; ///< JSON object text, may be empty
  int64_t price_minor = 0;
  std::string currency;
  int64_t net_minor = 0;
  std::string net_currency;
  int64_t credit_minor = 0; ///< 0 when no credit was reserved (credit checks off)
  std::string credit_currency;
  bool refundable = true;
  std::vector<domain::cancellation_policy> policies; ///< penalties in `currency`
  bool hold_only = false;
  int64_t hold_expires_us = 0; ///< the inventory hold's expiry (0: no hold)
  int64_t penalty_minor = 0;   ///< set when cancelled
  int64_t refund_minor = 0;    ///< set when cancelled
  std::string scenario;        ///< mock test scenario chosen at trial/create (development)
  int32_t version = 0;         ///< optimistic lock; +1 per change
  int64_t created_us = 0;
  int64_t updated_us = 0;
  std::string trace_id; ///< the trace that created it (background work continues it)
  std::vector<std::string> trace_ids;
  std::vector<order_history_entry> history;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, order_record& x) {
  return f(caf::meta::type_name("order_record"), x.order_id, x.agent_id, x.client_reference,
           x.status, x.status_reason, x.supplier, x.supplier_ref, x.hotel_id, x.hotel_code,
           x.room_code, x.room_name, x.board, x.check_in, x.check_out, x.rooms, x.guests_json,
           x.contact_json, x.price_minor, x.currency, x.net_minor, x.net_currency, x.credit_minor,
           x.credit_currency, x.refundable, x.policies, x.hold_only, x.hold_expires_us,
           x.penalty_minor, x.refund_minor, x.scenario, x.version, x.created_us, x.updated_us,
           x.trace_id, x.trace_ids, x.history);
}

/// A re-checked rate, kept (in Redis, for inventory.hold_ttl) until an order is made from it.
/// The order id is chosen here so the trial's spans already belong to the order.
struct trial_record {
  std::string trial_id;
  std::string order_id;
  std::string agent_id;
  std::string status; ///< available | price_changed | sold_out
  std::string supplier;
  std::string hotel_id;
  std::string hotel_code;
  std::string room_code;
  std::string room_name;
  std::string board;
  int32_t check_in = 0;
  int32_t check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  std::string guests_json;
  int64_t price_minor = 0; ///< markup included, in `currency` (the expected price's)
  std::string currency;
  int64_t net_minor = 0;
  std::string net_currency;
  bool refundable = true;
  std::vector<domain::cancellation_policy> policies; ///< penalties in `currency`
  std::string scenario;
  int64_t expires_us = 0;
  std::string trace_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, trial_record& x) {
  return f(caf::meta::type_name("trial_record"), x.trial_id, x.order_id, x.agent_id, x.status,
           x.supplier, x.hotel_id, x.hotel_code, x.room_code, x.room_name, x.board, x.check_in,
           x.check_out, x.rooms, x.guests_json, x.price_minor, x.currency, x.net_minor,
           x.net_currency, x.refundable, x.policies, x.scenario, x.expires_us, x.trace_id);
}

/// POST /api/orders/trial as the gateway hands it to the order engine.
struct trial_request {
  std::string agent_id;
  std::string supplier;
  std::string hotel_id;
  std::string hotel_code;
  std::string room_code;
  std::string board;
  int32_t check_in = 0;
  int32_t check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  std::string guests_json;
  int64_t expected_minor = 0; ///< the price the agent saw (markup included)
  std::string currency;       ///< of expected_minor; the order's price currency
  std::string scenario;       ///< development `Test` header, may be empty
  trace_context trace;
  /// The order id the trial will become, chosen by the gateway so that the trial, the create
  /// and every later call of the order reach the order's shard owner (empty: the engine picks).
  std::string order_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, trial_request& x) {
  return f(caf::meta::type_name("trial_request"), x.agent_id, x.supplier, x.hotel_id, x.hotel_code,
           x.room_code, x.board, x.check_in, x.check_out, x.rooms, x.guests_json, x.expected_minor,
           x.currency, x.scenario, x.trace, x.order_id);
}

/// POST /api/orders as the gateway hands it to the order engine.
struct create_request {
  std::string agent_id;
  std::string trial_id;
  std::string client_reference;
  bool hold_only = false;
  std::string contact_json;
  std::string scenario; ///< development `Test` header, may be empty (then the trial's)
  trace_context trace;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_request& x) {
  return f(caf::meta::type_name("create_request"), x.agent_id, x.trial_id, x.client_reference,
           x.hold_only, x.contact_json, x.scenario, x.trace);
}

/// The order engine's answer to create, confirm, cancel and get: the order as it stands, and
/// whether the call found it already done (create: Idempotent-Replay).
struct order_reply {
  order_record order;
  bool replay = false;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, order_reply& x) {
  return f(caf::meta::type_name("order_reply"), x.order, x.replay);
}

/// confirm / cancel / get of one order on behalf of an agent (empty agent_id: operator).
struct order_command {
  std::string order_id;
  std::string agent_id;
  std::string scenario; ///< development `Test` header, may be empty
  trace_context trace;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, order_command& x) {
  return f(caf::meta::type_name("order_command"), x.order_id, x.agent_id, x.scenario, x.trace);
}

/// GET /api/orders and /admin/orders filters; empty strings and zero instants filter nothing.
struct order_filter {
  std::string agent_id; ///< empty: every agent (admin)
  std::string client_reference;
  std::string status;
  int64_t from_us = 0; ///< created at or after
  int64_t to_us = 0;   ///< created before
  int32_t limit = 100;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, order_filter& x) {
  return f(caf::meta::type_name("order_filter"), x.agent_id, x.client_reference, x.status,
           x.from_us, x.to_us, x.limit);
}

/// A due row of the outbox (the seed's local message table), claimed for one attempt.
struct outbox_item {
  int64_t id = 0;
  std::string order_id;
  std::string kind;     ///< book | cancel
  int32_t attempts = 0; ///< supplier calls made so far for this row
  int32_t max_attempts = 0;
  std::string last_error;
  std::string agent_id; ///< the order's agent (its spans are the agent's)
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, outbox_item& x) {
  return f(caf::meta::type_name("outbox_item"), x.id, x.order_id, x.kind, x.attempts,
           x.max_attempts, x.last_error, x.agent_id);
}

/// An active inventory hold.
struct hold_info {
  std::string order_id;
  std::string supplier;
  int64_t expires_us = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, hold_info& x) {
  return f(caf::meta::type_name("hold_info"), x.order_id, x.supplier, x.expires_us);
}

/// One agent's credit line as stored (minor units of `currency`).
struct credit_state {
  std::string agent_id;
  std::string currency;
  int64_t limit_minor = 0;
  int64_t reserved_minor = 0;
  int64_t captured_minor = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, credit_state& x) {
  return f(caf::meta::type_name("credit_state"), x.agent_id, x.currency, x.limit_minor,
           x.reserved_minor, x.captured_minor);
}

/// One persisted order transition and everything that must commit with it. The store
/// applies it only if the order is still at `version` and in `from_status`.
struct order_change {
  std::string order_id;
  int32_t version = 0;
  std::string from_status;
  std::string to_status; ///< equal to from_status for a change without a transition
  std::string event;
  std::string reason;
  std::string trace_id;
  int64_t at_us = 0;
  std::string supplier_ref;   ///< set on the order when not empty
  int64_t penalty_minor = -1; ///< set when >= 0
  int64_t refund_minor = -1;  ///< set when >= 0
  // Credit movements on the agent's line (credit currency); each writes a credit_ledger row.
  int64_t credit_capture = 0; ///< reserved -> captured
  int64_t credit_release = 0; ///< reserved -> available
  int64_t credit_refund = 0;  ///< captured -> available
  std::string hold_status;    ///< "" unchanged | converted | released | expired
  // Outbox: finish the pending row of a kind, and/or add a new pending row.
  std::string outbox_done_kind; ///< mark the order's pending rows of this kind done
  std::string outbox_add_kind;  ///< "" none | book | cancel
  int32_t outbox_add_attempts = 0;
  int32_t outbox_add_max_attempts = 0;
  int64_t outbox_add_due_us = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, order_change& x) {
  return f(caf::meta::type_name("order_change"), x.order_id, x.version, x.from_status, x.to_status,
           x.event, x.reason, x.trace_id, x.at_us, x.supplier_ref, x.penalty_minor, x.refund_minor,
           x.credit_capture, x.credit_release, x.credit_refund, x.hold_status, x.outbox_done_kind,
           x.outbox_add_kind, x.outbox_add_attempts, x.outbox_add_max_attempts,
           x.outbox_add_due_us);
}

/// Re-arms an order's pending outbox row of `kind` without a status change (an attempt
/// begun, or failed and to be retried).
struct outbox_schedule {
  std::string order_id;
  std::string kind;
  int32_t attempts = 0;
  int64_t due_us = 0;
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbox_schedule& x) {
  return f(caf::meta::type_name("outbox_schedule"), x.order_id, x.kind, x.attempts, x.due_us,
           x.last_error);
}

/// A new order as the create transaction writes it: the order (status held or booking,
/// version 1) with its hold, credit reservation and, unless held, its first `book` outbox row
/// (attempts 1, due at `outbox_due_us`, the lease of the immediate attempt).
struct new_order {
  order_record order;
  int32_t max_attempts = 0;
  int64_t outbox_due_us = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, new_order& x) {
  return f(caf::meta::type_name("new_order"), x.order, x.max_attempts, x.outbox_due_us);
}

// -- trace reports -----------------------------------------------------------------

/// A report of traces (GET /api/traces/..., bedbank trace). `kind` is "trace" (subject: a
/// trace id), "order" (an order id: every trace that touched the order) or "hotel" (a
/// platform hotel id: traces that touched it between `from_us` and `to_us`, newest first, at
/// most `limit`). Agent-scoped unless `agent_id` is empty (operators).
struct trace_report_query {
  std::string kind;
  std::string subject;
  std::string agent_id;
  int64_t from_us = 0;
  int64_t to_us = 0;
  int32_t limit = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trace_report_query& x) {
  return f(caf::meta::type_name("trace_report_query"), x.kind, x.subject, x.agent_id, x.from_us,
           x.to_us, x.limit);
}

/// One trace of a report: its spans in start order, whichever store they came from.
struct trace_group {
  std::string trace_id;
  std::vector<span_record> spans;
  int64_t hot_spans = 0;  ///< spans read from PostgreSQL
  int64_t cold_spans = 0; ///< spans read from the ClickHouse archive
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, trace_group& x) {
  return f(caf::meta::type_name("trace_group"), x.trace_id, x.spans, x.hot_spans, x.cold_spans);
}

/// The answer to a trace_report_query. Traces are ordered by their first span's start
/// (kind "hotel": newest first). `has_order` / `order` (with its status history) only for
/// kind "order". `truncated`: more traces or spans existed than one report carries.
struct trace_report {
  std::string kind;
  std::string subject;
  bool has_order = false;
  order_record order;
  std::vector<trace_group> traces;
  int64_t from_us = 0; ///< kind "hotel": the window searched
  int64_t to_us = 0;
  bool truncated = false;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, trace_report& x) {
  return f(caf::meta::type_name("trace_report"), x.kind, x.subject, x.has_order, x.order, x.traces,
           x.from_us, x.to_us, x.truncated);
}

/// What one archive pass did (the archiver's answer to POST /admin/traces/archive).
struct archive_pass {
  uint64_t batches = 0;
  uint64_t moved = 0;               ///< spans deleted from PostgreSQL after the archive held them
  uint64_t inserted = 0;            ///< spans written to ClickHouse (less than moved after a crash)
  std::vector<std::string> dropped; ///< archive partitions dropped (YYYYMMDD)
  int64_t through_us = 0;           ///< the newest created_at archived by this pass
  int64_t duration_us = 0;
  bool more = false; ///< stopped by its time budget with more due
  std::string error; ///< empty when the pass finished cleanly
  // Time in each step (µs); PostgreSQL's read and delete overlap ClickHouse's insert and verify.
  int64_t select_us = 0;
  int64_t insert_us = 0;
  int64_t verify_us = 0;
  int64_t delete_us = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, archive_pass& x) {
  return f(caf::meta::type_name("archive_pass"), x.batches, x.moved, x.inserted, x.dropped,
           x.through_us, x.duration_us, x.more, x.error, x.select_us, x.insert_us, x.verify_us,
           x.delete_us);
}

// -- cluster -------------------------------------------------------------------------

/// One node of the cluster as it describes itself in joins and heartbeats. The actor handles
/// are the node's own; a member list relayed by another node is read for discovery only (a
/// node takes a member's handles from that member, over a direct connection).
struct member_info {
  std::string node_id;
  std::string host;  ///< cluster address (cluster.bind)
  uint16_t port = 0; ///< cluster port
  std::string api;   ///< agent API "host:port", for operators
  int64_t pid = 0;
  std::vector<std::string> roles; ///< gateway, engine, journal
  int64_t up_since_us = 0;        ///< start of this incarnation; a restarted node has a newer one
  std::string version;            ///< wire version; nodes with different ones refuse each other
  std::string state;              ///< up | draining (as the node says) | down (as the viewer saw)
  uint64_t seq = 0;               ///< heartbeat number within the incarnation
  int64_t load = 0;               ///< searches in flight on the node
  int64_t last_heartbeat_us = 0;  ///< viewer's clock: when it last heard from the node
  caf::actor manager;             ///< its NODE MANAGER
  caf::actor query_engine;        ///< engine role
  caf::actor order_engine;        ///< engine role
  caf::actor span_writer;         ///< journal role
  caf::actor archiver;            ///< journal role, with clickhouse.enabled
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.node_id, x.host, x.port, x.api, x.pid, x.roles,
           x.up_since_us, x.version, x.state, x.seq, x.load, x.last_heartbeat_us, x.manager,
           x.query_engine, x.order_engine, x.span_writer, x.archiver);
}

/// A name with a count (actors of one kind, a mailbox's backlog).
struct named_count {
  std::string name;
  int64_t value = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, named_count& x) {
  return f(caf::meta::type_name("named_count"), x.name, x.value);
}

/// What a node reports of itself for GET /admin/cluster.
struct node_status {
  member_info self;
  std::vector<named_count> actors;   ///< live actors per kind (search, order, hold, ...)
  std::vector<named_count> mailbox;  ///< long-lived actors' mailbox backlog; -1: no answer in time
  int64_t actors_running = 0;        ///< every actor of the node (CAF's registry)
  int64_t shard_points = 0;          ///< its points on the order ring as it sees the ring
  int64_t ring_points = 0;           ///< points on that ring in all
  uint64_t epoch = 0;                ///< how many times its view of the ring changed
  std::vector<named_count> restarts; ///< supervisor restarts per child
  int64_t crashes = 0;               ///< search, order and hold actors that ended with an error
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("node_status"), x.self, x.actors, x.mailbox, x.actors_running,
           x.shard_points, x.ring_points, x.epoch, x.restarts, x.crashes);
}

} // namespace bedbank

// -- type IDs -----------------------------------------------------------------------

CAF_BEGIN_TYPE_ID_BLOCK(bedbank, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(bedbank, (bedbank::domain::room_occupancy))
CAF_ADD_TYPE_ID(bedbank, (bedbank::domain::search_query))
CAF_ADD_TYPE_ID(bedbank, (bedbank::domain::cancellation_policy))
CAF_ADD_TYPE_ID(bedbank, (bedbank::trace_context))
CAF_ADD_TYPE_ID(bedbank, (bedbank::span_record))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::span_record>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::hotels_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::hotels_reply))
CAF_ADD_TYPE_ID(bedbank, (bedbank::rates_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::supplier_rate))
CAF_ADD_TYPE_ID(bedbank, (bedbank::rates_reply))
CAF_ADD_TYPE_ID(bedbank, (bedbank::booking_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::booking_detail))
CAF_ADD_TYPE_ID(bedbank, (bedbank::cancel_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::avail_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::avail_reply))
CAF_ADD_TYPE_ID(bedbank, (bedbank::supplier_stats))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::supplier_stats>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::search_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::supplier_outcome))
CAF_ADD_TYPE_ID(bedbank, (bedbank::merged_hotel))
CAF_ADD_TYPE_ID(bedbank, (bedbank::search_result))
CAF_ADD_TYPE_ID(bedbank, (bedbank::journal_stats))
CAF_ADD_TYPE_ID(bedbank, (bedbank::cache_value))
CAF_ADD_TYPE_ID(bedbank, (bedbank::trace_query))
CAF_ADD_TYPE_ID(bedbank, (bedbank::dependency_health))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::dependency_health>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::booking_query))
CAF_ADD_TYPE_ID(bedbank, (bedbank::order_history_entry))
CAF_ADD_TYPE_ID(bedbank, (bedbank::order_record))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::order_record>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::trial_record))
CAF_ADD_TYPE_ID(bedbank, (bedbank::trial_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::create_request))
CAF_ADD_TYPE_ID(bedbank, (bedbank::order_reply))
CAF_ADD_TYPE_ID(bedbank, (bedbank::order_command))
CAF_ADD_TYPE_ID(bedbank, (bedbank::order_filter))
CAF_ADD_TYPE_ID(bedbank, (bedbank::outbox_item))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::outbox_item>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::hold_info))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::hold_info>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::credit_state))
CAF_ADD_TYPE_ID(bedbank, (bedbank::order_change))
CAF_ADD_TYPE_ID(bedbank, (bedbank::outbox_schedule))
CAF_ADD_TYPE_ID(bedbank, (bedbank::new_order))
CAF_ADD_TYPE_ID(bedbank, (bedbank::trace_report_query))
CAF_ADD_TYPE_ID(bedbank, (bedbank::trace_group))
CAF_ADD_TYPE_ID(bedbank, (bedbank::trace_report))
CAF_ADD_TYPE_ID(bedbank, (bedbank::archive_pass))
CAF_ADD_TYPE_ID(bedbank, (bedbank::member_info))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::member_info>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::named_count))
CAF_ADD_TYPE_ID(bedbank, (std::vector<bedbank::named_count>))
CAF_ADD_TYPE_ID(bedbank, (bedbank::node_status))
CAF_END_TYPE_ID_BLOCK(bedbank)
