// HTTP/1.1 session in the style of Beast's advanced server example.
#include "gateway/http_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "gateway/errors.hpp"
#include "gateway/router.hpp"

namespace bedbank::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// -- registry ------------------------------------------------------------------------

void session_registry::stop_all() {
  stopping_.store(true);
  std::vector<std::shared_ptr<http_session>> live;
  {
    std::lock_guard guard{mtx_};
    for (auto& [id, w] : sessions_)
      if (auto s = w.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->shutdown();
}

size_t session_registry::size() const {
  std::lock_guard guard{mtx_};
  return sessions_.size();
}

void session_registry::add(uint64_t id, const std::weak_ptr<http_session>& s) {
  std::lock_guard guard{mtx_};
  sessions_.emplace(id, s);
}

void session_registry::remove(uint64_t id) {
  std::lock_guard guard{mtx_};
  sessions_.erase(id);
}

// -- session -------------------------------------------------------------------------

namespace {

/// Bytes read per drain step.
constexpr std::size_t linger_chunk = 16384;

const auto& http_category() {
  static const auto& cat = http::make_error_code(http::error::end_of_stream).category();
  return cat;
}

} // namespace

http_session::http_session(net::ip::tcp::socket&& socket, port_kind port,
                           std::shared_ptr<router> routes,
                           std::shared_ptr<session_registry> registry, session_limits limits)
    : stream_(std::move(socket)), port_(port), routes_(std::move(routes)),
      registry_(std::move(registry)), limits_(limits) {
  id_ = registry_->next_id();
}

http_session::~http_session() {
  registry_->remove(id_);
}

void http_session::run() {
  registry_->add(id_, weak_from_this());
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::shutdown() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_)
      self->do_close();
  });
}

void http_session::do_read() {
  if (registry_->stopping()) {
    do_close();
    return;
  }
  parser_.emplace();
  parser_->body_limit(limits_.body_limit);
  parser_->header_limit(limits_.header_limit);
  stream_.expires_after(limits_.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted) {
    do_close();
    return;
  }
  http_request req;
  if (ec) {
    if (ec.category() != http_category() || ec == http::error::partial_message) {
      do_close(); // the peer went away or the socket failed: nobody to answer
      return;
    }
    req.read_error = ec == http::error::body_limit     ? ec::payload_too_large
                     : ec == http::error::header_limit ? ec::headers_too_large
                                                       : ec::invalid_request;
  }
  const auto& msg = parser_->get();
  req.method = std::string{msg.method_string()};
  req.target = std::string{msg.target()};
  if (auto it = msg.find(http::field::authorization); it != msg.end())
    req.authorization = std::string{it->value()};
  if (auto it = msg.find(http::field::content_type); it != msg.end())
    req.content_type = std::string{it->value()};
  if (auto it = msg.find("traceparent"); it != msg.end())
    req.traceparent = std::string{it->value()};
  if (auto it = msg.find("Test"); it != msg.end())
    req.test_scenario = std::string{it->value()};
  version_ = msg.version() == 10 ? 10 : 11;
  keep_alive_ = !req.read_error && msg.keep_alive();
  linger_ = req.read_error.has_value();
  if (!req.read_error)
    req.body = std::move(parser_->get().body());
  busy_ = true;
  auto self = shared_from_this();
  routes_->handle(port_, std::move(req), [self](http_response res) {
    net::post(self->stream_.get_executor(),
              [self, res = std::move(res)]() mutable { self->on_response(std::move(res)); });
  });
}

void http_session::on_response(http_response r) {
  res_ = std::make_shared<http::response<spliced_body>>();
  auto& res = *res_;
  res.version(version_);
  res.result(r.status);
  res.reason(reason_phrase(r.status));
  res.set(http::field::server, "bedbank");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (const auto& [k, v] : r.headers)
    res.insert(k, v);
  bool close = r.close || !keep_alive_ || registry_->stopping();
  res.keep_alive(!close);
  res.body().head = std::move(r.body);
  res.body().middle = std::move(r.shared_body);
  res.body().tail = std::move(r.body_tail);
  res.prepare_payload();
  stream_.expires_after(limits_.write_timeout);
  http::async_write(stream_, res,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), close));
}

void http_session::on_write(bool close, beast::error_code ec, std::size_t) {
  busy_ = false;
  res_.reset();
  if (!ec && linger_) {
    do_linger();
    return;
  }
  if (ec || close) {
    do_close();
    return;
  }
  do_read();
}

void http_session::do_linger() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(linger_chunk),
                          beast::bind_front_handler(&http_session::on_linger, shared_from_this()));
}

void http_session::on_linger(beast::error_code ec, std::size_t bytes) {
  drained_ += bytes;
  if (ec || drained_ > linger_max_bytes) {
    do_close();
    return;
  }
  stream_.async_read_some(buffer_.prepare(linger_chunk),
                          beast::bind_front_handler(&http_session::on_linger, shared_from_this()));
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

} // namespace bedbank::gateway
