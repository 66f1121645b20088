// Every typed actor interface of bedbank, in one place. Each alias names the
// actor's role in capitals; each message has a one-line comment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "protocols/messages.hpp"

namespace bedbank {

// -- atoms (at most 10 characters each) ------------------------------------------

using search_hotels_atom = caf::atom_constant<caf::atom("s_hotels")>;
using search_rates_atom = caf::atom_constant<caf::atom("s_rates")>;
using create_booking_atom = caf::atom_constant<caf::atom("c_booking")>;
using cancel_booking_atom = caf::atom_constant<caf::atom("x_booking")>;
using get_booking_atom = caf::atom_constant<caf::atom("g_booking")>;
using check_avail_atom = caf::atom_constant<caf::atom("chk_avail")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using circuit_atom = caf::atom_constant<caf::atom("circuit")>;
using reset_atom = caf::atom_constant<caf::atom("reset")>;
using search_atom = caf::atom_constant<caf::atom("search")>;
using span_atom = caf::atom_constant<caf::atom("span")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using written_atom = caf::atom_constant<caf::atom("written")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using put_atom = caf::atom_constant<caf::atom("put")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

// -- interfaces ----------------------------------------------------------------------

/// SUPPLIER: the seed's unified adapter interface. Mock suppliers implement it
/// directly; supplier connections implement it in front of an adapter.
using supplier_actor = caf::typed_actor<
    /// SearchHotels: the supplier's hotel codes in a city.
    caf::replies_to<search_hotels_atom, hotels_request>::with<hotels_reply>,
    /// SearchRates: prices for a stay at some of its hotels.
    caf::replies_to<search_rates_atom, rates_request>::with<rates_reply>,
    /// CreateBooking, idempotent on booking_request::idempotency_key.
    caf::replies_to<create_booking_atom, booking_request>::with<booking_detail>,
    /// CancelBooking.
    caf::replies_to<cancel_booking_atom, cancel_request>::with<booking_detail>,
    /// GetBooking by the platform's idempotency key (the order id).
    caf::replies_to<get_booking_atom, std::string>::with<booking_detail>,
    /// CheckAvailability: re-check one rate.
    caf::replies_to<check_avail_atom, avail_request>::with<avail_reply>,
    /// HealthCheck.
    caf::replies_to<health_atom>::with<bool>>;

/// MOCK SUPPLIER: a simulated supplier (latency, errors, timeouts, sold out).
using mock_supplier_actor = supplier_actor::extend<
    /// Internal: the simulated latency of pending call `id` has passed.
    caf::reacts_to<deliver_atom, uint64_t>>;

/// SUPPLIER CONNECTION: one per supplier; the adapter calls behind a circuit
/// breaker, a bulkhead (max_concurrent) and per-call deadlines.
using supplier_conn_actor = supplier_actor::extend<
    /// Counters, breaker state and latency percentiles.
    caf::replies_to<stats_atom>::with<supplier_stats>,
    /// Operator override: "open", "closed" or "auto"; answers the new stats.
    caf::replies_to<circuit_atom, std::string>::with<supplier_stats>,
    /// Internal: the open period with this generation has ended.
    caf::reacts_to<reset_atom, uint64_t>>;

/// JOURNAL: one per node; takes spans without ever blocking the sender,
/// batches them into PostgreSQL with COPY, drops (and counts) when full.
using journal_actor = caf::typed_actor<
    /// Record one span.
    caf::reacts_to<span_atom, span_record>,
    /// Record several spans.
    caf::reacts_to<span_atom, std::vector<span_record>>,
    /// Write everything buffered now; answers when it is written (or dropped).
    caf::replies_to<flush_atom>::with<journal_stats>,
    /// Counters.
    caf::replies_to<stats_atom>::with<journal_stats>,
    /// Internal: the flush timer of this generation fired.
    caf::reacts_to<tick_atom, uint64_t>>;

/// SPAN WRITER: detached; runs the blocking COPY for the journal.
using span_writer_actor = caf::typed_actor<
    /// COPY one batch; answers the number of rows written.
    caf::replies_to<write_atom, std::vector<span_record>>::with<uint64_t>>;

/// PRICE CACHE: detached; the Redis side of the price cache.
using price_cache_actor = caf::typed_actor<
    /// GET key.
    caf::replies_to<get_atom, std::string>::with<cache_value>,
    /// SET key value with a TTL in milliseconds (fire and forget).
    caf::reacts_to<put_atom, std::string, std::string, int64_t>,
    /// PING; answers latency and status.
    caf::replies_to<health_atom>::with<dependency_health>>;

/// TRACE READER: detached; reads spans back from PostgreSQL.
using trace_reader_actor = caf::typed_actor<
    /// Every span of one trace (agent-scoped unless agent_id is empty).
    caf::replies_to<get_atom, trace_query>::with<std::vector<span_record>>,
    /// PostgreSQL ping.
    caf::replies_to<health_atom>::with<dependency_health>>;

/// QUERY ENGINE: one per node; spawns a SEARCH actor per price query.
using query_engine_actor = caf::typed_actor<
    /// Run one search: caches, fan-out with deadline, merge, sort.
    caf::replies_to<search_atom, search_request>::with<search_result>,
    /// Supplier connection statistics, one per supplier.
    caf::replies_to<stats_atom>::with<std::vector<supplier_stats>>,
    /// Force a supplier's breaker ("open" | "closed" | "auto").
    caf::replies_to<circuit_atom, std::string, std::string>::with<supplier_stats>>;

/// SEARCH: one per price query; answers once, then quits.
using search_actor = caf::typed_actor<
    /// Run the query.
    caf::replies_to<search_atom, search_request>::with<search_result>>;

} // namespace bedbank
