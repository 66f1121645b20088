// Credit line movements and the trial price check.
#include "domain/credit.hpp"

namespace bedbank::domain {

std::string_view to_string(credit_refusal r) {
  switch (r) {
  case credit_refusal::insufficient:
    return "insufficient_credit";
  case credit_refusal::not_reserved:
    return "not_reserved";
  case credit_refusal::not_captured:
    return "not_captured";
  case credit_refusal::negative_amount:
    return "negative_amount";
  }
  return "?";
}

std::optional<credit_refusal> credit_line::reserve(int64_t amount) {
  if (amount < 0)
    return credit_refusal::negative_amount;
  if (amount > available())
    return credit_refusal::insufficient;
  reserved += amount;
  return std::nullopt;
}

std::optional<credit_refusal> credit_line::capture(int64_t amount) {
  if (amount < 0)
    return credit_refusal::negative_amount;
  if (amount > reserved)
    return credit_refusal::not_reserved;
  reserved -= amount;
  captured += amount;
  return std::nullopt;
}

std::optional<credit_refusal> credit_line::release(int64_t amount) {
  if (amount < 0)
    return credit_refusal::negative_amount;
  if (amount > reserved)
    return credit_refusal::not_reserved;
  reserved -= amount;
  return std::nullopt;
}

std::optional<credit_refusal> credit_line::refund(int64_t amount) {
  if (amount < 0)
    return credit_refusal::negative_amount;
  if (amount > captured)
    return credit_refusal::not_captured;
  captured -= amount;
  return std::nullopt;
}

price_check check_price(int64_t expected, int64_t current, int32_t tolerance_bps) {
  __int128 diff = static_cast<__int128>(current) - expected;
  if (diff < 0)
    diff = -diff;
  // |current - expected| * 10000 <= expected * tolerance
  return diff * 10000 <= static_cast<__int128>(expected) * tolerance_bps
             ? price_check::available
             : price_check::price_changed;
}

} // namespace bedbank::domain
