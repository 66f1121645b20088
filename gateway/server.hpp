// The gateway's HTTP server: the agent API listener and the admin listener on
// a pool of I/O threads, with a graceful stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "gateway/node_context.hpp"

namespace bedbank::gateway {

/// How long stop() lets in-flight requests finish before cutting them off.
inline constexpr std::chrono::milliseconds stop_grace{5000};

/// Serves the agent API on cfg.server.host:port and the admin API on
/// cfg.server.admin_host:admin_port. Not copyable; one per node.
class server {
public:
  /// Prepares the server; nothing is bound until start().
  explicit server(node_context ctx);
  /// Stops (gracefully) if still running.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds both listeners and runs cfg.server.io_threads I/O threads.
  /// Throws std::runtime_error naming the address when a bind fails.
  void start();

  /// Graceful: stops accepting, closes idle connections, lets in-flight
  /// requests finish (up to stop_grace), then joins the I/O threads.
  /// Idempotent; safe to call from a signal-handling thread (not from a handler).
  void stop();

  /// The bound agent API port (the actual one when the config says 0).
  uint16_t agent_port() const;
  /// The bound admin API port.
  uint16_t admin_port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::gateway
