// A Beast body of three parts written with one gather write: an owned head, a
// shared middle (e.g. a cached answer fragment, never copied) and an owned tail.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace bedbank::gateway {

/// Beast Body: `head`, then `*middle` (if any), then `tail`.
struct spliced_body {
  struct value_type {
    std::string head;
    std::shared_ptr<const std::string> middle;
    std::string tail;
  };

  static std::uint64_t size(const value_type& v) {
    return v.head.size() + (v.middle ? v.middle->size() : 0) + v.tail.size();
  }

  /// Serializes the three parts as one buffer sequence.
  class writer {
  public:
    using const_buffers_type = std::array<boost::asio::const_buffer, 3>;

    template <bool IsRequest, class Fields>
    writer(const boost::beast::http::header<IsRequest, Fields>&, const value_type& body)
        : body_(body) {}

    void init(boost::beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (done_)
        return boost::none;
      done_ = true;
      const_buffers_type bufs{boost::asio::buffer(body_.head),
                              body_.middle ? boost::asio::buffer(*body_.middle)
                                           : boost::asio::const_buffer{},
                              boost::asio::buffer(body_.tail)};
      return std::make_pair(bufs, false);
    }

  private:
    const value_type& body_;
    bool done_ = false;
  };
};

} // namespace bedbank::gateway
