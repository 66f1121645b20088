// Circuit breaker transitions (semantics in docs/architecture.md).
#include "domain/circuit_breaker.hpp"

#include <algorithm>

namespace bedbank::domain {

std::string_view to_string(breaker_state s) {
  switch (s) {
  case breaker_state::closed:
    return "closed";
  case breaker_state::open:
    return "open";
  case breaker_state::half_open:
    return "half_open";
  }
  return "?";
}

std::string_view to_string(breaker_mode m) {
  switch (m) {
  case breaker_mode::automatic:
    return "auto";
  case breaker_mode::forced_open:
    return "forced_open";
  case breaker_mode::forced_closed:
    return "forced_closed";
  }
  return "?";
}

breaker_admit circuit_breaker::admit() {
  if (mode_ == breaker_mode::forced_open)
    return breaker_admit::reject;
  if (mode_ == breaker_mode::forced_closed)
    return breaker_admit::allow;
  switch (state_) {
  case breaker_state::closed:
    return breaker_admit::allow;
  case breaker_state::open:
    return breaker_admit::reject;
  case breaker_state::half_open:
    if (probe_in_flight_)
      return breaker_admit::reject;
    probe_in_flight_ = true;
    return breaker_admit::probe;
  }
  return breaker_admit::reject;
}

std::optional<breaker_transition> circuit_breaker::move_to(breaker_state next) {
  if (next == state_)
    return std::nullopt;
  breaker_transition t{state_, next};
  state_ = next;
  probe_in_flight_ = false;
  if (next == breaker_state::open)
    ++generation_;
  return t;
}

std::optional<breaker_transition> circuit_breaker::on_success(bool was_probe) {
  failures_ = 0;
  if (mode_ != breaker_mode::automatic)
    return std::nullopt;
  if (state_ == breaker_state::half_open && was_probe) {
    current_timeout_ = std::chrono::milliseconds{0};
    return move_to(breaker_state::closed);
  }
  return std::nullopt;
}

std::optional<breaker_transition> circuit_breaker::on_failure(bool was_probe) {
  ++failures_;
  if (mode_ != breaker_mode::automatic)
    return std::nullopt;
  if (state_ == breaker_state::half_open && was_probe) {
    // A failed probe reopens with a doubled wait, capped.
    current_timeout_ = std::min(current_timeout_ * 2, settings_.max_reset_timeout);
    return move_to(breaker_state::open);
  }
  if (state_ == breaker_state::closed && failures_ >= settings_.max_failures) {
    current_timeout_ = settings_.reset_timeout;
    return move_to(breaker_state::open);
  }
  return std::nullopt;
}

std::optional<breaker_transition> circuit_breaker::on_reset_timer(uint64_t gen) {
  if (gen != generation_ || state_ != breaker_state::open || mode_ != breaker_mode::automatic)
    return std::nullopt;
  return move_to(breaker_state::half_open);
}

std::optional<breaker_transition> circuit_breaker::force(breaker_mode m) {
  mode_ = m;
  switch (m) {
  case breaker_mode::forced_open:
    current_timeout_ = settings_.reset_timeout;
    return move_to(breaker_state::open);
  case breaker_mode::forced_closed:
    failures_ = 0;
    return move_to(breaker_state::closed);
  case breaker_mode::automatic:
    // Handing back: start closed with a clean count, as after a good probe.
    failures_ = 0;
    current_timeout_ = std::chrono::milliseconds{0};
    return move_to(breaker_state::closed);
  }
  return std::nullopt;
}

} // namespace bedbank::domain
