// Calendar dates (days since 1970-01-01) and instants, parsed and printed as the API wants.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bedbank::domain {

/// A calendar date as days since 1970-01-01 (UTC).
using day = int32_t;

/// Parses a strict `YYYY-MM-DD` date; empty when malformed or not a real date.
std::optional<day> parse_date(std::string_view text);

/// Formats a date as `YYYY-MM-DD`.
std::string format_date(day d);

/// Today's date in UTC.
day today_utc();

/// Microseconds since the Unix epoch, UTC.
int64_t now_us();

/// Formats microseconds since the epoch as RFC 3339 UTC with milliseconds,
/// e.g. `2026-11-21T23:44:45.123Z`.
std::string format_instant_us(int64_t us);

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fff]Z` or `±HH:MM`) into microseconds.
std::optional<int64_t> parse_instant_us(std::string_view text);

} // namespace bedbank::domain
