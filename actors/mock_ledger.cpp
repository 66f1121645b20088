// MOCK LEDGER: a detached actor owning one PostgreSQL connection; keeps what the simulated
// suppliers really hold (mock_bookings), so their bookings outlive the bedbank process.
// Reads and cancellations are retried once after a reconnect (both are idempotent); a new
// booking is not (a commit that broke half-way may have happened, and a second insert would
// make a booking nobody asked for).
#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "persistence/mock_ledger_store.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

struct mock_ledger_state {
  static inline const char* name = "mock_ledger";
  std::unique_ptr<persistence::mock_ledger_store> store;
};

using ledger_pointer = mock_ledger_actor::stateful_pointer<mock_ledger_state>;

/// Whether a failed call is worth one more try (the store has dropped a broken connection).
bool retryable(const caf::error& err) {
  return code_of(err) == ec::storage_unavailable;
}

mock_ledger_actor::behavior_type mock_ledger(ledger_pointer self, std::string conninfo) {
  answer_probes(self);
  self->state.store = std::make_unique<persistence::mock_ledger_store>(std::move(conninfo));
  return {
      [=](create_booking_atom, const std::string& supplier, const booking_request& req,
          const std::string& ref) -> caf::result<booking_detail> {
        auto& store = *self->state.store;
        if (auto err = store.record(supplier, req.idempotency_key, ref, req.hotel_code,
                                    req.expected_net_minor, req.currency))
          return err;
        return booking_detail{
            true, ref, req.idempotency_key, "confirmed", req.expected_net_minor, req.currency};
      },
      [=](get_booking_atom, const std::string& supplier,
          const std::string& key) -> caf::result<booking_detail> {
        auto& store = *self->state.store;
        auto res = store.find(supplier, key);
        if (!res && retryable(res.error()))
          res = store.find(supplier, key); // the store reconnects on the next call
        if (!res)
          return std::move(res.error());
        return std::move(*res);
      },
      [=](cancel_booking_atom, const std::string& supplier,
          const std::string& ref) -> caf::result<booking_detail> {
        auto& store = *self->state.store;
        auto res = store.cancel(supplier, ref);
        if (!res && retryable(res.error()))
          res = store.cancel(supplier, ref);
        if (!res)
          return std::move(res.error());
        return std::move(*res);
      },
  };
}

} // namespace

mock_ledger_actor spawn_mock_ledger(caf::actor_system& sys, const std::string& conninfo) {
  return sys.spawn<caf::detached>(mock_ledger, conninfo);
}

} // namespace bedbank
