// A tiny asynchronous HTTP GET (Beast client) for dependency health checks,
// e.g. ClickHouse's `/ping`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "gateway/http_types.hpp"

namespace bedbank::gateway {

/// Default deadline of a health probe (connect, write and read together).
inline constexpr std::chrono::milliseconds ping_timeout{1000};

/// GETs `http://host:port/target` and reports ok when the answer is 2xx;
/// `done` runs once, on an I/O thread.
void http_ping(boost::asio::io_context& ioc, const std::string& host, uint16_t port,
               const std::string& target, std::chrono::milliseconds timeout,
               std::function<void(ping_result)> done);

} // namespace bedbank::gateway
