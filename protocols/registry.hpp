// Registration of bedbank's message types and error category with an actor system config, and
// the wire version nodes compare before they talk.
#pragma once

#include <string>

#include <caf/actor_system_config.hpp>

namespace bedbank {

/// Raise when a message's meaning changes without its layout changing (the fingerprint in
/// wire_version() catches added, removed and retyped fields and renamed types by itself).
inline constexpr int wire_revision = 1;

/// Adds every bedbank message type and the `bedbank` error category to `cfg`.
/// Call it on every node before the actor system starts.
void register_types(caf::actor_system_config& cfg);

/// "bedbank/<version> wire/<revision> types/<fingerprint>": the fingerprint hashes the name and
/// the serialized form of a default value of every type in bedbank's type-ID block, so two
/// builds whose messages differ have different wire versions. Nodes refuse peers whose wire
/// version differs from theirs (CAF's handshake compares it as the application identifier,
/// and a join compares it again). The environment variable BEDBANK_WIRE_VERSION, when set,
/// replaces it (to test a refusal without a second build).
const std::string& wire_version();

} // namespace bedbank
