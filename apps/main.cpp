// bedbank — the command line: serve, migrate, trace, --help.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <unistd.h>

#include "actors/factories.hpp"
#include "cluster/cluster.hpp"
#include "cluster/membership.hpp"
#include "config/config.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "gateway/server.hpp"
#include "log/log.hpp"
#include "persistence/migrations.hpp"
#include "persistence/order_store.hpp"
#include "persistence/span_archiver.hpp"
#include "persistence/trace_repository.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"
#include "protocols/trace_report.hpp"

namespace {

/// Exit code for bad flags or configuration.
constexpr int exit_usage = 2;
/// How long shutdown waits for the journal to write what it holds.
constexpr std::chrono::seconds journal_flush_timeout{5};
/// How long start-up waits for the node manager (and its cluster port).
constexpr std::chrono::seconds manager_start_timeout{5};
/// Directory name of the node manager.
constexpr const char* cluster_manager_name = "node_manager";
/// Default configuration file.
constexpr const char* default_config = "config/bedbank.yaml";

const char* usage = R"(bedbank — B2B2B hotel distribution platform

usage:
  bedbank serve   --config FILE [--role gateway,engine,journal|all] [--node-id ID] [--set key.path=value ...]
  bedbank migrate --config FILE [--set key.path=value ...]
  bedbank trace   <order_id|trace_id> --config FILE [--format text|json|html|otlp]
  bedbank archive --config FILE [--set key.path=value ...]
  bedbank --help

Bad flags or configuration print a message naming the key and exit with 2.
)";

struct options {
  std::string command;
  std::string config_path = default_config;
  std::string role = "all";
  std::string node_id;
  std::string subject; // trace: the id
  std::string format;  // trace: text (default), json, html, otlp
  std::vector<std::string> overrides;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "bedbank: " << msg << "\n(see bedbank --help)\n";
  std::exit(exit_usage);
}

options parse_args(int argc, char** argv) {
  options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    usage_error("missing command");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage;
    std::exit(0);
  }
  o.command = args[0];
  if (o.command != "serve" && o.command != "migrate" && o.command != "trace" &&
      o.command != "archive")
    usage_error("unknown command '" + o.command + "'");
  for (size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size())
        usage_error(std::string{flag} + " needs a value");
      return args[++i];
    };
    if (a == "--config")
      o.config_path = value("--config");
    else if (a == "--role")
      o.role = value("--role");
    else if (a == "--node-id")
      o.node_id = value("--node-id");
    else if (a == "--set")
      o.overrides.push_back(value("--set"));
    else if (a == "--help" || a == "-h") {
      std::cout << usage;
      std::exit(0);
    } else if (o.command == "trace" && a == "--format") {
      o.format = value("--format");
      if (o.format != "text" && o.format != "json" && o.format != "html" && o.format != "otlp")
        usage_error("--format: '" + o.format + "' is not one of text, json, html, otlp");
    } else if (o.command == "trace" && o.subject.empty() && !a.starts_with("-"))
      o.subject = a;
    else
      usage_error("unknown flag '" + a + "'");
  }
  if (o.command == "trace" && o.subject.empty())
    usage_error("trace needs an order id or a trace id");
  if (o.command == "serve") {
    // Roles: a comma list of gateway, engine, journal, or all.
    std::string r = o.role + ",";
    for (size_t p = 0, q; (q = r.find(',', p)) != std::string::npos; p = q + 1) {
      auto part = r.substr(p, q - p);
      if (part != "all" && part != "gateway" && part != "engine" && part != "journal")
        usage_error("--role: unknown role '" + part + "' (gateway, engine, journal or all)");
    }
  }
  return o;
}

bedbank::config::bedbank_config load(const options& o) {
  auto res = bedbank::config::load_config(o.config_path, o.overrides);
  if (auto* err = std::get_if<bedbank::config::config_error>(&res)) {
    std::cerr << err->to_string() << "\n";
    std::exit(exit_usage);
  }
  auto cfg = std::get<bedbank::config::bedbank_config>(std::move(res));
  if (!o.node_id.empty())
    cfg.server.node_id = o.node_id;
  return cfg;
}

int run_migrate(const options& o) {
  auto cfg = load(o);
  auto res = bedbank::persistence::migrate(cfg.database.conninfo());
  if (!res) {
    std::cerr << "bedbank migrate: " << caf::to_string(res.error()) << "\n";
    return 1;
  }
  if (res->empty())
    std::cout << "migrate: schema is up to date\n";
  for (const auto& name : *res)
    std::cout << "migrate: applied " << name << "\n";
  return 0;
}

/// `bedbank trace`: the report of an order (or of one trace, for a 32-hex id) from both
/// stores, printed as text (colours on a terminal only), JSON, HTML or OTLP.
int run_trace(const options& o) {
  using namespace bedbank;
  auto cfg = load(o);
  persistence::trace_repository repo{cfg.database.conninfo(), archive_client(cfg)};
  trace_report_query q;
  q.kind = domain::is_hex_id(o.subject, 32) ? "trace" : "order";
  q.subject = o.subject;
  auto report = repo.report(q);
  if (!report) {
    std::cerr << "bedbank trace: " << message_of(report.error()) << "\n";
    return 1;
  }
  if (o.format == "json")
    std::cout << trace_report_format::encode_report(*report).dump(2) << "\n";
  else if (o.format == "otlp")
    std::cout << trace_report_format::encode_otlp(*report).dump(2) << "\n";
  else if (o.format == "html")
    std::cout << trace_report_format::render_html(*report);
  else
    std::cout << trace_report_format::render_text(*report, isatty(STDOUT_FILENO) == 1);
  return 0;
}

/// `bedbank archive`: one archive pass now (every span older than trace.hot_days, then the
/// retention drop); prints what moved. The same work the archiver actor does on its timer.
int run_archive(const options& o) {
  using namespace bedbank;
  auto cfg = load(o);
  auto client = archive_client(cfg);
  if (!client) {
    std::cerr << "bedbank archive: clickhouse.enabled is false; there is no archive\n";
    return exit_usage;
  }
  persistence::span_archiver archiver{cfg.database.conninfo(), std::move(*client)};
  constexpr int64_t us_per_day = 86'400'000'000;
  auto started = domain::now_us();
  auto cutoff = started - static_cast<int64_t>(cfg.trace.hot_days) * us_per_day;
  auto run = archiver.run(cutoff, cfg.trace.archive_batch);
  if (run.error) {
    std::cerr << "bedbank archive: " << message_of(run.error) << " (after " << run.deleted
              << " spans moved)\n";
    return 1;
  }
  auto dropped = archiver.drop_before(domain::today_utc() - cfg.trace.archive_days);
  if (!dropped) {
    std::cerr << "bedbank archive: " << message_of(dropped.error()) << "\n";
    return 1;
  }
  auto secs = static_cast<double>(domain::now_us() - started) / 1e6;
  auto s_of = [](int64_t us) { return static_cast<double>(us) / 1e6; };
  std::cout << "archive: moved " << run.deleted << " spans (" << run.inserted << " inserted) in "
            << run.batches << " batches, " << secs << " s; dropped " << dropped->size()
            << " partitions\n"
            << "archive: PostgreSQL read " << s_of(run.select_us) << " s and delete "
            << s_of(run.delete_us) << " s, overlapping ClickHouse insert " << s_of(run.insert_us)
            << " s and verify " << s_of(run.verify_us) << " s\n";
  return 0;
}

/// Writes the configured agents' credit lines (limits) to PostgreSQL; reserved and captured
/// sums stay as they are. A database that cannot be reached now is only logged: orders fail
/// cleanly until it is back, and the next start writes the lines.
void sync_credit_lines(const bedbank::config::bedbank_config& cfg, const std::string& conninfo) {
  using namespace bedbank;
  std::vector<persistence::credit_limit> lines;
  for (const auto& a : cfg.agents)
    lines.push_back({a.id, a.name, cfg.pricing.default_currency, a.credit_limit_minor});
  persistence::order_store store{conninfo};
  if (auto err = store.sync_agents(lines))
    log::error("main", "could not write the agents' credit lines: " + message_of(err));
}

/// The actor system's settings: bedbank's types, the middleman with heartbeats on (so a dead
/// peer is noticed in seconds) and the wire version as the application identifier (so CAF's
/// handshake refuses a node of another build).
void configure_system(caf::actor_system_config& sys_cfg,
                      const bedbank::config::bedbank_config& cfg) {
  using namespace bedbank;
  const auto& c = cfg.cluster;
  register_types(sys_cfg);
  sys_cfg.set("scheduler.policy",
              cfg.server.scheduler == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  sys_cfg.load<caf::io::middleman>();
  sys_cfg.set("middleman.heartbeat-interval", caf::timespan{c.heartbeat_interval});
  sys_cfg.set("middleman.connection-timeout", caf::timespan{c.connection_timeout});
  sys_cfg.set("middleman.app-identifiers", std::vector<std::string>{wire_version()});
}

/// The node's long-lived actors for its roles, in start order (the node supervisor starts and
/// restarts them). Every node has a journal (its spans go to its own span writer with the
/// journal role, else to a journal node's), the price cache (Redis: trials, health) and its
/// node manager, started last.
std::vector<bedbank::child_spec> node_children(std::shared_ptr<const bedbank::node_env> env,
                                               const std::vector<std::string>& roles,
                                               std::shared_ptr<bedbank::cluster::view> view,
                                               bedbank::member_info self_info) {
  using namespace bedbank;
  const auto& cfg = env->cfg;
  auto conninfo = cfg->database.conninfo();
  auto has = [&](const char* role) { return cluster::has_role(roles, role); };
  auto handle = [](auto h) { return caf::actor_cast<caf::strong_actor_ptr>(std::move(h)); };
  std::vector<child_spec> children;
  if (has("journal"))
    children.push_back({span_writer_name, [=](caf::actor_system& s) {
                          return handle(spawn_span_writer(s, conninfo));
                        }});
  children.push_back({directory::journal_name,
                      [=](caf::actor_system& s) { return handle(spawn_journal(s, env)); }});
  if (has("gateway"))
    for (int i = 0; i < cfg->trace.readers; ++i)
      children.push_back({directory::trace_reader_name(i), [=](caf::actor_system& s) {
                            return handle(spawn_trace_reader(s, *cfg));
                          }});
  if (has("journal") && cfg->clickhouse.enabled)
    children.push_back({directory::archiver_name,
                        [=](caf::actor_system& s) { return handle(spawn_archiver(s, env)); }});
  children.push_back({directory::cache_name, [=](caf::actor_system& s) {
                        return handle(spawn_price_cache(s, cfg->redis));
                      }});
  if (has("engine")) {
    bool any_mock =
        std::any_of(cfg->suppliers.begin(), cfg->suppliers.end(),
                    [](const config::supplier_config& sc) { return sc.mock.has_value(); });
    if (any_mock)
      children.push_back({directory::mock_ledger_name, [=](caf::actor_system& s) {
                            return handle(spawn_mock_ledger(s, conninfo));
                          }});
    for (int i = 0; i < cfg->orders.store_connections; ++i)
      children.push_back({directory::order_store_name(i), [=](caf::actor_system& s) {
                            return handle(spawn_order_store(s, conninfo));
                          }});
    for (const auto& sc : cfg->suppliers) {
      if (!sc.enabled)
        continue;
      auto code = sc.code;
      children.push_back({directory::supplier_name(code), [=](caf::actor_system& s) {
                            auto adapter = spawn_mock_supplier(s, env, code);
                            return handle(spawn_supplier_conn(
                                s, env, code, caf::actor_cast<supplier_actor>(adapter)));
                          }});
    }
    children.push_back({directory::engine_name,
                        [=](caf::actor_system& s) { return handle(spawn_query_engine(s, env)); }});
    children.push_back({directory::orders_name,
                        [=](caf::actor_system& s) { return handle(spawn_order_engine(s, env)); }});
    children.push_back({directory::relay_name,
                        [=](caf::actor_system& s) { return handle(spawn_outbox_relay(s, env)); }});
  }
  children.push_back({cluster_manager_name, [=](caf::actor_system& s) -> caf::strong_actor_ptr {
                        auto nm = cluster::spawn_node_manager(s, env, view, self_info);
                        auto port = cluster::publish_manager(s, nm, cfg->cluster);
                        if (!port) {
                          log::error("cluster", message_of(port.error()));
                          caf::anon_send_exit(nm, caf::exit_reason::user_shutdown);
                          return nullptr;
                        }
                        return handle(nm);
                      }});
  return children;
}

int run_serve(const options& o) {
  using namespace bedbank;
  auto cfg = std::make_shared<const config::bedbank_config>(load(o));
  if (!log::init(cfg->log)) {
    std::cerr << "config: log.output: cannot open '" << cfg->log.output << "' for appending\n";
    return exit_usage;
  }
  auto roles = cluster::expand_roles(o.role);
  // Block the stop signals in every thread; the main thread waits for them. SIGINT only when
  // it is not ignored: a node a script started in the background (where the shell ignores it)
  // leaves a terminal's Ctrl-C to that script, which stops its nodes with SIGTERM.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  struct sigaction int_action {};
  if (sigaction(SIGINT, nullptr, &int_action) != 0 || int_action.sa_handler != SIG_IGN)
    sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config sys_cfg;
  configure_system(sys_cfg, *cfg);
  caf::actor_system sys{sys_cfg};

  // The static mapping table: each supplier sells its configured share of the catalog.
  std::vector<std::pair<std::string, int>> supplier_codes;
  for (const auto& s : cfg->suppliers)
    supplier_codes.emplace_back(s.code, s.mock ? s.mock->coverage_percent : 100);
  auto started_us = domain::now_us();
  auto env = std::make_shared<node_env>();
  env->cfg = cfg;
  env->catalog = std::make_shared<const domain::catalog>(domain::demo_hotels(), supplier_codes);
  env->actors = std::make_shared<directory>();
  env->cache = std::make_shared<local_cache>(static_cast<size_t>(cfg->pricing.local_cache_entries),
                                             cfg->pricing.local_cache_ttl);
  env->node_id = cfg->server.node_id;
  env->counters = std::make_shared<actor_counters>();
  auto view =
      std::make_shared<cluster::view>(cfg->server.node_id, roles, env->actors, env->counters,
                                      cfg->cluster.vnodes, cfg->cluster.failure_timeout);
  env->place = view;
  std::shared_ptr<const node_env> cenv = env;

  if (cluster::has_role(roles, "engine"))
    sync_credit_lines(*cfg, cfg->database.conninfo());
  auto self_info = cluster::describe_self(*cfg, roles, started_us);
  auto supervisor =
      spawn_node_supervisor(sys, env->actors, node_children(cenv, roles, view, self_info),
                            supervision_of(cfg->supervision), cenv);
  env->actors->put(supervisor_name, caf::actor_cast<caf::strong_actor_ptr>(supervisor));

  // The node manager starts last; without it (its port taken, say) the node cannot serve.
  auto deadline = std::chrono::steady_clock::now() + manager_start_timeout;
  while (!env->actors->get<node_manager_actor>(cluster_manager_name) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  if (!env->actors->get<node_manager_actor>(cluster_manager_name)) {
    std::cerr << "bedbank serve: the node manager did not start (cluster."
              << "port " << cfg->cluster.port << " on " << cfg->cluster.bind << " taken?)\n";
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    return 1;
  }

  std::unique_ptr<gateway::server> http;
  if (cluster::has_role(roles, "gateway")) {
    gateway::node_context ctx;
    ctx.sys = &sys;
    ctx.cfg = cfg;
    ctx.catalog = env->catalog;
    ctx.actors = env->actors;
    ctx.cache = env->cache;
    ctx.place = view;
    ctx.node_id = cfg->server.node_id;
    ctx.roles = o.role;
    ctx.started_us = started_us;
    http = std::make_unique<gateway::server>(ctx);
    try {
      http->start();
    } catch (const std::exception& e) {
      std::cerr << "bedbank serve: " << e.what() << "\n";
      caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
      return 1;
    }
  }
  nlohmann::json started{{"node", cfg->server.node_id}, {"roles", roles}, {"pid", getpid()}};
  if (http) {
    started["agent_api"] = cfg->server.host + ":" + std::to_string(http->agent_port());
    started["admin_api"] = cfg->server.admin_host + ":" + std::to_string(http->admin_port());
  }
  if (cfg->cluster.port != 0)
    started["cluster"] = cfg->cluster.bind + ":" + std::to_string(cfg->cluster.port);
  log::info("main", "bedbank started", started);

  // Stop when a signal arrives or when the supervisor escalates.
  caf::scoped_actor self{sys};
  self->monitor(supervisor);
  std::atomic<bool> escalated{false};
  std::atomic<bool> stopping{false};
  std::thread watcher{[&] {
    self->receive([&](caf::down_msg&) {});
    if (!stopping) {
      escalated = true;
      kill(getpid(), SIGTERM);
    }
  }};
  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::info("main", escalated ? "supervisor escalated, stopping" : "signal received, stopping",
            {{"signal", sig}});
  stopping = true;
  if (http)
    http->stop();
  if (auto j = env->actors->journal()) {
    caf::scoped_actor flusher{sys};
    flusher->request(j, journal_flush_timeout, flush_atom::value)
        .receive(
            [](journal_stats& s) {
              log::info("main", "journal flushed",
                        {{"written", s.written}, {"dropped", s.dropped}});
            },
            [](caf::error&) { log::warn("main", "journal flush did not finish"); });
  }
  caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  watcher.join();
  return escalated ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse_args(argc, argv);
  if (o.command == "migrate")
    return run_migrate(o);
  if (o.command == "trace")
    return run_trace(o);
  if (o.command == "archive")
    return run_archive(o);
  return run_serve(o);
}
