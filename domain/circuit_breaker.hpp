// Circuit breaker arithmetic: states, counters and transitions, free of any clock or actor.
// The supplier connection actor feeds it events (call results, its own timer
// messages, operator overrides) and turns each returned transition into a span
// and a metric.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bedbank::domain {

/// Where the breaker stands.
enum class breaker_state : uint8_t { closed, open, half_open };

/// Who decides: the breaker itself, or an operator who forced it.
enum class breaker_mode : uint8_t { automatic, forced_open, forced_closed };

std::string_view to_string(breaker_state s);
std::string_view to_string(breaker_mode m);

/// Breaker parameters (config `suppliers.<code>.breaker`).
struct breaker_settings {
  /// Consecutive failures (errors and timeouts) that open a closed breaker.
  int max_failures = 5;
  /// First wait in `open` before a probe is allowed.
  std::chrono::milliseconds reset_timeout{10000};
  /// Upper bound of the doubling wait after failed probes.
  std::chrono::milliseconds max_reset_timeout{300000};
};

/// A change of state, for spans, logs and metrics.
struct breaker_transition {
  breaker_state from;
  breaker_state to;
};

/// What the breaker says about a call that wants to go through.
enum class breaker_admit : uint8_t {
  allow, ///< closed (or forced closed): call normally
  probe, ///< half-open: this call is the one probe
  reject ///< open, or a probe is already out: fail fast with circuit_open
};

/// The breaker of one supplier connection.
class circuit_breaker {
public:
  explicit circuit_breaker(breaker_settings s = {}) : settings_(s) {}

  /// Asks whether a call may go out now; a `probe` answer marks the probe in flight.
  breaker_admit admit();

  /// Records a successful call; `was_probe` when it was the half-open probe.
  std::optional<breaker_transition> on_success(bool was_probe);

  /// Records a failed call (error or timeout).
  std::optional<breaker_transition> on_failure(bool was_probe);

  /// The open wait ended (the actor's timer message with generation `gen`);
  /// a stale generation is ignored.
  std::optional<breaker_transition> on_reset_timer(uint64_t gen);

  /// An operator forces the breaker or hands it back (`automatic`).
  std::optional<breaker_transition> force(breaker_mode m);

  breaker_state state() const { return state_; }
  breaker_mode mode() const { return mode_; }
  int consecutive_failures() const { return failures_; }
  /// How long the current open period lasts (valid when state is open).
  std::chrono::milliseconds current_reset_timeout() const { return current_timeout_; }
  /// Generation of the timer the actor must schedule after entering `open`.
  uint64_t generation() const { return generation_; }
  const breaker_settings& settings() const { return settings_; }

private:
  std::optional<breaker_transition> move_to(breaker_state next);

  breaker_settings settings_;
  breaker_state state_ = breaker_state::closed;
  breaker_mode mode_ = breaker_mode::automatic;
  int failures_ = 0;
  bool probe_in_flight_ = false;
  std::chrono::milliseconds current_timeout_{0};
  uint64_t generation_ = 0;
};

} // namespace bedbank::domain
