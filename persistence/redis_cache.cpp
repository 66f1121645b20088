// redis_cache: hiredis 0.14 synchronous client with timeouts, AUTH/SELECT and reconnects.
#include "persistence/redis_cache.hpp"

#include <sys/time.h>

#include <functional>

#include <hiredis/hiredis.h>

#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

constexpr const char* dependency_name = "redis";

struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

using context_ptr = std::unique_ptr<redisContext, context_deleter>;
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

std::string reply_text(const redisReply* r) {
  return r->str != nullptr ? std::string{r->str, r->len} : std::string{};
}

} // namespace

struct redis_cache::impl {
  std::string host;
  uint16_t port;
  std::string password;
  int db;
  std::chrono::milliseconds timeout;
  context_ptr ctx;

  std::string where() const { return "redis " + host + ":" + std::to_string(port); }

  /// Connects (with AUTH / SELECT) unless connected; an error message on failure.
  std::string connect() {
    if (ctx)
      return {};
    auto tv = to_timeval(timeout);
    context_ptr c{redisConnectWithTimeout(host.c_str(), port, tv)};
    if (!c)
      return "cannot allocate a hiredis context";
    if (c->err != 0)
      return std::string{"connect: "} + c->errstr;
    if (redisSetTimeout(c.get(), tv) != REDIS_OK)
      return std::string{"set timeout: "} + c->errstr;
    if (!password.empty()) {
      reply_ptr r{static_cast<redisReply*>(
          redisCommand(c.get(), "AUTH %b", password.data(), password.size()))};
      if (!r)
        return std::string{"AUTH: "} + c->errstr;
      if (r->type == REDIS_REPLY_ERROR)
        return "AUTH: " + reply_text(r.get());
    }
    if (db != 0) {
      reply_ptr r{static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", db))};
      if (!r)
        return std::string{"SELECT: "} + c->errstr;
      if (r->type == REDIS_REPLY_ERROR)
        return "SELECT: " + reply_text(r.get());
    }
    ctx = std::move(c);
    return {};
  }

  /// Runs `issue` on a connection; reconnects and retries once when an established
  /// connection failed (I/O error, timeout, server restart). A null reply means failure and
  /// `error` holds why.
  reply_ptr run(const std::function<void*(redisContext*)>& issue, std::string& error) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool was_connected = static_cast<bool>(ctx);
      if (auto err = connect(); !err.empty()) {
        error = where() + ": " + err;
        return nullptr;
      }
      reply_ptr r{static_cast<redisReply*>(issue(ctx.get()))};
      if (r) {
        if (r->type == REDIS_REPLY_ERROR) {
          error = where() + ": " + reply_text(r.get());
          return nullptr;
        }
        return r;
      }
      // A failed context cannot be reused: drop it.
      error = where() + ": " + (ctx->errstr[0] != '\0' ? ctx->errstr : "no reply");
      ctx.reset();
      if (!was_connected)
        break;
    }
    return nullptr;
  }
};

redis_cache::redis_cache(std::string host, uint16_t port, std::string password, int db,
                         std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->password = std::move(password);
  impl_->db = db;
  impl_->timeout = timeout;
}

redis_cache::~redis_cache() = default;
redis_cache::redis_cache(redis_cache&&) noexcept = default;
redis_cache& redis_cache::operator=(redis_cache&&) noexcept = default;

caf::expected<cache_value> redis_cache::get(const std::string& key) {
  std::string error;
  auto r = impl_->run(
      [&](redisContext* c) { return redisCommand(c, "GET %b", key.data(), key.size()); }, error);
  if (!r)
    return make_error(ec::storage_unavailable, "GET failed: " + error);
  cache_value result;
  if (r->type == REDIS_REPLY_STRING) {
    result.found = true;
    result.data = reply_text(r.get());
  } else if (r->type != REDIS_REPLY_NIL) {
    return make_error(ec::storage_unavailable,
                      "GET: unexpected reply type " + std::to_string(r->type));
  }
  return result;
}

caf::error redis_cache::set(const std::string& key, const std::string& value,
                            std::chrono::milliseconds ttl) {
  std::string error;
  auto r = impl_->run(
      [&](redisContext* c) {
        if (ttl.count() > 0)
          return redisCommand(c, "SET %b %b PX %lld", key.data(), key.size(), value.data(),
                              value.size(), static_cast<long long>(ttl.count()));
        return redisCommand(c, "SET %b %b", key.data(), key.size(), value.data(), value.size());
      },
      error);
  if (!r)
    return make_error(ec::storage_unavailable, "SET failed: " + error);
  return caf::none;
}

dependency_health redis_cache::ping() {
  dependency_health h;
  h.name = dependency_name;
  auto t0 = std::chrono::steady_clock::now();
  std::string error;
  auto r = impl_->run([](redisContext* c) { return redisCommand(c, "PING"); }, error);
  h.latency_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (!r) {
    h.message = error;
  } else if (reply_text(r.get()) != "PONG") {
    h.message = "unexpected PING reply: " + reply_text(r.get());
  } else {
    h.ok = true;
  }
  return h;
}

} // namespace bedbank::persistence
