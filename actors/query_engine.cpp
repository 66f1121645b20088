// QUERY ENGINE: the node's entry point for price queries (one SEARCH actor per
// query) and for supplier administration (stats, forced breakers).
#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "actors/probe.hpp"
#include "log/log.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

/// How long the engine waits for one supplier connection's stats.
constexpr std::chrono::milliseconds stats_timeout{2000};

struct query_engine_state {
  static inline const char* name = "query_engine";
  std::shared_ptr<const node_env> env;
  uint64_t searches = 0;
};

using engine_pointer = query_engine_actor::stateful_pointer<query_engine_state>;

query_engine_actor::behavior_type query_engine(engine_pointer self,
                                               std::shared_ptr<const node_env> env) {
  answer_probes(self);
  self->state.env = std::move(env);
  return {
      [=](search_atom a, search_request& req) -> caf::result<search_result> {
        ++self->state.searches;
        auto worker = spawn_search(self->system(), self->state.env);
        if (auto counters = self->state.env->counters) {
          ++counters->searches; // the load this node reports in its heartbeats
          // The engine supervises its searches: one that ends with an error (its request
          // gets the error) is counted and logged; a search is never restarted, the agent
          // may search again.
          worker->attach_functor([counters](const caf::error& reason) {
            --counters->searches;
            if (reason && reason != caf::exit_reason::user_shutdown) {
              ++counters->crashes;
              log::warn("query_engine", "a search actor crashed", {{"reason", to_string(reason)}});
            }
          });
        }
        return self->delegate(worker, a, std::move(req));
      },
      [=](stats_atom) -> caf::result<std::vector<supplier_stats>> {
        auto& env = *self->state.env;
        auto rp = self->make_response_promise<std::vector<supplier_stats>>();
        auto acc = std::make_shared<std::vector<supplier_stats>>();
        auto pending = std::make_shared<size_t>(0);
        auto done = [rp, acc]() mutable {
          std::sort(acc->begin(), acc->end(), [](const supplier_stats& a, const supplier_stats& b) {
            return a.code < b.code;
          });
          rp.deliver(std::move(*acc));
        };
        for (const auto& sc : env.cfg->suppliers) {
          auto conn = env.actors->supplier(sc.code);
          if (!sc.enabled || !conn) {
            supplier_stats s;
            s.code = sc.code;
            s.name = sc.name.empty() ? sc.code : sc.name;
            s.enabled = sc.enabled;
            s.circuit = sc.enabled ? "unknown" : "disabled";
            acc->push_back(std::move(s));
            continue;
          }
          ++*pending;
          auto code = sc.code;
          self->request(conn, stats_timeout, stats_atom::value)
              .then(
                  [=](supplier_stats& s) mutable {
                    acc->push_back(std::move(s));
                    if (--*pending == 0)
                      done();
                  },
                  [=](caf::error&) mutable {
                    supplier_stats s;
                    s.code = code;
                    s.circuit = "unknown";
                    acc->push_back(std::move(s));
                    if (--*pending == 0)
                      done();
                  });
        }
        if (*pending == 0)
          done();
        return rp;
      },
      [=](circuit_atom a, const std::string& code,
          std::string& state) -> caf::result<supplier_stats> {
        auto conn = self->state.env->actors->supplier(code);
        if (!conn)
          return make_error(ec::not_found, "no supplier '" + code + "'");
        return self->delegate(conn, a, std::move(state));
      },
  };
}

} // namespace

query_engine_actor spawn_query_engine(caf::actor_system& sys, std::shared_ptr<const node_env> env) {
  return sys.spawn(query_engine, std::move(env));
}

} // namespace bedbank
