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
using trial_atom = caf::atom_constant<caf::atom("trial")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using confirm_atom = caf::atom_constant<caf::atom("confirm")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using apply_atom = caf::atom_constant<caf::atom("apply")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;
using holds_atom = caf::atom_constant<caf::atom("holds")>;
using credit_atom = caf::atom_constant<caf::atom("credit")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using archive_atom = caf::atom_constant<caf::atom("archive")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using reach_atom = caf::atom_constant<caf::atom("reach")>;
using rebalance_atom = caf::atom_constant<caf::atom("rebalance")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;

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
    /// GetBooking by the platform's idempotency key (the order id); found false when none.
    caf::replies_to<get_booking_atom, booking_query>::with<booking_detail>,
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
    /// SET key value with a TTL in milliseconds; answers true once Redis stored it, else an
    /// error saying why (ec::storage_unavailable).
    caf::replies_to<write_atom, std::string, std::string, int64_t>::with<bool>,
    /// PING; answers latency and status.
    caf::replies_to<health_atom>::with<dependency_health>>;

/// TRACE READER: detached, a pool; builds trace reports from PostgreSQL and the ClickHouse
/// archive (persistence::trace_repository).
using trace_reader_actor = caf::typed_actor<
    /// A report: one trace, an order's traces with its history, or a hotel's traces.
    caf::replies_to<get_atom, trace_report_query>::with<trace_report>,
    /// PostgreSQL ping.
    caf::replies_to<health_atom>::with<dependency_health>>;

/// ARCHIVER: detached, on journal nodes; only the leader works on its timer; moves spans older than
/// trace.hot_days to ClickHouse every trace.archive_interval and drops archive partitions
/// older than trace.archive_days.
using archiver_actor = caf::typed_actor<
    /// Runs a whole pass now and answers what it did.
    caf::replies_to<archive_atom>::with<archive_pass>,
    /// The timer: one bounded slice of a pass (generation guards stale timers).
    caf::reacts_to<tick_atom, uint64_t>>;

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

// -- orders --------------------------------------------------------------------------

/// ORDER STORE: detached; one PostgreSQL connection running persistence::order_store calls.
/// The node runs a small pool of them; an order always uses the same one (by id hash).
using order_store_actor = caf::typed_actor<
    /// The create transaction (order, hold, credit reservation, outbox row).
    caf::replies_to<create_atom, new_order>::with<order_reply>,
    /// Load an order with its history.
    caf::replies_to<get_atom, std::string>::with<order_record>,
    /// Persist one transition with its effects; answers the order as it now stands.
    caf::replies_to<apply_atom, order_change>::with<order_record>,
    /// Re-arm a pending outbox row.
    caf::replies_to<schedule_atom, outbox_schedule>::with<bool>,
    /// Claim due outbox rows: now (µs), limit, lease (µs).
    caf::replies_to<claim_atom, int64_t, int32_t, int64_t>::with<std::vector<outbox_item>>,
    /// Active holds of held orders, soonest expiry first: limit.
    caf::replies_to<holds_atom, int32_t>::with<std::vector<hold_info>>,
    /// Orders matching a filter.
    caf::replies_to<list_atom, order_filter>::with<std::vector<order_record>>,
    /// One agent's credit line.
    caf::replies_to<credit_atom, std::string>::with<credit_state>,
    /// PostgreSQL ping.
    caf::replies_to<health_atom>::with<dependency_health>>;

/// MOCK LEDGER: detached; what the simulated suppliers really hold (mock_bookings).
using mock_ledger_actor = caf::typed_actor<
    /// Record a new booking: supplier code, the request, the reference made up for it.
    caf::replies_to<create_booking_atom, std::string, booking_request,
                    std::string>::with<booking_detail>,
    /// The newest booking of a supplier under an idempotency key (found false when none).
    caf::replies_to<get_booking_atom, std::string, std::string>::with<booking_detail>,
    /// Cancel by supplier reference (not_found when the supplier has no such booking).
    caf::replies_to<cancel_booking_atom, std::string, std::string>::with<booking_detail>>;

/// ORDER ENGINE: one per node; trials, creates, and the router to one ORDER actor per live
/// order (spawned on demand, rebuilt from PostgreSQL, passivated when idle) and one HOLD actor
/// per held order; runs the hold sweep.
using order_engine_actor = caf::typed_actor<
    /// Re-check a rate and keep the trial.
    caf::replies_to<trial_atom, trial_request>::with<trial_record>,
    /// Create an order from a trial (idempotent on the client reference).
    caf::replies_to<create_atom, create_request>::with<order_reply>,
    /// Confirm a held order.
    caf::replies_to<confirm_atom, order_command>::with<order_reply>,
    /// Cancel an order.
    caf::replies_to<cancel_atom, order_command>::with<order_reply>,
    /// Read an order (a read of an expired hold closes it).
    caf::replies_to<get_atom, order_command>::with<order_reply>,
    /// Orders matching a filter.
    caf::replies_to<list_atom, order_filter>::with<std::vector<order_record>>,
    /// From the outbox relay: a claimed due row for its order.
    caf::reacts_to<work_atom, outbox_item>,
    /// From a hold actor: the hold of an order ended (order id, reason).
    caf::reacts_to<expire_atom, std::string, std::string>,
    /// From an order actor: the hold of an order is no longer needed (order id).
    caf::reacts_to<release_atom, std::string>,
    /// From an order actor: idle, having handled this many forwarded messages; true: nothing
    /// is on its way to it any more, it may quit (the next message rebuilds the order).
    caf::replies_to<passivate_atom, std::string, uint64_t>::with<bool>,
    /// From the node manager: the shard ring changed; stop the holds of orders this node no
    /// longer owns and take over the holds it now owns.
    caf::reacts_to<rebalance_atom>,
    /// Internal: the sweep timer of this generation fired.
    caf::reacts_to<tick_atom, uint64_t>>;

/// ORDER: one per live order; the state machine with every transition persisted before it is
/// acknowledged. Work arrives only through the engine, so a passivated order is never missed.
using order_actor = caf::typed_actor<
    /// Make the first booking attempt of a just-created order; answers when it is settled or
    /// left to the relay.
    caf::replies_to<start_atom>::with<order_reply>,
    caf::replies_to<confirm_atom, order_command>::with<order_reply>,
    caf::replies_to<cancel_atom, order_command>::with<order_reply>,
    caf::replies_to<get_atom, order_command>::with<order_reply>,
    /// A claimed due outbox row.
    caf::reacts_to<work_atom, outbox_item>,
    /// The hold ended (reason: hold_expired | inventory_gone).
    caf::reacts_to<expire_atom, std::string>,
    /// Internal: the idle timer of this generation fired.
    caf::reacts_to<tick_atom, uint64_t>>;

/// HOLD: one per inventory hold of a held order; fires the expiry and re-checks the inventory
/// with the supplier every inventory.sync_interval.
using hold_actor = caf::typed_actor<
    /// Internal: the expiry timer fired.
    caf::reacts_to<expire_atom>,
    /// Internal: time to re-check the inventory.
    caf::reacts_to<sync_atom>,
    /// The hold is no longer needed: quit.
    caf::reacts_to<release_atom>>;

/// OUTBOX RELAY: one per node; claims due outbox rows and hands them to the order engine.
using outbox_relay_actor = caf::typed_actor<
    /// Internal: the poll timer of this generation fired.
    caf::reacts_to<tick_atom, uint64_t>,
    /// Poll now (after a create, say); answers the rows handed over.
    caf::replies_to<claim_atom>::with<int32_t>>;

// -- cluster -------------------------------------------------------------------------

/// NODE MANAGER: one per node, published on cluster.port: membership (joins through the
/// seeds, member lists exchanged), heartbeats, failure detection, and the node's view of the
/// cluster that the gateway and the order engine route by (cluster::view).
using node_manager_actor = caf::typed_actor<
    /// A node joins (or comes back): answers this node as it stands and the members it knows;
    /// ec::version_mismatch when the joiner's wire version is not this node's.
    caf::replies_to<join_atom, member_info>::with<member_info, std::vector<member_info>>,
    /// Heartbeat: the sender as it stands and the members it knows; answers this node.
    caf::replies_to<heartbeat_atom, member_info, std::vector<member_info>>::with<member_info>,
    /// This node's status (GET /admin/cluster).
    caf::replies_to<status_atom>::with<node_status>,
    /// The members as this node sees them, itself first.
    caf::replies_to<members_atom>::with<std::vector<member_info>>,
    /// Stop owning shards (POST /admin/nodes/{id}/drain); answers once the live members know.
    caf::replies_to<drain_atom>::with<member_info>,
    /// Internal: the heartbeat and failure-detection timer of this generation.
    caf::reacts_to<tick_atom, uint64_t>,
    /// Internal: reach the node manager at host:port (a seed, or a member heard of).
    caf::reacts_to<reach_atom, std::string, uint16_t>>;

} // namespace bedbank
