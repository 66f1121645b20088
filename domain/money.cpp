// Money formatting, parsing, markup and conversion in integer arithmetic.
#include "domain/money.hpp"

#include <array>
#include <charconv>

namespace bedbank::domain {

namespace {

struct currency_info {
  std::string_view code;
  int exponent;
};

constexpr std::array<currency_info, 16> currencies{{
    {"CNY", 2},
    {"USD", 2},
    {"EUR", 2},
    {"GBP", 2},
    {"HKD", 2},
    {"JPY", 0},
    {"SGD", 2},
    {"AUD", 2},
    {"CAD", 2},
    {"CHF", 2},
    {"KRW", 0},
    {"THB", 2},
    {"MOP", 2},
    {"TWD", 2},
    {"AED", 2},
    {"NZD", 2},
}};

int64_t pow10(int n) {
  int64_t r = 1;
  for (int i = 0; i < n; ++i)
    r *= 10;
  return r;
}

// Divides rounding half away from zero.
int64_t div_round(__int128 num, __int128 den) {
  bool neg = (num < 0) != (den < 0);
  if (num < 0)
    num = -num;
  if (den < 0)
    den = -den;
  __int128 q = (num + den / 2) / den;
  return static_cast<int64_t>(neg ? -q : q);
}

} // namespace

std::optional<int> currency_exponent(std::string_view currency) {
  for (const auto& c : currencies)
    if (c.code == currency)
      return c.exponent;
  return std::nullopt;
}

bool known_currency(std::string_view currency) {
  return currency_exponent(currency).has_value();
}

std::string format_amount(int64_t minor, std::string_view currency) {
  int exp = currency_exponent(currency).value_or(2);
  bool neg = minor < 0;
  uint64_t abs = neg ? static_cast<uint64_t>(-(minor + 1)) + 1 : static_cast<uint64_t>(minor);
  uint64_t scale = static_cast<uint64_t>(pow10(exp));
  std::string out = neg ? "-" : "";
  out += std::to_string(abs / scale);
  if (exp > 0) {
    std::string frac = std::to_string(abs % scale);
    out += '.';
    out.append(static_cast<size_t>(exp) - frac.size(), '0');
    out += frac;
  }
  return out;
}

std::optional<int64_t> parse_amount(std::string_view text, std::string_view currency) {
  auto exp = currency_exponent(currency);
  if (!exp || text.empty() || text.size() > 24)
    return std::nullopt;
  bool neg = false;
  if (text.front() == '-') {
    neg = true;
    text.remove_prefix(1);
  }
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty()))
    return std::nullopt;
  if (static_cast<int>(frac.size()) > *exp)
    return std::nullopt;
  for (char c : whole)
    if (c < '0' || c > '9')
      return std::nullopt;
  for (char c : frac)
    if (c < '0' || c > '9')
      return std::nullopt;
  int64_t w = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
  if (ec != std::errc{} || w > INT64_MAX / pow10(*exp) - 1)
    return std::nullopt;
  int64_t f = 0;
  if (!frac.empty())
    std::from_chars(frac.data(), frac.data() + frac.size(), f);
  f *= pow10(*exp - static_cast<int>(frac.size()));
  int64_t v = w * pow10(*exp) + f;
  return neg ? -v : v;
}

int64_t apply_markup(int64_t net_minor, int32_t markup_bps) {
  return net_minor + div_round(static_cast<__int128>(net_minor) * markup_bps, 10000);
}

int64_t convert_minor(int64_t minor, int from_exponent, int to_exponent, int64_t rate_ppm) {
  __int128 num = static_cast<__int128>(minor) * rate_ppm * pow10(to_exponent);
  __int128 den = static_cast<__int128>(1000000) * pow10(from_exponent);
  return div_round(num, den);
}

} // namespace bedbank::domain
