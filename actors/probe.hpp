// Mailbox probes: GET /admin/cluster shows the backlog of every long-lived actor. An actor's
// mailbox can only be measured from inside the actor, so each long-lived actor answers a
// `probe_atom` (sent through an untyped handle, outside its typed interface) with its mailbox
// size from its default handler; anything else unexpected is logged and refused as CAF does.
#pragma once

#include <cstdint>

#include <caf/message.hpp>
#include <caf/result.hpp>
#include <caf/scheduled_actor.hpp>

#include "actors/actors.hpp"

namespace bedbank {

/// Makes `self` answer `(probe_atom)` with its mailbox backlog (int64_t).
template <class Self> void answer_probes(Self* self) {
  self->set_default_handler(
      [](caf::scheduled_actor* ptr, caf::message_view& x) -> caf::result<caf::message> {
        if (x.content().match_elements<probe_atom>())
          return caf::make_message(static_cast<int64_t>(ptr->mailbox().size()));
        return caf::print_and_drop(ptr, x);
      });
}

} // namespace bedbank
