// TRACE READER: a detached actor owning one trace_repository (its own PostgreSQL connections
// and, when configured, the ClickHouse archive): trace reports and health pings.
#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "persistence/trace_repository.hpp"

namespace bedbank {

namespace {

struct trace_reader_state {
  static inline const char* name = "trace_reader";
  std::unique_ptr<persistence::trace_repository> repo;
};

using reader_pointer = trace_reader_actor::stateful_pointer<trace_reader_state>;

trace_reader_actor::behavior_type trace_reader(reader_pointer self, std::string conninfo,
                                               std::optional<persistence::clickhouse_client> ch) {
  answer_probes(self);
  self->state.repo =
      std::make_unique<persistence::trace_repository>(std::move(conninfo), std::move(ch));
  return {
      [=](get_atom, const trace_report_query& q) -> caf::result<trace_report> {
        auto res = self->state.repo->report(q);
        if (!res)
          return std::move(res.error());
        return std::move(*res);
      },
      [=](health_atom) -> dependency_health { return self->state.repo->ping(); },
  };
}

} // namespace

std::optional<persistence::clickhouse_client> archive_client(const config::bedbank_config& cfg) {
  if (!cfg.clickhouse.enabled)
    return std::nullopt;
  const auto& c = cfg.clickhouse;
  return persistence::clickhouse_client{c.host, c.port, c.database, c.timeout, c.user, c.password};
}

trace_reader_actor spawn_trace_reader(caf::actor_system& sys, const config::bedbank_config& cfg) {
  return sys.spawn<caf::detached>(trace_reader, cfg.database.conninfo(), archive_client(cfg));
}

} // namespace bedbank
