// mock_ledger_store: what the simulated (mock) suppliers really hold, in `mock_bookings`. A
// booking made by a mock supplier outlives the bedbank process like a real supplier's would,
// so a restarted node (or another node) sees what was booked before. Not thread-safe: one
// actor owns one store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "protocols/messages.hpp"

namespace bedbank::persistence {

/// Reads and writes `mock_bookings`. Connects lazily and runs `SET synchronous_commit = off` on
/// every new connection (the rows survive a crash of bedbank; only a PostgreSQL server crash
/// could lose the last moments, and the simulated supplier stays fast). A connection found
/// broken when a call begins its transaction is replaced at once (nothing was sent yet), one
/// that breaks later fails that call and is replaced by the next. Driver failures come back as
/// `ec::storage_unavailable`, never thrown.
class mock_ledger_store {
public:
  /// A store for the database at `conninfo` (libpq syntax); does not connect yet.
  explicit mock_ledger_store(std::string conninfo);

  ~mock_ledger_store();
  mock_ledger_store(mock_ledger_store&&) noexcept;
  mock_ledger_store& operator=(mock_ledger_store&&) noexcept;
  mock_ledger_store(const mock_ledger_store&) = delete;
  mock_ledger_store& operator=(const mock_ledger_store&) = delete;

  /// Records a new confirmed booking of `supplier` under the platform's idempotency `key`
  /// with the supplier reference `ref`. Never deduplicates on `key` (a second call makes a
  /// second booking, as many real suppliers do); `ref` must be new. Values wider than their
  /// columns (or a currency that is not 3 letters): `ec::invalid_request`, nothing written.
  caf::error record(const std::string& supplier, const std::string& key, const std::string& ref,
                    const std::string& hotel_code, int64_t net_minor, const std::string& currency);

  /// The newest booking of `supplier` under `key` (`found` false when there is none).
  caf::expected<bedbank::booking_detail> find(const std::string& supplier, const std::string& key);

  /// Cancels the booking `ref` of `supplier` and answers it with status "cancelled";
  /// cancelling a cancelled booking answers the same. `ec::not_found` when there is none.
  caf::expected<bedbank::booking_detail> cancel(const std::string& supplier,
                                                const std::string& ref);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::persistence
