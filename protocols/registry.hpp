// Registration of bedbank's message types and error category with an actor system config.
#pragma once

#include <caf/actor_system_config.hpp>

namespace bedbank {

/// Adds every bedbank message type and the `bedbank` error category to `cfg`.
/// Call it on every node before the actor system starts.
void register_types(caf::actor_system_config& cfg);

} // namespace bedbank
