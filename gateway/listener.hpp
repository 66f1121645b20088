// Accepts connections on one address and starts an http_session for each.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "gateway/http_session.hpp"

namespace bedbank::gateway {

/// Pending connections the kernel queues for the acceptor.
inline constexpr int listen_backlog = 1024;

/// One listening socket (agent or admin port).
class listener : public std::enable_shared_from_this<listener> {
public:
  /// Opens, binds and listens on `endpoint`; throws boost::system::system_error on failure.
  listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
           port_kind port, std::shared_ptr<router> routes,
           std::shared_ptr<session_registry> registry, session_limits limits);

  /// Starts accepting.
  void run();

  /// Stops accepting (thread-safe).
  void stop();

  /// The bound port (the actual one when 0 was asked for).
  uint16_t port() const { return port_number_; }

private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  port_kind port_;
  std::shared_ptr<router> routes_;
  std::shared_ptr<session_registry> registry_;
  session_limits limits_;
  uint16_t port_number_ = 0;
};

} // namespace bedbank::gateway
