// The mock suppliers' price model: stars, weekday, occupancy and a per-hotel factor.
#include "domain/rate_generator.hpp"

#include <array>
#include <cmath>

#include "domain/catalog.hpp"

namespace bedbank::domain {

namespace {

struct room_kind {
  const char* code;
  const char* name;
  int factor_pct;
};

constexpr std::array<room_kind, 5> room_kinds{{
    {"STD", "Standard Room", 100},
    {"SUP", "Superior Room", 125},
    {"DLX", "Deluxe Room", 160},
    {"EXE", "Executive Room", 210},
    {"STE", "Suite", 320},
}};

struct board_kind {
  const char* code;
  int per_person_minor; // per person per night
};

constexpr std::array<board_kind, 5> boards{
    {{"RO", 0}, {"BB", 6800}, {"HB", 15800}, {"FB", 24800}, {"AI", 39800}}};

/// A uniform draw in [0, 1) from the top 53 bits of `h`.
double unit(uint64_t h) {
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

} // namespace

int64_t moved_price(int64_t net_minor, uint64_t seed, std::string_view rate,
                    const price_moves& moves, int64_t now_us) {
  if (moves.bound <= 0.0 || moves.chance <= 0.0 || moves.window_us <= 0)
    return net_minor;
  // Floor division: instants before the epoch still fall in whole windows.
  int64_t window = now_us / moves.window_us - (now_us % moves.window_us < 0 ? 1 : 0);
  uint64_t rh = stable_hash(rate, seed ^ 0x6d6f7665ULL);
  for (int back = 0; back < price_move_lookback; ++back) {
    uint64_t h = mix64(rh ^ mix64(static_cast<uint64_t>(window - back)));
    if (unit(h) >= moves.chance)
      continue;
    double u = moves.bound * (2.0 * unit(mix64(h)) - 1.0);
    auto moved = std::llround(static_cast<double>(net_minor) * (1.0 + u));
    return moved < 1 ? 1 : moved;
  }
  return net_minor;
}

std::vector<generated_rate> generate_rates(uint64_t seed, std::string_view hotel_code, int stars,
                                           day check_in, day check_out,
                                           const std::vector<room_occupancy>& rooms) {
  std::vector<generated_rate> out;
  uint64_t hh = stable_hash(hotel_code, seed);
  // Price level per night for a standard double, in fen: 180 CNY per star plus a hotel factor.
  int64_t base = 18000 * stars + static_cast<int64_t>(hh % 20000);
  int kinds = 2 + static_cast<int>((hh >> 8) % 3);        // 2..4 room kinds
  int board_count = 1 + static_cast<int>((hh >> 16) % 3); // 1..3 boards
  int persons = 0;
  for (const auto& r : rooms)
    persons += r.adults + static_cast<int>(r.children_ages.size());
  for (int k = 0; k < kinds; ++k) {
    for (int b = 0; b < board_count; ++b) {
      std::string room_code = room_kinds[static_cast<size_t>(k)].code;
      uint64_t rh = stable_hash(room_code, hh + static_cast<uint64_t>(b));
      int64_t total = 0;
      for (day d = check_in; d < check_out; ++d) {
        int weekday = static_cast<int>((d + 4) % 7); // 1970-01-01 was a Thursday (4)
        int weekend_pct = (weekday == 5 || weekday == 6) ? 118 : 100;
        uint64_t dh = stable_hash(std::to_string(d), rh);
        int64_t night =
            base * room_kinds[static_cast<size_t>(k)].factor_pct / 100 * weekend_pct / 100;
        night += static_cast<int64_t>(dh % 4000) - 2000; // ±20 CNY day noise
        for (const auto& r : rooms) {
          int64_t room_night = night + (r.adults > 2 ? (r.adults - 2) * night / 4 : 0);
          for (int age : r.children_ages)
            room_night += age < 2 ? 0 : night / 10;
          total += room_night;
        }
        total += static_cast<int64_t>(boards[static_cast<size_t>(b)].per_person_minor) * persons;
      }
      generated_rate g;
      g.room_code = room_code;
      g.room_name = room_kinds[static_cast<size_t>(k)].name;
      g.board = boards[static_cast<size_t>(b)].code;
      g.net_minor = total / 100 * 100; // whole yuan
      g.refundable = (rh % 4) != 0;
      g.bookable = (rh % 5) != 0;
      int64_t arrival_us =
          static_cast<int64_t>(check_in) * 86400LL * 1000000LL + 14LL * 3600 * 1000000;
      if (g.refundable) {
        // Free until 3 days before arrival, then one night, then everything from arrival.
        int64_t nights = check_out - check_in;
        g.policies.push_back({arrival_us - 3LL * 86400 * 1000000, g.net_minor / nights});
        g.policies.push_back({arrival_us, g.net_minor});
      } else {
        g.policies.push_back({0, g.net_minor});
      }
      out.push_back(std::move(g));
    }
  }
  return out;
}

} // namespace bedbank::domain
