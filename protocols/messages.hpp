// Every message type that crosses an actor boundary, each with inspect(), and
// bedbank's CAF type-ID block. Registered on every node (cluster-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  trace_context trace;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, booking_request& x) {
  return f(caf::meta::type_name("booking_request"), x.idempotency_key, x.hotel_code, x.room_code,
           x.board, x.check_in, x.check_out, x.rooms, x.expected_net_minor, x.currency,
           x.holder_name, x.trace);
}

/// The supplier's booking as it knows it (CreateBooking / GetBooking answer).
struct booking_detail {
  bool found = false;
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
  trace_context trace;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_request& x) {
  return f(caf::meta::type_name("cancel_request"), x.supplier_ref, x.idempotency_key, x.trace);
}

/// CheckAvailability: re-check one rate before booking.
struct avail_request {
  std::string hotel_code;
  std::string room_code;
  std::string board;
  int32_t check_in = 0;
  int32_t check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  trace_context trace;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, avail_request& x) {
  return f(caf::meta::type_name("avail_request"), x.hotel_code, x.room_code, x.board, x.check_in,
           x.check_out, x.rooms, x.trace);
}

struct avail_reply {
  bool available = false;
  int64_t net_minor = 0;
  std::string currency;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, avail_reply& x) {
  return f(caf::meta::type_name("avail_reply"), x.available, x.net_minor, x.currency);
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
CAF_END_TYPE_ID_BLOCK(bedbank)
