// Random ids from a per-thread generator seeded by the OS.
#include "gateway/ids.hpp"

#include <random>

namespace bedbank::gateway {

std::string random_hex(size_t n) {
  static constexpr char hex[] = "0123456789abcdef";
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64{seq};
  }()};
  std::string out(n, '0');
  bool nonzero = false;
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 16 == 0)
      bits = gen();
    out[i] = hex[bits & 15];
    nonzero |= (bits & 15) != 0;
    bits >>= 4;
  }
  if (!nonzero && n > 0)
    out[n - 1] = '1';
  return out;
}

} // namespace bedbank::gateway
