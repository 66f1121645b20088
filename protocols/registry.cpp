// One place that registers all message types with CAF, and the wire version.
#include "protocols/registry.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include "protocols/errors.hpp"
#include "protocols/messages.hpp"

#ifndef BEDBANK_VERSION
#define BEDBANK_VERSION "0"
#endif

namespace bedbank {

namespace {

constexpr uint64_t fnv_offset = 14695981039346656037ull;
constexpr uint64_t fnv_prime = 1099511628211ull;

void mix(uint64_t& h, const char* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= fnv_prime;
  }
}

/// Name and default serialization of the type with ID `first + I`.
template <caf::type_id_t I> void fold_type(uint64_t& h) {
  constexpr auto id = caf::id_block::bedbank_first_type_id + I;
  using type = typename caf::type_by_id<id>::type;
  std::string name = caf::type_name_by_id<id>::value;
  mix(h, name.data(), name.size());
  std::vector<char> buf;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), buf};
  type value{};
  if (auto err = sink(value))
    mix(h, "!", 1);
  mix(h, buf.data(), buf.size());
  mix(h, ";", 1);
}

template <caf::type_id_t... Is>
void fold_all(uint64_t& h, std::integer_sequence<caf::type_id_t, Is...>) {
  (fold_type<Is>(h), ...);
}

} // namespace

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::bedbank>();
  cfg.add_error_category(ec_category, [](uint8_t code, caf::atom_value, const caf::message& msg) {
    std::string ctx =
        msg.match_elements<std::string>() ? msg.get_as<std::string>(0) : std::string{};
    std::string out = "bedbank: ";
    out += to_string(static_cast<ec>(code));
    if (!ctx.empty()) {
      out += " (";
      out += ctx;
      out += ")";
    }
    return out;
  });
}

const std::string& wire_version() {
  static const std::string version = [] {
    if (const char* forced = std::getenv("BEDBANK_WIRE_VERSION"); forced && *forced)
      return std::string{forced};
    constexpr auto count =
        caf::id_block::bedbank_last_type_id - caf::id_block::bedbank_first_type_id + 1;
    uint64_t h = fnv_offset;
    fold_all(h, std::make_integer_sequence<caf::type_id_t, count>{});
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return std::string{"bedbank/"} + BEDBANK_VERSION + " wire/" + std::to_string(wire_revision) +
           " types/" + hex;
  }();
  return version;
}

} // namespace bedbank
