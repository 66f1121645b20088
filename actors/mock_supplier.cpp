// MOCK SUPPLIER: answers the adapter interface from the deterministic rate
// generator after a simulated latency; searches fail or stay silent at the
// configured rates; prices move now and then and hold in between
// (domain::moved_price), so a re-check right after a search finds the search's
// price; re-checks and booking calls play the scenarios of config::mock_profile
// (or of the request's `scenario`).
//
// Bookings live in the node's MOCK LEDGER (PostgreSQL) when the directory has
// one, so they outlive the process like a real supplier's; without one (unit
// tests) they live in this actor's state with the same semantics. Once a
// ledger has been seen the in-memory map is never used again: while the
// ledger restarts, booking calls fail instead of forgetting bookings.
//
// Every answer goes through `answer_after`: a pending entry delivered by a
// timer (or a self-send for zero latency), so each promise is answered exactly
// once and the pending map stays bounded by the longest delay.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "domain/rate_generator.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;

/// A silent call answers after this many supplier timeouts.
constexpr int silent_factor = 4;

/// Random characters after the prefix of a supplier reference.
constexpr int ref_random_chars = 10;

/// A booking held in memory (no mock ledger on this node).
struct held_booking {
  std::string key;
  std::string status;
  int64_t net_minor = 0;
  std::string currency;
};

struct mock_supplier_state {
  static inline const char* name = "mock_supplier";
  std::string code;
  std::string currency;
  config::mock_profile profile;
  std::chrono::milliseconds call_timeout{5000}; ///< suppliers.<code>.timeout
  std::shared_ptr<const node_env> env;
  std::mt19937_64 rng;
  /// References must differ across restarts and nodes (the ledger keeps them unique), so
  /// they do not come from the seeded `rng`.
  std::mt19937_64 ref_rng{(static_cast<uint64_t>(std::random_device{}()) << 32) ^
                          std::random_device{}()};
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, std::function<void()>> pending;
  bool ledger_seen = false;
  std::unordered_map<std::string, held_booking> held;       ///< by supplier reference
  std::unordered_map<std::string, std::string> newest_held; ///< idempotency key -> reference

  std::chrono::microseconds sample_latency() {
    using namespace std::chrono;
    const auto& l = profile.latency;
    switch (l.shape) {
    case config::latency_profile::kind::fixed:
      return duration_cast<microseconds>(l.fixed);
    case config::latency_profile::kind::uniform: {
      std::uniform_int_distribution<int64_t> d{duration_cast<microseconds>(l.min).count(),
                                               duration_cast<microseconds>(l.max).count()};
      return microseconds{d(rng)};
    }
    case config::latency_profile::kind::lognormal: {
      std::lognormal_distribution<double> d{
          std::log(static_cast<double>(duration_cast<microseconds>(l.median).count())), l.sigma};
      return microseconds{static_cast<int64_t>(d(rng))};
    }
    }
    return microseconds{0};
  }

  double draw() { return std::uniform_real_distribution<double>{0.0, 1.0}(rng); }

  /// The scenario a call plays: the request's, else the configured one.
  std::string scenario_of(const std::string& requested) const {
    return requested.empty() ? profile.scenario : requested;
  }

  /// Whether a hotel is sold out for these dates (deterministic).
  bool sold_out(const std::string& hotel_code, int32_t in, int32_t out) const {
    auto h = domain::stable_hash(hotel_code + "|" + std::to_string(in) + "|" + std::to_string(out),
                                 profile.seed ^ 0x50u);
    return static_cast<double>(h % 1000000) / 1000000.0 < profile.sold_out_rate;
  }

  /// The price moves of this supplier's rates (mock.price_drift, price_change_*).
  domain::price_moves moves() const {
    return domain::price_moves{profile.price_drift, profile.price_change_chance,
                               duration_cast<microseconds>(profile.price_change_window).count()};
  }

  /// The price now of a generated rate (its list price when this supplier's prices never move).
  int64_t current_price(const std::string& hotel_code, const domain::generated_rate& g, int32_t in,
                        int32_t out, int64_t now_us) const {
    if (profile.price_drift <= 0.0 || profile.price_change_chance <= 0.0)
      return g.net_minor;
    auto rate = hotel_code + "|" + g.room_code + "|" + g.board + "|" + std::to_string(in) + "|" +
                std::to_string(out);
    return domain::moved_price(g.net_minor, profile.seed, rate, moves(), now_us);
  }

  rates_reply rates_for(const rates_request& req) const {
    rates_reply reply;
    auto now = domain::now_us();
    for (const auto& hc : req.hotel_codes) {
      const auto* h = env->catalog->by_supplier_code(code, hc);
      if (h == nullptr || sold_out(hc, req.check_in, req.check_out))
        continue;
      for (auto& g : domain::generate_rates(profile.seed, hc, h->stars, req.check_in, req.check_out,
                                            req.rooms)) {
        supplier_rate r;
        r.net_minor = current_price(hc, g, req.check_in, req.check_out, now);
        r.supplier = code;
        r.hotel_code = hc;
        r.room_code = std::move(g.room_code);
        r.room_name = std::move(g.room_name);
        r.board = std::move(g.board);
        r.currency = currency;
        r.refundable = g.refundable;
        r.bookable = g.bookable;
        r.policies = std::move(g.policies);
        reply.rates.push_back(std::move(r));
      }
    }
    return reply;
  }

  /// The rate of `req` as sold now: its current price (what a search now answers), 10 % dearer
  /// under price_changed.
  avail_reply availability(const avail_request& req, const std::string& scenario) const {
    avail_reply out;
    out.currency = currency;
    const auto* h = env->catalog->by_supplier_code(code, req.hotel_code);
    if (h == nullptr || scenario == "sold_out" ||
        sold_out(req.hotel_code, req.check_in, req.check_out))
      return out;
    for (auto& g : domain::generate_rates(profile.seed, req.hotel_code, h->stars, req.check_in,
                                          req.check_out, req.rooms)) {
      if (g.room_code != req.room_code || g.board != req.board)
        continue;
      out.available = true;
      auto now = current_price(req.hotel_code, g, req.check_in, req.check_out, domain::now_us());
      out.net_minor = scenario == "price_changed" ? ten_percent_more(now) : now;
      out.room_name = std::move(g.room_name);
      out.refundable = g.refundable;
      out.policies = std::move(g.policies);
      return out;
    }
    return out;
  }

  /// `net` plus 10 %, rounded half up.
  static int64_t ten_percent_more(int64_t net) { return (net * 11 + 5) / 10; }

  /// A new supplier reference: the code in capitals, '-', random capitals and digits.
  std::string make_ref() {
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string ref;
    for (char c : code)
      ref += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ref += '-';
    std::uniform_int_distribution<size_t> pick{0, alphabet.size() - 1};
    for (int i = 0; i < ref_random_chars; ++i)
      ref += alphabet[pick(ref_rng)];
    return ref;
  }

  /// The node's mock ledger, or a null handle. Remembers having seen one.
  mock_ledger_actor ledger() {
    auto l = env->actors->mock_ledger();
    if (l)
      ledger_seen = true;
    return l;
  }

  // -- the in-memory ledger (no mock ledger on this node) ------------------------------

  booking_detail hold(const std::string& key, const std::string& ref, int64_t net,
                      const std::string& cur) {
    held[ref] = held_booking{key, "confirmed", net, cur};
    newest_held[key] = ref;
    return booking_detail{true, ref, key, "confirmed", net, cur};
  }

  booking_detail find_held(const std::string& key) const {
    booking_detail out;
    out.idempotency_key = key;
    auto i = newest_held.find(key);
    if (i == newest_held.end())
      return out;
    const auto& b = held.at(i->second);
    return booking_detail{true, i->second, key, b.status, b.net_minor, b.currency};
  }

  caf::expected<booking_detail> cancel_held(const std::string& ref) {
    auto i = held.find(ref);
    if (i == held.end())
      return make_error(ec::not_found, "mock supplier '" + code + "' has no booking " + ref);
    i->second.status = "cancelled";
    const auto& b = i->second;
    return booking_detail{true, ref, b.key, b.status, b.net_minor, b.currency};
  }

  // -- errors ------------------------------------------------------------------------------

  caf::error http_500() const {
    return make_error(ec::supplier_error, "mock supplier '" + code + "' answered HTTP 500");
  }

  /// The ledger failed `what` (a sentence like "could not store the booking"): the simulated
  /// supplier answers like a real one with a broken back end.
  caf::error ledger_failed(const std::string& what, const std::string& detail) const {
    return make_error(ec::supplier_error, "mock supplier '" + code + "' " + what +
                                              (detail.empty() ? "" : ": " + detail));
  }

  caf::error ledger_failed(const std::string& what, const caf::error& err) const {
    auto detail = message_of(err);
    if (detail.empty()) // CAF's own errors: the request timed out, or the ledger is gone
      detail = code_of(err) == ec::supplier_timeout ? "its booking store did not answer in time"
                                                    : "its booking store is unreachable";
    return ledger_failed(what, detail);
  }

  /// What a booking call answers while the node's ledger is away (being restarted).
  caf::error ledger_down(const std::string& what) const {
    return ledger_failed(what, "its booking store is not running");
  }

  caf::error unknown_scenario(const std::string& scenario) const {
    return make_error(ec::invalid_request,
                      "mock supplier '" + code + "' has no scenario '" + scenario + "'");
  }
};

using mock_pointer = mock_supplier_actor::stateful_pointer<mock_supplier_state>;

/// Answers `rp` with `result` once `delay` has passed (at once, through the mailbox, for a
/// zero delay).
template <class T>
void answer_after(mock_pointer self, caf::typed_response_promise<T> rp,
                  std::type_identity_t<caf::expected<T>> result, microseconds delay) {
  auto& s = self->state;
  auto id = s.next_id++;
  s.pending.emplace(id, [rp, result]() mutable {
    if (result)
      rp.deliver(std::move(*result));
    else
      rp.deliver(result.error());
  });
  if (delay.count() <= 0)
    self->send(self, deliver_atom::value, id);
  else
    self->delayed_send(self, delay, deliver_atom::value, id);
}

/// Answers `rp` with an error now.
template <class T> void fail_now(caf::typed_response_promise<T> rp, caf::error err) {
  rp.deliver(std::move(err));
}

/// A stored booking: answered as the scenario says.
void answer_booked(mock_pointer self, caf::typed_response_promise<booking_detail> rp,
                   const std::string& scenario, booking_detail booked, microseconds latency) {
  auto& s = self->state;
  if (scenario == "slow_booking") {
    answer_after(self, rp, std::move(booked), duration_cast<microseconds>(s.profile.slow_booking));
  } else if (scenario == "answer_lost") {
    // Booked, but the answer never arrives in time: the caller's deadline passes first.
    answer_after(self, rp,
                 make_error(ec::supplier_timeout, "mock supplier '" + s.code +
                                                      "' lost the answer to booking " +
                                                      booked.supplier_ref),
                 duration_cast<microseconds>(s.call_timeout * silent_factor));
  } else {
    answer_after(self, rp, std::move(booked), latency);
  }
}

mock_supplier_actor::behavior_type
mock_supplier(mock_pointer self, std::shared_ptr<const node_env> env, std::string code) {
  auto& st = self->state;
  const auto* sc = env->cfg->supplier(code);
  st.code = code;
  st.env = env;
  st.currency = env->cfg->pricing.default_currency;
  st.profile = sc != nullptr && sc->mock ? *sc->mock : config::mock_profile{};
  if (sc != nullptr)
    st.call_timeout = sc->timeout;
  st.rng.seed(st.profile.seed);
  return {
      [=](search_hotels_atom, const hotels_request& req) -> hotels_reply {
        hotels_reply out;
        for (const auto* h : self->state.env->catalog->in_city(req.city))
          if (auto c = self->state.env->catalog->supplier_code(self->state.code, h->hotel_id))
            out.hotel_codes.push_back(*c);
        return out;
      },
      [=](search_rates_atom, const rates_request& req) -> caf::result<rates_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<rates_reply>();
        double roll = s.draw();
        auto latency = s.sample_latency();
        if (roll < s.profile.timeout_rate) {
          // Silent: answers only long after any caller's deadline, so the
          // caller times out; the late answer keeps memory bounded.
          latency +=
              duration_cast<microseconds>(s.env->cfg->pricing.supplier_timeout * silent_factor);
          answer_after(self, rp, make_error(ec::supplier_timeout, "mock supplier stayed silent"),
                       latency);
        } else if (roll < s.profile.timeout_rate + s.profile.error_rate) {
          answer_after(self, rp, s.http_500(), latency);
        } else {
          answer_after(self, rp, s.rates_for(req), latency);
        }
        return rp;
      },
      [=](deliver_atom, uint64_t id) {
        auto& s = self->state;
        auto i = s.pending.find(id);
        if (i == s.pending.end())
          return;
        auto answer = std::move(i->second);
        s.pending.erase(i);
        answer();
      },
      [=](check_avail_atom, const avail_request& req) -> caf::result<avail_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<avail_reply>();
        auto scenario = s.scenario_of(req.scenario);
        if (!config::is_mock_scenario(scenario)) {
          fail_now(rp, s.unknown_scenario(scenario));
          return rp;
        }
        answer_after(self, rp, s.availability(req, scenario), s.sample_latency());
        return rp;
      },
      [=](create_booking_atom, const booking_request& req) -> caf::result<booking_detail> {
        auto& s = self->state;
        auto rp = self->make_response_promise<booking_detail>();
        auto scenario = s.scenario_of(req.scenario);
        if (!config::is_mock_scenario(scenario)) {
          fail_now(rp, s.unknown_scenario(scenario));
          return rp;
        }
        auto latency = s.sample_latency();
        auto cur = req.currency.empty() ? s.currency : req.currency;
        if (scenario == "sold_out") {
          answer_after(self, rp,
                       make_error(ec::sold_out, "mock supplier '" + s.code + "' has no " +
                                                    req.room_code + " " + req.board + " left at " +
                                                    req.hotel_code),
                       latency);
          return rp;
        }
        if (scenario == "price_changed") {
          auto now = mock_supplier_state::ten_percent_more(req.expected_net_minor);
          answer_after(self, rp,
                       make_error(ec::price_changed, "price is now " + std::to_string(now) + " " +
                                                         cur + " minor units, not " +
                                                         std::to_string(req.expected_net_minor)),
                       latency);
          return rp;
        }
        if (scenario == "booking_error") {
          answer_after(self, rp, s.http_500(), latency);
          return rp;
        }
        // ok, slow_booking, answer_lost, cancel_refused: a new booking, every time.
        auto ref = s.make_ref();
        auto ledger = s.ledger();
        if (!ledger) {
          if (s.ledger_seen)
            fail_now(rp, s.ledger_down("could not store the booking"));
          else
            answer_booked(self, rp, scenario,
                          s.hold(req.idempotency_key, ref, req.expected_net_minor, cur), latency);
          return rp;
        }
        auto stored = req;
        stored.currency = cur;
        self->request(ledger, s.call_timeout, create_booking_atom::value, s.code, stored, ref)
            .then(
                [=](booking_detail& booked) {
                  answer_booked(self, rp, scenario, std::move(booked), latency);
                },
                [=](caf::error& err) {
                  fail_now(rp, self->state.ledger_failed("could not store the booking", err));
                });
        return rp;
      },
      [=](get_booking_atom, const booking_query& q) -> caf::result<booking_detail> {
        auto& s = self->state;
        auto rp = self->make_response_promise<booking_detail>();
        auto latency = s.sample_latency();
        auto ledger = s.ledger();
        if (!ledger) {
          if (s.ledger_seen)
            fail_now(rp, s.ledger_down("could not read its bookings"));
          else
            answer_after(self, rp, s.find_held(q.idempotency_key), latency);
          return rp;
        }
        self->request(ledger, s.call_timeout, get_booking_atom::value, s.code, q.idempotency_key)
            .then([=](booking_detail& found) { answer_after(self, rp, std::move(found), latency); },
                  [=](caf::error& err) {
                    fail_now(rp, self->state.ledger_failed("could not read its bookings", err));
                  });
        return rp;
      },
      [=](cancel_booking_atom, const cancel_request& req) -> caf::result<booking_detail> {
        auto& s = self->state;
        auto rp = self->make_response_promise<booking_detail>();
        auto scenario = s.scenario_of(req.scenario);
        if (!config::is_mock_scenario(scenario)) {
          fail_now(rp, s.unknown_scenario(scenario));
          return rp;
        }
        auto latency = s.sample_latency();
        if (scenario == "cancel_refused") {
          answer_after(self, rp,
                       make_error(ec::conflict, "mock supplier '" + s.code +
                                                    "': supplier refused the cancellation"),
                       latency);
          return rp;
        }
        auto ledger = s.ledger();
        if (!ledger) {
          if (s.ledger_seen)
            fail_now(rp, s.ledger_down("could not cancel the booking"));
          else
            answer_after(self, rp, s.cancel_held(req.supplier_ref), latency);
          return rp;
        }
        self->request(ledger, s.call_timeout, cancel_booking_atom::value, s.code, req.supplier_ref)
            .then(
                [=](booking_detail& cancelled) {
                  answer_after(self, rp, std::move(cancelled), latency);
                },
                [=](caf::error& err) {
                  if (code_of(err) == ec::not_found)
                    answer_after(self, rp, err, latency);
                  else
                    fail_now(rp, self->state.ledger_failed("could not cancel the booking", err));
                });
        return rp;
      },
      [=](health_atom) -> bool { return true; },
  };
}

} // namespace

mock_supplier_actor spawn_mock_supplier(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                                        const std::string& code) {
  return sys.spawn(mock_supplier, std::move(env), code);
}

} // namespace bedbank
