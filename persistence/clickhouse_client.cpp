// clickhouse_client: Boost.Beast HTTP/1.1 calls to ClickHouse, each bounded by a deadline.
#include "persistence/clickhouse_client.hpp"

#include <cctype>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr const char* dependency_name = "clickhouse";
constexpr const char* ping_target = "/ping";
constexpr const char* ping_answer = "Ok.\n";
constexpr int http_version = 11;

/// `s` percent-encoded for a URL query component.
std::string url_encode(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

} // namespace

clickhouse_client::clickhouse_client(std::string host, uint16_t port, std::string database,
                                     std::chrono::milliseconds timeout, std::string user,
                                     std::string password)
    : host_(std::move(host)), port_(port), database_(std::move(database)), timeout_(timeout),
      user_(std::move(user)), password_(std::move(password)) {
  // nop
}

clickhouse_client clickhouse_client::with_database(std::string database) const {
  auto copy = *this;
  copy.database_ = std::move(database);
  return copy;
}

std::string clickhouse_client::target(const settings_map& settings, const std::string* sql) const {
  std::string t = "/?";
  auto add = [&t](const std::string& key, const std::string& value) {
    if (t.size() > 2)
      t += '&';
    t += url_encode(key);
    t += '=';
    t += url_encode(value);
  };
  if (!database_.empty())
    add("database", database_);
  if (!user_.empty())
    add("user", user_);
  if (!password_.empty())
    add("password", password_);
  for (const auto& [key, value] : settings)
    add(key, value);
  if (sql != nullptr)
    add("query", *sql);
  return t;
}

caf::expected<std::string> clickhouse_client::request(bool post, const std::string& target,
                                                      const std::string& body) {
  // Asynchronous operations on a private io_context, so the stream's deadline applies; the
  // caller simply blocks until they finish.
  asio::io_context ioc;
  tcp::resolver resolver{ioc};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  http::request<http::string_body> req{post ? http::verb::post : http::verb::get, target,
                                       http_version};
  req.set(http::field::host, host_ + ":" + std::to_string(port_));
  req.set(http::field::user_agent, "bedbank");
  req.set(http::field::connection, "close");
  if (post) {
    req.set(http::field::content_type, "text/plain; charset=utf-8");
    req.body() = body;
  }
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_response_bytes);
  beast::error_code failure;
  std::string stage = "resolve";

  auto on_read = [&](beast::error_code ec, size_t) {
    if (ec)
      failure = ec;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  };
  auto on_write = [&](beast::error_code ec, size_t) {
    if (ec) {
      failure = ec;
      return;
    }
    stage = "read";
    http::async_read(stream, buffer, parser, on_read);
  };
  auto on_connect = [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) {
      failure = ec;
      return;
    }
    stage = "write";
    http::async_write(stream, req, on_write);
  };
  auto on_resolve = [&](beast::error_code ec, const tcp::resolver::results_type& results) {
    if (ec) {
      failure = ec;
      return;
    }
    stage = "connect";
    stream.async_connect(results, on_connect);
  };
  stream.expires_after(timeout_);
  resolver.async_resolve(host_, std::to_string(port_), on_resolve);
  try {
    ioc.run();
  } catch (const std::exception& e) {
    return make_error(ec::storage_unavailable, "clickhouse: " + std::string{e.what()});
  }
  auto where = "clickhouse " + host_ + ":" + std::to_string(port_);
  if (failure) {
    auto what = failure == beast::error::timeout ? std::string{"timed out"} : failure.message();
    return make_error(ec::storage_unavailable, where + ": " + stage + ": " + what);
  }
  auto& res = parser.get();
  if (res.result() != http::status::ok)
    return make_error(ec::storage_unavailable, where + ": HTTP " +
                                                   std::to_string(res.result_int()) + ": " +
                                                   trimmed(res.body()));
  return std::move(res.body());
}

dependency_health clickhouse_client::ping() {
  dependency_health h;
  h.name = dependency_name;
  auto t0 = std::chrono::steady_clock::now();
  auto res = request(false, ping_target, {});
  h.latency_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (!res)
    h.message = message_of(res.error());
  else if (*res != ping_answer)
    h.message = "unexpected /ping answer: " + trimmed(*res);
  else
    h.ok = true;
  return h;
}

caf::expected<std::string> clickhouse_client::query(const std::string& sql,
                                                    const settings_map& settings) {
  return request(true, target(settings, nullptr), sql);
}

caf::expected<std::string> clickhouse_client::insert(const std::string& sql,
                                                     const std::string& data,
                                                     const settings_map& settings) {
  return request(true, target(settings, &sql), data);
}

} // namespace bedbank::persistence
