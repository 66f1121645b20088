// JSON codecs of the agent API's orders (api.md): the bodies of
// POST /api/orders/trial and POST /api/orders in, orders and trials out, the
// Redis copy of a trial, and the instants of the order list's `from`/`to`
// filters. Pure functions over nlohmann::json; no I/O, no CAF; nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/search_query.hpp"
#include "protocols/messages.hpp"

namespace bedbank::order_json {

/// The first field of a request at fault: its JSON path (`rooms[0].guests[1].first_name`;
/// empty when the body as a whole is wrong) and a sentence for a person.
struct decode_error {
  std::string field;
  std::string message;
};

// -- limits --------------------------------------------------------------------

/// Longest guest first or last name, in characters (after trimming spaces).
inline constexpr size_t max_name_chars = 64;
/// Longest client_reference, in characters.
inline constexpr size_t max_client_reference_chars = 64;
/// Longest trial id (ASCII letters, digits, `_` and `-`).
inline constexpr size_t max_trial_id_chars = 64;
/// Longest contact email (RFC 5321 path limit) and phone.
inline constexpr size_t max_email_chars = 254;
inline constexpr size_t max_phone_chars = 32;

// -- POST /api/orders/trial --------------------------------------------------------

/// A decoded trial body.
struct trial_input {
  std::string rate_key; ///< opaque; decoded by agent_json::decode_rate_key elsewhere
  std::vector<domain::room_occupancy> rooms;
  /// The rooms array re-serialised compactly with only `adults`, `children_ages` and
  /// `guests` (`first_name`, `last_name`, trimmed), e.g.
  /// `[{"adults":2,"children_ages":[],"guests":[{"first_name":"San","last_name":"Zhang"}]}]`.
  std::string guests_json;
  int64_t expected_minor = 0; ///< expected_price.amount in minor units of `currency`
  std::string currency;       ///< expected_price.currency
};

/// Decodes and validates `{"rate_key", "rooms": [{"adults", "children_ages"?, "guests"}],
/// "expected_price": {"amount": "<decimal string>", "currency"}}`. Rules: rate_key a
/// non-empty string of at most agent_json::max_rate_key_chars; 1–8 rooms, adults 1–8,
/// children_ages (optional, default empty) at most domain::max_children_per_room ages 0–17 (the
/// search's limits); guests 1..adults+children entries, names 1–64 characters after trimming
/// spaces, valid UTF-8 without control characters; the amount a non-negative decimal string
/// (JSON numbers are refused) with at most the currency's decimals; the currency known.
/// Unknown keys are refused at every level; a JSON null counts as absent.
std::variant<trial_input, decode_error> decode_trial(const nlohmann::json& body);

// -- POST /api/orders --------------------------------------------------------------

/// A decoded create body.
struct create_input {
  std::string trial_id;
  std::string client_reference;
  bool hold_only = false;
  /// `{"email":…,"phone":…}` with the fields given, compact; empty when no contact
  /// (absent, null or an object without fields).
  std::string contact_json;
};

/// Decodes and validates `{"trial_id", "client_reference", "hold_only"?, "contact"?:
/// {"email"?, "phone"?}}`. Rules: trial_id 1–64 of [A-Za-z0-9_-]; client_reference 1–64
/// characters of valid UTF-8 without control characters, not blank, kept exactly as sent;
/// hold_only a boolean; contact an object, email at most 254 characters with exactly one `@`
/// and text on both sides (no spaces or control characters), phone at most 32 characters of
/// digits, spaces and `+-()` with at least one digit. Unknown keys are refused; null = absent.
std::variant<create_input, decode_error> decode_create(const nlohmann::json& body);

// -- answers -------------------------------------------------------------------------

/// GET /api/orders/{order_id}: order_id, client_reference, status, status_reason (null when
/// empty), supplier, supplier_booking_ref (null when empty), hotel_id, room_code, room_name,
/// board, check_in, check_out, rooms (guests_json parsed; the occupancy when it does not
/// parse), contact (object or null), price, net, refundable, cancellation_policies
/// [{from, penalty}], hold_only, hold_expires_at (null without a hold), penalty and refund
/// (only when cancelling or cancelled), created_at, updated_at, history [{status,
/// from_status, event, reason, at, trace_id}], trace_ids.
nlohmann::json encode_order(const order_record& o);

/// `{"orders": [encode_order(o)...]}`.
nlohmann::json encode_order_list(const std::vector<order_record>& orders);

/// The answer of POST /api/orders/trial: `{"status", "price", "trial_id", "expires_at",
/// "order_id"}`; `price` is the record's price as it stands (for sold_out, the expected price).
nlohmann::json encode_trial(const trial_record& t);

// -- Redis copy of a trial ------------------------------------------------------------

/// Every field of `t` as compact JSON text (invalid UTF-8 in a string is replaced, never
/// thrown).
std::string trial_to_cache(const trial_record& t);

/// The inverse of trial_to_cache; empty for anything malformed (not JSON, a field missing or
/// of the wrong type, a number out of range). Never throws.
std::optional<trial_record> trial_from_cache(std::string_view text);

// -- list filters ----------------------------------------------------------------------

/// The `from`/`to` of GET /api/orders as microseconds since the epoch: `YYYY-MM-DD` is the
/// start of that day (UTC), or with `end_of_day` the start of the next day (an exclusive upper
/// bound, so `to=2026-12-01` covers the whole 1st); an RFC 3339 instant is taken as is.
/// Anything else: empty.
std::optional<int64_t> parse_filter_instant(std::string_view text, bool end_of_day);

} // namespace bedbank::order_json
