// The gateway server: io_context, thread pool, two listeners, graceful stop.
#include "gateway/server.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/http_ping.hpp"
#include "gateway/listener.hpp"
#include "gateway/metrics.hpp"
#include "gateway/router.hpp"

namespace bedbank::gateway {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// How often stop() checks whether in-flight work has drained.
constexpr std::chrono::milliseconds drain_poll{10};
/// Extra time the destructor waits for actor calls still holding a session.
constexpr std::chrono::milliseconds final_drain_margin{1000};
/// Bounds of cfg.server.io_threads.
constexpr int min_io_threads = 1;
constexpr int max_io_threads = 64;

tcp::endpoint resolve(net::io_context& ioc, const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (!ec)
    return tcp::endpoint{addr, port};
  tcp::resolver resolver{ioc};
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    throw std::runtime_error("gateway: cannot resolve '" + host + "': " + ec.message());
  return results.begin()->endpoint();
}

} // namespace

struct server::impl {
  explicit impl(node_context c)
      : ctx(std::move(c)),
        ioc(std::clamp(ctx.cfg->server.io_threads, min_io_threads, max_io_threads)) {}

  node_context ctx;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<metrics> stats = std::make_shared<metrics>();
  std::shared_ptr<session_registry> registry = std::make_shared<session_registry>();
  std::shared_ptr<router> routes;
  std::shared_ptr<listener> agent;
  std::shared_ptr<listener> admin;
  std::vector<std::thread> threads;
  std::mutex mtx;
  bool started = false;
  bool stopped = false;

  bool drained() const { return registry->size() == 0 && (!routes || routes->pending() == 0); }

  void wait_drained(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!drained() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(drain_poll);
  }
};

server::server(node_context ctx) : impl_(std::make_unique<impl>(std::move(ctx))) {
  if (!impl_->ctx.cfg || !impl_->ctx.sys)
    throw std::invalid_argument("gateway: node_context needs cfg and sys");
}

server::~server() {
  stop();
  // Request actors may still hold sessions (bounded by their timeouts): the
  // io_context must outlive them.
  if (impl_->routes && impl_->routes->pending() > 0)
    impl_->wait_drained(impl_->ctx.cfg->pricing.supplier_timeout + search_grace +
                        final_drain_margin);
}

void server::start() {
  auto& d = *impl_;
  std::lock_guard guard{d.mtx};
  if (d.started)
    return;
  const auto& cfg = *d.ctx.cfg;
  auto* ioc = &d.ioc;
  ping_fn ping;
  if (cfg.clickhouse.enabled) {
    auto host = cfg.clickhouse.host;
    auto port = cfg.clickhouse.port;
    ping = [ioc, host, port](std::function<void(ping_result)> done) {
      http_ping(*ioc, host, port, "/ping", ping_timeout, std::move(done));
    };
  }
  d.routes = std::make_shared<router>(d.ctx, d.stats, std::move(ping));
  session_limits limits{static_cast<uint64_t>(cfg.server.body_limit),
                        static_cast<uint32_t>(cfg.server.header_limit), cfg.server.read_timeout,
                        cfg.server.write_timeout};
  auto open = [&](const std::string& host, uint16_t port, port_kind kind) {
    auto ep = resolve(d.ioc, host, port);
    try {
      return std::make_shared<listener>(d.ioc, ep, kind, d.routes, d.registry, limits);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("gateway: cannot listen on " + host + ":" + std::to_string(port) +
                               ": " + e.code().message());
    }
  };
  d.agent = open(cfg.server.host, cfg.server.port, port_kind::agent);
  d.admin = open(cfg.server.admin_host, cfg.server.admin_port, port_kind::admin);
  d.agent->run();
  d.admin->run();
  d.work.emplace(net::make_work_guard(d.ioc));
  int n = std::clamp(cfg.server.io_threads, min_io_threads, max_io_threads);
  for (int i = 0; i < n; ++i)
    d.threads.emplace_back([ioc] { ioc->run(); });
  d.started = true;
}

void server::stop() {
  auto& d = *impl_;
  std::lock_guard guard{d.mtx};
  if (!d.started || d.stopped)
    return;
  d.stopped = true;
  d.agent->stop();
  d.admin->stop();
  d.registry->stop_all();
  d.wait_drained(stop_grace);
  d.work.reset();
  d.ioc.stop();
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
}

uint16_t server::agent_port() const {
  return impl_->agent ? impl_->agent->port() : 0;
}

uint16_t server::admin_port() const {
  return impl_->admin ? impl_->admin->port() : 0;
}

} // namespace bedbank::gateway
