// Acceptor loop in the style of Beast's advanced server example.
#include "gateway/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

namespace bedbank::gateway {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, port_kind port,
                   std::shared_ptr<router> routes, std::shared_ptr<session_registry> registry,
                   session_limits limits)
    : ioc_(ioc), strand_(net::make_strand(ioc)), acceptor_(strand_), port_(port),
      routes_(std::move(routes)), registry_(std::move(registry)), limits_(limits) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(listen_backlog);
  port_number_ = acceptor_.local_endpoint().port();
}

void listener::run() {
  net::post(strand_, [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  net::post(strand_, [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open())
    return;
  if (!ec && !registry_->stopping()) {
    std::make_shared<http_session>(std::move(socket), port_, routes_, registry_, limits_)->run();
  }
  // Other accept errors (e.g. too many open files) are transient: keep accepting.
  do_accept();
}

} // namespace bedbank::gateway
