// One HTTP/1.1 connection (Beast): reads a request with body and header
// limits under an idle deadline, hands it to the router, writes the answer,
// and keeps the connection alive until the client, the deadline or a graceful
// stop ends it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/spliced_body.hpp"

#include "gateway/http_types.hpp"

namespace bedbank::gateway {

class router;
class http_session;

/// How long a connection that sent an unreadable request is drained before
/// closing (so the client reads the error instead of a reset).
inline constexpr std::chrono::milliseconds linger_timeout{2000};
/// Most bytes drained from such a connection.
inline constexpr std::size_t linger_max_bytes = 1 << 20;

/// HTTP limits of one listener.
struct session_limits {
  uint64_t body_limit = 0;
  uint32_t header_limit = 0;
  std::chrono::milliseconds read_timeout{0};
  std::chrono::milliseconds write_timeout{0};
};

/// What all sessions of one server share: the stop flag and the live
/// sessions, so a graceful stop can close idle connections.
class session_registry {
public:
  /// True once stop began: finish the current request, then close.
  bool stopping() const { return stopping_.load(); }
  /// Marks the stop and asks every idle session to close.
  void stop_all();
  /// Sessions alive.
  size_t size() const;

  void add(uint64_t id, const std::weak_ptr<http_session>& s);
  void remove(uint64_t id);
  uint64_t next_id() { return ++last_id_; }

private:
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> last_id_{0};
  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, std::weak_ptr<http_session>> sessions_;
};

/// One accepted connection.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(boost::asio::ip::tcp::socket&& socket, port_kind port,
               std::shared_ptr<router> routes, std::shared_ptr<session_registry> registry,
               session_limits limits);
  ~http_session();

  /// Starts reading on the connection's strand.
  void run();

  /// Closes the connection if no request is being served (graceful stop).
  void shutdown();

private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_response(http_response res);
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  void do_linger();
  void on_linger(boost::beast::error_code ec, std::size_t bytes);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<boost::beast::http::response<spliced_body>> res_;
  port_kind port_;
  std::shared_ptr<router> routes_;
  std::shared_ptr<session_registry> registry_;
  session_limits limits_;
  uint64_t id_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool busy_ = false;   ///< a request is being served (on the strand only)
  bool linger_ = false; ///< after an unreadable request: drain the input before closing
  std::size_t drained_ = 0;
};

} // namespace bedbank::gateway
