// Asynchronous HTTP health probe in the style of Beast's async client example.
#include "gateway/http_ping.hpp"

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "domain/dates.hpp"

namespace bedbank::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// Largest probe answer read.
constexpr uint64_t ping_body_limit = 4096;

class ping_session : public std::enable_shared_from_this<ping_session> {
public:
  ping_session(net::io_context& ioc, std::chrono::milliseconds timeout,
               std::function<void(ping_result)> done)
      : resolver_(net::make_strand(ioc)), stream_(resolver_.get_executor()), timeout_(timeout),
        done_(std::move(done)), started_us_(domain::now_us()) {}

  void run(const std::string& host, uint16_t port, const std::string& target) {
    req_.version(11);
    req_.method(http::verb::get);
    req_.target(target);
    req_.set(http::field::host, host);
    req_.set(http::field::user_agent, "bedbank-health");
    resolver_.async_resolve(
        host, std::to_string(port),
        beast::bind_front_handler(&ping_session::on_resolve, shared_from_this()));
  }

private:
  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return finish(false, "resolve: " + ec.message());
    stream_.expires_after(timeout_);
    stream_.async_connect(results,
                          beast::bind_front_handler(&ping_session::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec)
      return finish(false, "connect: " + ec.message());
    http::async_write(stream_, req_,
                      beast::bind_front_handler(&ping_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return finish(false, "write: " + ec.message());
    parser_.body_limit(ping_body_limit);
    http::async_read(stream_, buffer_, parser_,
                     beast::bind_front_handler(&ping_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return finish(false, "read: " + ec.message());
    auto status = parser_.get().result_int();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (status / 100 == 2)
      finish(true, "");
    else
      finish(false, "HTTP " + std::to_string(status));
  }

  void finish(bool ok, std::string message) {
    if (done_)
      done_(ping_result{ok, domain::now_us() - started_us_, std::move(message)});
    done_ = nullptr;
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> req_;
  http::response_parser<http::string_body> parser_;
  std::chrono::milliseconds timeout_;
  std::function<void(ping_result)> done_;
  int64_t started_us_;
};

} // namespace

void http_ping(net::io_context& ioc, const std::string& host, uint16_t port,
               const std::string& target, std::chrono::milliseconds timeout,
               std::function<void(ping_result)> done) {
  std::make_shared<ping_session>(ioc, timeout, std::move(done))->run(host, port, target);
}

} // namespace bedbank::gateway
