// Money: integer minor units with an ISO 4217 currency code. Never floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bedbank::domain {

/// An amount of money in minor units (fen, cents) of `currency`.
struct money {
  /// Amount in minor units; may be negative for refunds and penalties.
  int64_t minor = 0;
  /// ISO 4217 code, three upper-case letters.
  std::string currency;

  friend bool operator==(const money&, const money&) = default;
};

/// Number of decimal digits of `currency`'s minor unit (2 for CNY, 0 for JPY);
/// empty for a code we do not know.
std::optional<int> currency_exponent(std::string_view currency);

/// True for a currency this platform knows.
bool known_currency(std::string_view currency);

/// Renders `minor` as the decimal string of the API, e.g. 123450 → "1234.50".
std::string format_amount(int64_t minor, std::string_view currency);

/// Parses the API's decimal string for `currency` ("1234.5", "1234.50", "12");
/// empty on a malformed string or too many decimals.
std::optional<int64_t> parse_amount(std::string_view text, std::string_view currency);

/// Applies a markup in basis points (1/100 of a percent), rounding half up.
int64_t apply_markup(int64_t net_minor, int32_t markup_bps);

/// Converts `minor` units of one currency into another using `rate_ppm`
/// (target units per source unit, times 1e6), rounding half up; exponents of
/// both currencies are respected.
int64_t convert_minor(int64_t minor, int from_exponent, int to_exponent, int64_t rate_ppm);

} // namespace bedbank::domain
