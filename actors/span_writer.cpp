// SPAN WRITER: a detached actor owning one PostgreSQL connection; COPYs the
// journal's batches into trace_events. One retry after a reconnect, then the
// batch counts as failed (the journal drops and counts it).
#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "persistence/span_store.hpp"

namespace bedbank {

namespace {

struct span_writer_state {
  static inline const char* name = "span_writer";
  std::unique_ptr<persistence::span_store> store;
};

using writer_pointer = span_writer_actor::stateful_pointer<span_writer_state>;

span_writer_actor::behavior_type span_writer(writer_pointer self, std::string conninfo) {
  answer_probes(self);
  self->state.store = std::make_unique<persistence::span_store>(std::move(conninfo));
  return {
      [=](write_atom, const std::vector<span_record>& batch) -> caf::result<uint64_t> {
        auto res = self->state.store->copy(batch);
        if (!res)
          res = self->state.store->copy(batch); // the store reconnects on the next call
        if (!res)
          return std::move(res.error());
        return *res;
      },
  };
}

} // namespace

span_writer_actor spawn_span_writer(caf::actor_system& sys, const std::string& conninfo) {
  return sys.spawn<caf::detached>(span_writer, conninfo);
}

} // namespace bedbank
