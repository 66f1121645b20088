// NODE SUPERVISOR: owns the node's long-lived actors. Children are monitored; an
// exiting child arrives as a down message, is taken out of the directory and
// restarted after a doubling back-off; more than max_restarts within the
// window escalates: the supervisor quits and the node stops.
#include <deque>
#include <map>

#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "domain/intensity.hpp"
#include "log/log.hpp"

namespace bedbank {

namespace {

struct child_record {
  child_spec spec;
  caf::actor_addr addr;
  domain::restart_intensity restarts{0, 0}; ///< within the policy's window
  std::chrono::milliseconds next_backoff{0};
  uint64_t total_restarts = 0;
};

struct supervisor_state {
  static inline const char* name = "node_supervisor";
  std::shared_ptr<directory> actors;
  std::shared_ptr<const node_env> env; ///< for spans; may be null
  supervision_settings policy;
  std::map<std::string, child_record> children;
  /// Live children, shared with the exit hook that takes them down with the supervisor.
  std::shared_ptr<std::map<std::string, caf::actor>> live =
      std::make_shared<std::map<std::string, caf::actor>>();
  bool stopping = false;
};

void log_line(log::level lv, const std::string& msg, const std::string& child,
              nlohmann::json fields = nlohmann::json::object()) {
  fields["child"] = child;
  log::write(lv, "supervisor", msg, fields);
}

/// A `supervision` span: a child restarted (status error) or the supervisor escalating.
void supervision_span(caf::stateful_actor<supervisor_state>* self, const std::string& child,
                      const std::string& what, const std::string& reason, int64_t delay_ms,
                      size_t restarts_in_window) {
  const auto& env = self->state.env;
  if (!env)
    return;
  auto s = incident_span(*env, "supervision", "node_supervisor", "actor", child, "error");
  s.request_data = nlohmann::json{{"action", what},
                                  {"max_restarts", self->state.policy.max_restarts},
                                  {"window_ms", self->state.policy.window.count()}}
                       .dump();
  s.response_data =
      nlohmann::json{{"delay_ms", delay_ms}, {"restarts_in_window", restarts_in_window}}.dump();
  s.error_detail = reason;
  record_span(*env, std::move(s));
}

bool start_child(caf::stateful_actor<supervisor_state>* self, child_record& c) {
  auto handle = c.spec.start(self->system());
  if (!handle)
    return false;
  c.addr = handle->address();
  auto child = caf::actor_cast<caf::actor>(handle);
  // Monitored, not linked: any exit (even an untrappable kill) arrives as a
  // down message; the exit hook below takes the children down with us.
  self->monitor(child);
  (*self->state.live)[c.spec.name] = child;
  self->state.actors->put(c.spec.name, std::move(handle));
  return true;
}

caf::behavior node_supervisor(caf::stateful_actor<supervisor_state>* self,
                              std::shared_ptr<directory> actors, std::vector<child_spec> specs,
                              supervision_settings policy, std::shared_ptr<const node_env> env) {
  auto& st = self->state;
  st.actors = std::move(actors);
  st.env = std::move(env);
  st.policy = policy;
  for (auto& spec : specs) {
    auto name = spec.name;
    auto& rec = st.children[name];
    rec.spec = std::move(spec);
    rec.next_backoff = policy.backoff_min;
    rec.restarts = domain::restart_intensity{
        policy.max_restarts,
        std::chrono::duration_cast<std::chrono::microseconds>(policy.window).count()};
    if (!start_child(self, rec))
      log_line(log::level::error, "child failed to start", name);
  }
  self->attach_functor([live = st.live](const caf::error&) {
    for (auto& [name, child] : *live)
      caf::anon_send_exit(child, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto& [name, rec] : st.children) {
      if (rec.addr != msg.source)
        continue;
      st.actors->erase(name);
      st.live->erase(name);
      rec.addr = caf::actor_addr{};
      if (st.stopping)
        return;
      auto now = domain::now_us();
      if (rec.restarts.prune(now) == 0)
        rec.next_backoff = st.policy.backoff_min;
      if (rec.restarts.record(now)) {
        log_line(log::level::error, "restart intensity exceeded, escalating", name,
                 {{"reason", self->system().render(msg.reason)}});
        supervision_span(self, name, "escalate", self->system().render(msg.reason), 0,
                         rec.restarts.count());
        st.stopping = true;
        self->quit(msg.reason);
        return;
      }
      auto delay = rec.next_backoff;
      rec.next_backoff = std::min(rec.next_backoff * 2, st.policy.backoff_max);
      log_line(log::level::warn, "child exited, restarting", name,
               {{"reason", self->system().render(msg.reason)}, {"delay_ms", delay.count()}});
      supervision_span(self, name, "restart", self->system().render(msg.reason), delay.count(),
                       rec.restarts.count());
      self->delayed_send(self, delay, restart_atom::value, name);
      return;
    }
  });
  return {
      [=](restart_atom, const std::string& name) {
        auto& st = self->state;
        auto i = st.children.find(name);
        if (st.stopping || i == st.children.end() || i->second.addr)
          return;
        ++i->second.total_restarts;
        if (!start_child(self, i->second))
          log_line(log::level::error, "child failed to restart", name);
      },
      [=](get_atom) {
        std::map<std::string, uint64_t> out;
        for (const auto& [name, rec] : self->state.children)
          out[name] = rec.total_restarts;
        std::vector<std::string> names;
        std::vector<uint64_t> counts;
        for (auto& [k, v] : out) {
          names.push_back(k);
          counts.push_back(v);
        }
        return caf::make_message(std::move(names), std::move(counts));
      },
      [=](probe_atom) { return static_cast<int64_t>(self->mailbox().size()); },
  };
}

} // namespace

supervision_settings supervision_of(const config::supervision_config& cfg) {
  supervision_settings s;
  s.max_restarts = cfg.max_restarts;
  s.window = cfg.window;
  s.backoff_min = cfg.backoff_min;
  s.backoff_max = cfg.backoff_max;
  return s;
}

caf::actor spawn_node_supervisor(caf::actor_system& sys, std::shared_ptr<directory> actors,
                                 std::vector<child_spec> children, supervision_settings policy,
                                 std::shared_ptr<const node_env> env) {
  return sys.spawn(node_supervisor, std::move(actors), std::move(children), policy, std::move(env));
}

} // namespace bedbank
