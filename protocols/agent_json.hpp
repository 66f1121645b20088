// JSON codecs of the agent API (api.md): POST /api/search in and out, hotels,
// trace spans and trees, error bodies, the opaque rate key, and the W3C
// `traceparent` header. Pure functions over nlohmann::json; no I/O, no CAF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "domain/catalog.hpp"
#include "domain/dates.hpp"
#include "domain/search_query.hpp"
#include "protocols/errors.hpp"
#include "protocols/messages.hpp"

namespace bedbank::agent_json {

// -- search ------------------------------------------------------------------

/// Either a decoded and validated query, or the first field at fault.
using search_decode_result = std::variant<domain::search_query, domain::field_error>;

/// Decodes the body of POST /api/search and validates it against `today`.
/// Type errors name the JSON path (`rooms[0].adults`), unknown keys are
/// refused with `field` = the key's path, then domain::validate runs.
/// A missing `currency` becomes `default_currency`, a missing `max_results` 50.
search_decode_result decode_search(const nlohmann::json& body, const std::string& default_currency,
                                   domain::day today);

/// As above with today's UTC date.
search_decode_result decode_search(const nlohmann::json& body, const std::string& default_currency);

/// Money as the API writes it: `{"amount": "1234.50", "currency": "CNY"}`.
nlohmann::json encode_money(int64_t minor, const std::string& currency);

/// Converts `minor` units of `from` into `to` with the configured exchange
/// rates (`fx_rates_ppm`: units per one `default_currency`); empty when a rate
/// is missing or a currency is unknown.
std::optional<int64_t> convert_amount(int64_t minor, const std::string& from, const std::string& to,
                                      const config::pricing_config& pricing);

/// The answer of POST /api/search (api.md): prices carry `markup_bps`, every
/// amount is in `query.currency` (rates that cannot be converted are left
/// out), hotels sorted by cheapest price and cut to `query.max_results`.
/// `query` also feeds the stay into each rate key.
nlohmann::json encode_search(const search_result& result, const domain::search_query& query,
                             int32_t markup_bps, const std::string& trace_id,
                             const config::pricing_config& pricing);

/// As above for callers without the query: `currency` and `max_results`
/// given directly; rate keys then carry no stay (dates 0, no rooms).
nlohmann::json encode_search(const search_result& result, int32_t markup_bps,
                             const std::string& currency, int max_results,
                             const std::string& trace_id, const config::pricing_config& pricing);

/// The part of a search answer that does not change between requests for the
/// same cached result, markup, currency and max_results: the text
/// `"results":[...],"suppliers":[...]` without braces. Rendered once per cached
/// result by the gateway and reused.
std::string encode_search_fragment(const search_result& result, const domain::search_query& query,
                                   int32_t markup_bps, const config::pricing_config& pricing);

/// The start of a search answer, up to where a fragment goes: `{"search_id":…,"trace_id":…,
/// "cache":…,`. The answer is this, the fragment, then `}`.
std::string search_head(const std::string& search_id, const std::string& trace_id, bool cache_hit);

/// A complete search answer from a fragment (search_head + fragment + `}`).
std::string assemble_search(const std::string& search_id, const std::string& trace_id,
                            bool cache_hit, std::string_view fragment);

// -- rate keys -----------------------------------------------------------------

/// What a rate key carries: enough to re-check and book the rate later.
struct rate_key {
  std::string supplier;
  std::string hotel_code; ///< the supplier's hotel code
  std::string hotel_id;   ///< platform hotel id
  std::string room_code;
  std::string board;
  domain::day check_in = 0;
  domain::day check_out = 0;
  std::vector<domain::room_occupancy> rooms;
  int64_t net_minor = 0; ///< in the supplier's currency
  std::string currency;  ///< the supplier's currency

  friend bool operator==(const rate_key&, const rate_key&) = default;
};

/// Largest rate key accepted by decode_rate_key (characters).
inline constexpr size_t max_rate_key_chars = 4096;

/// base64url (no padding) of a compact JSON of `k`; opaque to agents.
std::string encode_rate_key(const rate_key& k);

/// The inverse of encode_rate_key; empty on anything malformed.
std::optional<rate_key> decode_rate_key(std::string_view text);

/// base64url without padding.
std::string base64url_encode(std::string_view bytes);

/// Inverse of base64url_encode (padding tolerated); empty when malformed.
std::optional<std::string> base64url_decode(std::string_view text);

// -- catalog and traces ----------------------------------------------------------

/// One platform hotel of GET /api/hotels with the supplier codes that sell it.
nlohmann::json encode_hotel(const domain::hotel& h, const std::vector<std::string>& suppliers);

/// One span (api.md): request/response data as parsed JSON, `started_at`
/// RFC 3339 with milliseconds, `duration_ms` with microsecond precision.
nlohmann::json encode_span(const span_record& s);

/// Deepest nesting of a trace tree; deeper spans are attached at this level.
inline constexpr int max_trace_depth = 64;

/// `{"trace_id", "spans": [roots with "children"], "span_count"}`; spans whose
/// parent is missing become roots; siblings in start order.
nlohmann::json encode_trace_tree(const std::string& trace_id, std::vector<span_record> spans);

// -- errors ------------------------------------------------------------------

/// `{"error": {"code", "message", "field"?, "trace_id"}}`; `field` only when non-empty.
nlohmann::json error_body(ec code, const std::string& message, const std::string& field,
                          const std::string& trace_id);

// -- W3C trace context -------------------------------------------------------------

/// The parts of a valid `traceparent` header.
struct traceparent {
  std::string trace_id;  ///< 32 lowercase hex, not all zero
  std::string parent_id; ///< 16 lowercase hex, not all zero
  uint8_t flags = 0;
};

/// Parses `00-<trace id>-<parent id>-<flags>`; empty for any other form
/// (other versions, upper case, all-zero ids, wrong lengths).
std::optional<traceparent> parse_traceparent(std::string_view header);

/// `00-<trace_id>-<span_id>-<flags as 2 hex>`.
std::string format_traceparent(const std::string& trace_id, const std::string& span_id,
                               uint8_t flags = 1);

} // namespace bedbank::agent_json
