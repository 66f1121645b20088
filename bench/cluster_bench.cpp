// cluster_bench: what a request costs across two nodes, against the same request inside one.
//
//   cluster_bench [--requests N] [--warmup W] [--port P] [--scheduler stealing|sharing]
//
// The request is an order read as the gateway sends it to an order's owner — (get_atom,
// order_command) answered with an order_reply carrying a whole order_record with its history
// (~1 KB serialized) — to an actor that answers at once, so what is measured is the platform's
// own cost: CAF's mailboxes and scheduler, and across nodes serialization, BASP and loopback
// TCP. A driver actor sends the next request when the last answer arrives (one in flight) and
// times each round trip:
//   (a) in one process: driver and answerer in the same actor system;
//   (b) across processes: this program starts itself again (`--serve P`) as a second node
//       publishing the answerer on 127.0.0.1:P with bedbank's types and wire version, connects
//       to it over the middleman (heartbeats on, as bedbank nodes run) and drives it the same
//       way. The child is stopped by its PID at the end.
// --scheduler picks CAF's scheduler on both nodes, as `server.scheduler` does for bedbank.
// Prints the percentiles of both and a `RESULT key=value ...` line for bench/run.sh.
// Exit code 0 when both parts ran, 1 when the benchmark could not run, 2 on bad flags.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/actors.hpp"
#include "protocols/registry.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace bedbank;

constexpr int default_requests = 20000;
constexpr int default_warmup = 2000;
constexpr uint16_t default_port = 37171;
constexpr std::chrono::seconds call_timeout{10};
constexpr std::chrono::seconds connect_deadline{10};
constexpr std::chrono::milliseconds heartbeat{500};
constexpr std::chrono::milliseconds connection_timeout{5000};
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

/// The answerer's interface: an order read.
using reader_actor = caf::typed_actor<caf::replies_to<get_atom, order_command>::with<order_reply>>;

order_record sample_order() {
  order_record o;
  o.order_id = "ord_8d746d94bb26ddba";
  o.agent_id = "demo-a";
  o.client_reference = "AGENT-REF-0001";
  o.status = "confirmed";
  o.supplier = "hotelbeds";
  o.supplier_ref = "HOTELBEDS-EO5KPBFLA3";
  o.hotel_id = "H-SHA-0001";
  o.hotel_code = "2000457";
  o.room_code = "DBL.ST";
  o.room_name = "Double Standard";
  o.board = "BB";
  o.rooms = {domain::room_occupancy{2, {5}}};
  o.guests_json =
      R"([{"first_name":"San","last_name":"Zhang"},{"first_name":"Si","last_name":"Li"}])";
  o.contact_json = R"({"email":"agent@example.com","phone":"+86 21 5555 0101"})";
  o.price_minor = 99792;
  o.currency = "CNY";
  o.net_minor = 92400;
  o.net_currency = "CNY";
  o.credit_minor = 99792;
  o.credit_currency = "CNY";
  o.policies = {{1798552800000000, 49896}, {1798812000000000, 99792}};
  o.trace_id = "c94595d7ee3b639f358d50ab9ecabdd0";
  o.trace_ids = {o.trace_id, "48f87e84b10b903cd2c181bfafa4fe97"};
  for (const char* to : {"booking", "confirmed"}) {
    order_history_entry h;
    h.from_status = o.history.empty() ? "" : "booking";
    h.to_status = to;
    h.event = o.history.empty() ? "created" : "supplier_confirmed";
    h.at_us = 1795000000000000;
    h.trace_id = o.trace_id;
    o.history.push_back(h);
  }
  return o;
}

reader_actor::behavior_type answerer() {
  auto reply = std::make_shared<order_reply>(order_reply{sample_order(), false});
  return {[reply](get_atom, const order_command&) { return *reply; }};
}

struct driver_state {
  std::vector<int64_t> rtt_ns;
  int left = 0;
  int warmup = 0;
  clock_type::time_point sent;
  order_command cmd;
  caf::response_promise done;
};

/// Sends one request at a time to `target`, `warmup + n` in all; answers the last n round
/// trips in nanoseconds.
caf::behavior driver(caf::stateful_actor<driver_state>* self, reader_actor target) {
  auto next = [self, target](auto& again) -> void {
    auto& st = self->state;
    if (st.left == 0) {
      st.done.deliver(st.rtt_ns);
      self->quit();
      return;
    }
    --st.left;
    st.sent = clock_type::now();
    self->request(target, call_timeout, get_atom::value, st.cmd)
        .then(
            [self, again](order_reply&) mutable {
              auto& st = self->state;
              auto ns =
                  std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - st.sent)
                      .count();
              if (st.warmup > 0)
                --st.warmup;
              else
                st.rtt_ns.push_back(ns);
              again(again);
            },
            [self](caf::error& e) {
              self->state.done.deliver(e);
              self->quit();
            });
  };
  return {
      [self, next](start_atom, int warmup, int n) {
        auto& st = self->state;
        st.warmup = warmup;
        st.left = warmup + n;
        st.rtt_ns.reserve(static_cast<size_t>(n));
        st.cmd = order_command{
            "ord_8d746d94bb26ddba", "demo-a", "",
            trace_context{"c94595d7ee3b639f358d50ab9ecabdd0", "00f067aa0ba902b7", "demo-a"}};
        st.done = self->make_response_promise();
        next(next);
        return st.done;
      },
  };
}

struct figures {
  double p50_us = 0, p90_us = 0, p99_us = 0, mean_us = 0, max_us = 0;
  size_t n = 0;
};

figures summarise(std::vector<int64_t> ns) {
  figures f;
  if (ns.empty())
    return f;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    auto i = static_cast<size_t>(q * static_cast<double>(ns.size() - 1));
    return static_cast<double>(ns[i]) / 1000.0;
  };
  f.n = ns.size();
  f.p50_us = at(0.50);
  f.p90_us = at(0.90);
  f.p99_us = at(0.99);
  f.max_us = static_cast<double>(ns.back()) / 1000.0;
  double sum = 0;
  for (auto v : ns)
    sum += static_cast<double>(v);
  f.mean_us = sum / static_cast<double>(ns.size()) / 1000.0;
  return f;
}

/// --scheduler sharing (server.scheduler: sharing): both nodes use CAF's sharing scheduler.
bool sharing_scheduler = false;

void configure(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{connection_timeout});
  cfg.set("middleman.app-identifiers", std::vector<std::string>{wire_version()});
  if (sharing_scheduler)
    cfg.set("scheduler.policy", caf::atom("sharing"));
}

/// Runs the driver against `target`; false (and a message) when it failed.
bool drive(caf::actor_system& sys, const reader_actor& target, int warmup, int n,
           std::vector<int64_t>& out) {
  caf::scoped_actor self{sys};
  auto d = sys.spawn(driver, target);
  bool ok = false;
  self->request(d, caf::infinite, start_atom::value, warmup, n)
      .receive(
          [&](std::vector<int64_t>& ns) {
            out = std::move(ns);
            ok = true;
          },
          [&](caf::error& e) { std::cerr << "cluster_bench: " << sys.render(e) << "\n"; });
  return ok;
}

int serve(uint16_t port) {
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};
  auto a = sys.spawn(answerer);
  auto p = sys.middleman().publish(a, port, "127.0.0.1", true);
  if (!p) {
    std::cerr << "cluster_bench --serve: " << sys.render(p.error()) << "\n";
    return exit_failed;
  }
  std::cout << "ready" << std::endl;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return 0;
}

void print(const char* what, const figures& f) {
  std::printf("%-28s n=%zu  p50 %.1f us  p90 %.1f us  p99 %.1f us  mean %.1f us  max %.1f us\n",
              what, f.n, f.p50_us, f.p90_us, f.p99_us, f.mean_us, f.max_us);
}

} // namespace

int main(int argc, char** argv) {
  int requests = default_requests;
  int warmup = default_warmup;
  uint16_t port = default_port;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "cluster_bench: " << a << " needs a value\n";
        std::exit(exit_usage);
      }
      return argv[++i];
    };
    if (a == "--scheduler") {
      auto v = value();
      if (v != "stealing" && v != "sharing") {
        std::cerr << "cluster_bench: --scheduler is stealing or sharing\n";
        return exit_usage;
      }
      sharing_scheduler = v == "sharing";
    } else if (a == "--serve")
      return serve(static_cast<uint16_t>(std::stoi(value())));
    else if (a == "--requests")
      requests = std::stoi(value());
    else if (a == "--warmup")
      warmup = std::stoi(value());
    else if (a == "--port")
      port = static_cast<uint16_t>(std::stoi(value()));
    else {
      std::cerr << "cluster_bench: unknown flag " << a << "\n";
      return exit_usage;
    }
  }
  if (requests < 100 || warmup < 0) {
    std::cerr << "cluster_bench: --requests must be at least 100, --warmup at least 0\n";
    return exit_usage;
  }
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};

  // (a) one process.
  std::vector<int64_t> local_ns;
  auto local = sys.spawn(answerer);
  if (!drive(sys, local, warmup, requests, local_ns))
    return exit_failed;
  caf::anon_send_exit(local, caf::exit_reason::user_shutdown);

  // (b) two processes: this program again as the second node.
  int ready_pipe[2];
  if (pipe(ready_pipe) != 0) {
    std::perror("cluster_bench: pipe");
    return exit_failed;
  }
  pid_t child = fork();
  if (child < 0) {
    std::perror("cluster_bench: fork");
    return exit_failed;
  }
  if (child == 0) {
    dup2(ready_pipe[1], STDOUT_FILENO);
    close(ready_pipe[0]);
    auto port_text = std::to_string(port);
    execl("/proc/self/exe", argv[0], "--scheduler", sharing_scheduler ? "sharing" : "stealing",
          "--serve", port_text.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(ready_pipe[1]);
  char buf[16] = {};
  auto got = read(ready_pipe[0], buf, sizeof buf - 1);
  close(ready_pipe[0]);
  auto stop_child = [child] {
    kill(child, SIGTERM); // our own child, by PID
    int status = 0;
    waitpid(child, &status, 0);
  };
  if (got <= 0 || std::string{buf}.rfind("ready", 0) != 0) {
    std::cerr << "cluster_bench: the second node did not start\n";
    stop_child();
    return exit_failed;
  }
  auto remote = sys.middleman().remote_actor<reader_actor>("127.0.0.1", port);
  if (!remote) {
    std::cerr << "cluster_bench: cannot reach the second node: " << sys.render(remote.error())
              << "\n";
    stop_child();
    return exit_failed;
  }
  std::vector<int64_t> remote_ns;
  bool ok = drive(sys, *remote, warmup, requests, remote_ns);
  stop_child();
  if (!ok)
    return exit_failed;

  auto l = summarise(local_ns);
  auto r = summarise(remote_ns);
  print("one process", l);
  print("two processes (loopback)", r);
  std::printf("cross-node overhead: p50 %.1f us, p99 %.1f us\n", r.p50_us - l.p50_us,
              r.p99_us - l.p99_us);
  std::printf("RESULT requests=%d local_p50_us=%.1f local_p99_us=%.1f local_mean_us=%.1f "
              "remote_p50_us=%.1f remote_p99_us=%.1f remote_mean_us=%.1f "
              "overhead_p50_us=%.1f overhead_p99_us=%.1f\n",
              requests, l.p50_us, l.p99_us, l.mean_us, r.p50_us, r.p99_us, r.mean_us,
              r.p50_us - l.p50_us, r.p99_us - l.p99_us);
  return 0;
}
