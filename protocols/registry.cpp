// One place that registers all message types with CAF.
#include "protocols/registry.hpp"

#include "protocols/errors.hpp"
#include "protocols/messages.hpp"

#include <caf/message.hpp>

namespace bedbank {

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

} // namespace bedbank
