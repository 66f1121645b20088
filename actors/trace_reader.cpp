// TRACE READER: a detached actor owning one PostgreSQL connection for reads of
// trace_events (agent-scoped unless asked by an operator) and health pings.
#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "persistence/span_store.hpp"

namespace bedbank {

namespace {

struct trace_reader_state {
  static inline const char* name = "trace_reader";
  std::unique_ptr<persistence::span_store> store;
};

using reader_pointer = trace_reader_actor::stateful_pointer<trace_reader_state>;

trace_reader_actor::behavior_type trace_reader(reader_pointer self, std::string conninfo) {
  self->state.store = std::make_unique<persistence::span_store>(std::move(conninfo));
  return {
      [=](get_atom, const trace_query& q) -> caf::result<std::vector<span_record>> {
        auto res = self->state.store->trace(q);
        if (!res)
          return std::move(res.error());
        return std::move(*res);
      },
      [=](health_atom) -> dependency_health { return self->state.store->ping(); },
  };
}

} // namespace

trace_reader_actor spawn_trace_reader(caf::actor_system& sys, const std::string& conninfo) {
  return sys.spawn<caf::detached>(trace_reader, conninfo);
}

} // namespace bedbank
