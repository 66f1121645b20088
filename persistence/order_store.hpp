// order_store: the orders' PostgreSQL side — credit lines, the create transaction, persisted
// transitions with their credit, hold and outbox effects, the outbox relay's claims, the hold
// sweep. Not thread-safe: one actor owns one store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "protocols/messages.hpp"

namespace bedbank::persistence {

/// A credit line as configuration defines it.
struct credit_limit {
  std::string agent_id;
  std::string name;
  std::string currency;
  int64_t limit_minor = 0;
};

/// What the create transaction did: the order, and whether it already existed.
struct create_outcome {
  order_record order;
  bool replay = false;
};

/// Every call is one transaction. Connects lazily; a connection found broken when a call
/// begins is replaced at once, one that breaks later fails that call (and is replaced by the
/// next). Driver failures come back as `ec::storage_unavailable`, never thrown.
class order_store {
public:
  /// A store for the database at `conninfo` (libpq syntax); does not connect yet.
  explicit order_store(std::string conninfo);
  ~order_store();
  order_store(order_store&&) noexcept;
  order_store& operator=(order_store&&) noexcept;
  order_store(const order_store&) = delete;
  order_store& operator=(const order_store&) = delete;

  /// Inserts missing credit lines and updates the limit, name and currency of existing ones;
  /// reserved and captured sums are kept.
  caf::error sync_agents(const std::vector<credit_limit>& agents);

  /// The credit line of `agent_id` (`ec::not_found` when there is none).
  caf::expected<credit_state> credit(const std::string& agent_id);

  /// The create transaction: the order (version 1, its `status` held or booking), its
  /// creation event, its inventory hold (active until `order.hold_expires_us`), a credit
  /// reservation of `order.credit_minor` (skipped when 0) with its ledger row, and — unless
  /// the status is held — a pending `book` outbox row (attempts 1, due `outbox_due_us`). All
  /// or nothing. `(agent_id, client_reference)` already taken: that order, `replay` true
  /// (concurrent duplicates wait on the unique index and then see the winner). The order id
  /// taken by another client reference: `ec::conflict`. The reservation does not fit:
  /// `ec::insufficient_credit`, nothing written.
  caf::expected<create_outcome> create(const new_order& o);

  /// The order with its history (`ec::not_found` when there is none).
  caf::expected<order_record> load(const std::string& order_id);

  /// Applies `c` in one transaction: the order's status/reason/supplier_ref/penalty/refund,
  /// version + 1, `updated_at`, `c.trace_id` appended to trace_ids when new, an order_events
  /// row, the credit movements with ledger rows, the hold status and the outbox effects.
  /// The order not at `c.version` or not in `c.from_status`: `ec::conflict`, nothing written.
  /// Answers the order as it now stands.
  caf::expected<order_record> apply(const order_change& c);

  /// Re-arms the order's pending outbox row of `s.kind` (attempts, due time, last error).
  /// `ec::not_found` when the order has no such pending row.
  caf::error reschedule(const outbox_schedule& s);

  /// Claims up to `limit` pending outbox rows due at `now_us` (FOR UPDATE SKIP LOCKED, so
  /// several relays never claim one row twice) by moving their due time to
  /// `now_us + lease_us`; answers them oldest due first.
  caf::expected<std::vector<outbox_item>> claim_due(int64_t now_us, int32_t limit,
                                                    int64_t lease_us);

  /// Active holds of orders still `held`, soonest expiry first (at most `limit`).
  caf::expected<std::vector<hold_info>> active_holds(int32_t limit);

  /// Orders matching `f`, newest first, at most `f.limit` (histories included).
  caf::expected<std::vector<order_record>> list(const order_filter& f);

  /// Runs `SELECT 1` and reports the round trip as dependency "postgresql".
  bedbank::dependency_health ping();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::persistence
