// MOCK SUPPLIER: answers the adapter interface from the deterministic rate
// generator after a simulated latency, failing or staying silent at the
// configured rates. Booking operations arrive with the order engine.
#include <cmath>
#include <random>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/factories.hpp"
#include "domain/rate_generator.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

/// A silent call answers after this many supplier timeouts.
constexpr int silent_factor = 4;

/// A reply waiting for its simulated latency.
struct pending_reply {
  caf::typed_response_promise<rates_reply> promise;
  caf::expected<rates_reply> result;
};

struct mock_supplier_state {
  static inline const char* name = "mock_supplier";
  std::string code;
  std::string currency;
  config::mock_profile profile;
  std::shared_ptr<const node_env> env;
  std::mt19937_64 rng;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, pending_reply> pending;

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

  /// Whether a hotel is sold out for these dates (deterministic).
  bool sold_out(const std::string& hotel_code, int32_t in, int32_t out) const {
    auto h = domain::stable_hash(hotel_code + "|" + std::to_string(in) + "|" + std::to_string(out),
                                 profile.seed ^ 0x50u);
    return static_cast<double>(h % 1000000) / 1000000.0 < profile.sold_out_rate;
  }

  rates_reply rates_for(const rates_request& req) const {
    rates_reply reply;
    for (const auto& hc : req.hotel_codes) {
      const auto* h = env->catalog->by_supplier_code(code, hc);
      if (h == nullptr || sold_out(hc, req.check_in, req.check_out))
        continue;
      for (auto& g : domain::generate_rates(profile.seed, hc, h->stars, req.check_in, req.check_out,
                                            req.rooms)) {
        supplier_rate r;
        r.supplier = code;
        r.hotel_code = hc;
        r.room_code = std::move(g.room_code);
        r.room_name = std::move(g.room_name);
        r.board = std::move(g.board);
        r.net_minor = g.net_minor;
        r.currency = currency;
        r.refundable = g.refundable;
        r.bookable = g.bookable;
        r.policies = std::move(g.policies);
        reply.rates.push_back(std::move(r));
      }
    }
    return reply;
  }
};

using mock_pointer = mock_supplier_actor::stateful_pointer<mock_supplier_state>;

caf::error unsupported(const std::string& code, const char* op) {
  return make_error(ec::unsupported,
                    std::string{op} + " is not offered by mock supplier '" + code + "' yet");
}

mock_supplier_actor::behavior_type
mock_supplier(mock_pointer self, std::shared_ptr<const node_env> env, std::string code) {
  auto& st = self->state;
  const auto* sc = env->cfg->supplier(code);
  st.code = code;
  st.env = env;
  st.currency = env->cfg->pricing.default_currency;
  st.profile = sc != nullptr && sc->mock ? *sc->mock : config::mock_profile{};
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
          latency += std::chrono::duration_cast<std::chrono::microseconds>(
              s.env->cfg->pricing.supplier_timeout * silent_factor);
          auto id = s.next_id++;
          s.pending.emplace(id, pending_reply{rp, make_error(ec::supplier_timeout,
                                                             "mock supplier stayed silent")});
          self->delayed_send(self, latency, deliver_atom::value, id);
          return rp;
        }
        auto id = s.next_id++;
        if (roll < s.profile.timeout_rate + s.profile.error_rate)
          s.pending.emplace(
              id, pending_reply{rp, make_error(ec::supplier_error, "mock supplier '" + s.code +
                                                                       "' answered HTTP 500")});
        else
          s.pending.emplace(id, pending_reply{rp, s.rates_for(req)});
        if (latency.count() <= 0)
          self->send(self, deliver_atom::value, id);
        else
          self->delayed_send(self, latency, deliver_atom::value, id);
        return rp;
      },
      [=](deliver_atom, uint64_t id) {
        auto& s = self->state;
        auto i = s.pending.find(id);
        if (i == s.pending.end())
          return;
        if (i->second.result)
          i->second.promise.deliver(std::move(*i->second.result));
        else
          i->second.promise.deliver(i->second.result.error());
        s.pending.erase(i);
      },
      [=](create_booking_atom, const booking_request&) -> caf::result<booking_detail> {
        return unsupported(self->state.code, "CreateBooking");
      },
      [=](cancel_booking_atom, const cancel_request&) -> caf::result<booking_detail> {
        return unsupported(self->state.code, "CancelBooking");
      },
      [=](get_booking_atom, const booking_query&) -> caf::result<booking_detail> {
        return unsupported(self->state.code, "GetBooking");
      },
      [=](check_avail_atom, const avail_request&) -> caf::result<avail_reply> {
        return unsupported(self->state.code, "CheckAvailability");
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
