// JSON codecs of the agent API: search in and out, rate keys, hotels, spans,
// trace trees, error bodies and W3C traceparent.
#include "protocols/agent_json.hpp"

#include "domain/ids.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "domain/money.hpp"

namespace bedbank::agent_json {

using nlohmann::json;

namespace {

/// Keys of the POST /api/search body.
const std::set<std::string, std::less<>> search_keys{
    "city", "hotel_ids", "check_in", "check_out", "rooms", "currency", "max_results"};

/// Keys of one room.
const std::set<std::string, std::less<>> room_keys{"adults", "children_ages"};

/// Parts per million of one unit (the fx table's scale).
constexpr int64_t ppm_one = 1000000;

/// Microseconds per millisecond.
constexpr int64_t us_per_ms = 1000;

domain::field_error type_error(std::string path, const char* what) {
  std::string msg = path + " must be " + what;
  return domain::field_error{std::move(path), std::move(msg)};
}

/// Reads an int from a JSON integer; a float or a too-large number is an error.
std::optional<domain::field_error> read_int(const json& v, const std::string& path, int& out) {
  if (!v.is_number_integer())
    return type_error(path, "an integer");
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT_MAX))
      return domain::field_error{path, path + " is out of range"};
    out = static_cast<int>(u);
    return std::nullopt;
  }
  auto i = v.get<int64_t>();
  if (i < INT_MIN || i > INT_MAX)
    return domain::field_error{path, path + " is out of range"};
  out = static_cast<int>(i);
  return std::nullopt;
}

std::optional<domain::field_error> read_date(const json& body, const char* key, domain::day& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return domain::field_error{key, std::string{key} + " is required (YYYY-MM-DD)"};
  if (!it->is_string())
    return type_error(key, "a date string YYYY-MM-DD");
  auto d = domain::parse_date(it->get_ref<const std::string&>());
  if (!d)
    return domain::field_error{key, std::string{key} + " must be a real date YYYY-MM-DD"};
  out = *d;
  return std::nullopt;
}

std::optional<domain::field_error> read_room(const json& v, const std::string& path,
                                             domain::room_occupancy& out) {
  if (!v.is_object())
    return type_error(path, "an object {\"adults\": n, \"children_ages\": [...]}");
  for (const auto& [k, _] : v.items())
    if (!room_keys.contains(k))
      return domain::field_error{path + "." + k, "unknown field '" + k + "'"};
  auto a = v.find("adults");
  if (a == v.end() || a->is_null())
    return domain::field_error{path + ".adults", path + ".adults is required"};
  if (auto e = read_int(*a, path + ".adults", out.adults))
    return e;
  auto c = v.find("children_ages");
  if (c != v.end() && !c->is_null()) {
    if (!c->is_array())
      return type_error(path + ".children_ages", "an array of ages");
    // Bounded before the loop: validate() reports the count with the same path.
    if (c->size() > static_cast<size_t>(domain::max_children_per_room))
      return domain::field_error{path + ".children_ages",
                                 "at most " + std::to_string(domain::max_children_per_room) +
                                     " children per room"};
    for (size_t j = 0; j < c->size(); ++j) {
      int age = 0;
      if (auto e = read_int((*c)[j], path + ".children_ages[" + std::to_string(j) + "]", age))
        return e;
      out.children_ages.push_back(age);
    }
  }
  return std::nullopt;
}

std::optional<domain::field_error>
decode_fields(const json& body, const std::string& default_currency, domain::search_query& q) {
  if (!body.is_object())
    return domain::field_error{"", "the body must be a JSON object"};
  for (const auto& [k, _] : body.items())
    if (!search_keys.contains(k))
      return domain::field_error{k, "unknown field '" + k + "'"};
  if (auto it = body.find("city"); it != body.end() && !it->is_null()) {
    if (!it->is_string())
      return type_error("city", "a city code string");
    q.city = it->get<std::string>();
  }
  if (auto it = body.find("hotel_ids"); it != body.end() && !it->is_null()) {
    if (!it->is_array())
      return type_error("hotel_ids", "an array of hotel id strings");
    if (it->size() > static_cast<size_t>(domain::max_hotel_ids))
      return domain::field_error{"hotel_ids",
                                 "at most " + std::to_string(domain::max_hotel_ids) + " hotel ids"};
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& v = (*it)[i];
      if (!v.is_string())
        return type_error("hotel_ids[" + std::to_string(i) + "]", "a string");
      q.hotel_ids.push_back(v.get<std::string>());
    }
  }
  if (auto e = read_date(body, "check_in", q.check_in))
    return e;
  if (auto e = read_date(body, "check_out", q.check_out))
    return e;
  auto rooms = body.find("rooms");
  if (rooms == body.end() || rooms->is_null())
    return domain::field_error{"rooms", "rooms is required"};
  if (!rooms->is_array())
    return type_error("rooms", "an array of rooms");
  if (rooms->size() > static_cast<size_t>(domain::max_rooms))
    return domain::field_error{"rooms",
                               "between 1 and " + std::to_string(domain::max_rooms) + " rooms"};
  for (size_t i = 0; i < rooms->size(); ++i) {
    domain::room_occupancy r;
    if (auto e = read_room((*rooms)[i], "rooms[" + std::to_string(i) + "]", r))
      return e;
    q.rooms.push_back(std::move(r));
  }
  q.currency = default_currency;
  if (auto it = body.find("currency"); it != body.end() && !it->is_null()) {
    if (!it->is_string())
      return type_error("currency", "an ISO 4217 code string");
    q.currency = it->get<std::string>();
  }
  q.max_results = domain::default_search_results;
  if (auto it = body.find("max_results"); it != body.end() && !it->is_null())
    if (auto e = read_int(*it, "max_results", q.max_results))
      return e;
  return std::nullopt;
}

/// Exchange rate of `c` per one default-currency unit, in ppm.
std::optional<int64_t> fx_ppm(const std::string& c, const config::pricing_config& pricing) {
  if (c == pricing.default_currency)
    return ppm_one;
  auto it = pricing.fx_rates_ppm.find(c);
  if (it == pricing.fx_rates_ppm.end() || it->second <= 0)
    return std::nullopt;
  return it->second;
}

json null_if_empty(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

/// Parses stored JSON text; text that is not JSON is returned as a string.
json parse_data(const std::string& text) {
  if (text.empty())
    return nullptr;
  auto v = json::parse(text, nullptr, false);
  if (v.is_discarded())
    return text;
  return v;
}

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

} // namespace

search_decode_result decode_search(const json& body, const std::string& default_currency,
                                   domain::day today) {
  domain::search_query q;
  if (auto e = decode_fields(body, default_currency, q))
    return *e;
  if (auto e = domain::validate(q, today))
    return *e;
  return q;
}

search_decode_result decode_search(const json& body, const std::string& default_currency) {
  return decode_search(body, default_currency, domain::today_utc());
}

json encode_money(int64_t minor, const std::string& currency) {
  return json{{"amount", domain::format_amount(minor, currency)}, {"currency", currency}};
}

std::optional<int64_t> convert_amount(int64_t minor, const std::string& from, const std::string& to,
                                      const config::pricing_config& pricing) {
  if (from == to)
    return minor;
  auto from_exp = domain::currency_exponent(from);
  auto to_exp = domain::currency_exponent(to);
  auto from_rate = fx_ppm(from, pricing);
  auto to_rate = fx_ppm(to, pricing);
  if (!from_exp || !to_exp || !from_rate || !to_rate)
    return std::nullopt;
  // Target units per source unit = to_rate / from_rate; keep it in ppm with
  // one rounding by working in 128 bits.
  __int128 num = static_cast<__int128>(*to_rate) * ppm_one;
  auto rate = static_cast<int64_t>((num + *from_rate / 2) / *from_rate);
  return domain::convert_minor(minor, *from_exp, *to_exp, rate);
}

namespace {

// The search answer is the hot path (up to ~1 MB per answer): it is written
// straight into a string, without building a JSON tree.

/// Appends `v` as a JSON string literal.
void put_string(std::string& out, std::string_view v) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : v) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        out += "\\u00";
        out += hex[(c >> 4) & 0xF];
        out += hex[c & 0xF];
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

/// Appends `"key":` .
void put_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

/// Appends `"key":"value",` (a string field followed by a comma).
void put_field(std::string& out, std::string_view key, std::string_view value) {
  put_key(out, key);
  put_string(out, value);
  out += ',';
}

/// Appends `{"amount":"…","currency":"…"}`.
void put_money(std::string& out, int64_t minor, const std::string& currency) {
  out += R"({"amount":")";
  out += domain::format_amount(minor, currency);
  out += R"(","currency":)";
  put_string(out, currency);
  out += '}';
}

/// The `"results":[…],"suppliers":[…]` text of a search answer.
std::string render_search_parts(const search_result& result, const domain::search_query& query,
                                int32_t markup_bps, const config::pricing_config& pricing) {
  const std::string& currency = query.currency;
  struct priced_hotel {
    int64_t cheapest = 0;
    size_t order = 0;
    std::string body;
  };
  struct priced_rate {
    int64_t price = 0;
    int64_t net = 0;
    const supplier_rate* rate = nullptr;
  };
  std::vector<priced_hotel> hotels;
  hotels.reserve(result.hotels.size());
  std::vector<priced_rate> rates;
  // Policy instants repeat across the rates of one stay: format each once.
  std::unordered_map<int64_t, std::string> instants;
  auto instant = [&](int64_t us) -> const std::string& {
    auto [it, fresh] = instants.try_emplace(us);
    if (fresh)
      it->second = domain::format_instant_us(us);
    return it->second;
  };
  for (size_t hi = 0; hi < result.hotels.size(); ++hi) {
    const auto& h = result.hotels[hi];
    rates.clear();
    for (const auto& r : h.rates) {
      auto net = convert_amount(r.net_minor, r.currency, currency, pricing);
      if (!net)
        continue; // no exchange rate: left out rather than shown in a wrong currency
      rates.push_back({domain::apply_markup(*net, markup_bps), *net, &r});
    }
    if (rates.empty())
      continue;
    std::stable_sort(rates.begin(), rates.end(),
                     [](const auto& a, const auto& b) { return a.price < b.price; });
    std::string body;
    body.reserve(160 + rates.size() * 560);
    body += "{";
    put_field(body, "hotel_id", h.hotel_id);
    put_field(body, "hotel_name", h.hotel_name);
    put_key(body, "cheapest");
    put_money(body, rates.front().price, currency);
    body += ',';
    put_key(body, "rates");
    body += '[';
    for (size_t i = 0; i < rates.size(); ++i) {
      const auto& r = *rates[i].rate;
      if (i > 0)
        body += ',';
      body += '{';
      put_key(body, "rate_key");
      body += '"';
      body +=
          encode_rate_key({r.supplier, r.hotel_code, h.hotel_id, r.room_code, r.board,
                           query.check_in, query.check_out, query.rooms, r.net_minor, r.currency});
      body += "\",";
      put_field(body, "supplier", r.supplier);
      put_field(body, "room_name", r.room_name);
      put_field(body, "board", r.board);
      put_key(body, "price");
      put_money(body, rates[i].price, currency);
      body += ',';
      put_key(body, "net");
      put_money(body, rates[i].net, currency);
      body += ',';
      put_key(body, "rate_type");
      body += r.bookable ? R"("bookable")" : R"("recheck")";
      body += ',';
      put_key(body, "refundable");
      body += r.refundable ? "true" : "false";
      body += ',';
      put_key(body, "cancellation_policies");
      body += '[';
      for (size_t j = 0; j < r.policies.size(); ++j) {
        const auto& p = r.policies[j];
        auto pen = convert_amount(p.penalty_minor, r.currency, currency, pricing).value_or(0);
        if (j > 0)
          body += ',';
        body += R"({"from":")";
        body += instant(p.from_us);
        body += R"(","penalty":)";
        put_money(body, domain::apply_markup(pen, markup_bps), currency);
        body += '}';
      }
      body += "]}";
    }
    body += "]}";
    hotels.push_back({rates.front().price, hi, std::move(body)});
  }
  std::stable_sort(hotels.begin(), hotels.end(), [](const auto& a, const auto& b) {
    return a.cheapest != b.cheapest ? a.cheapest < b.cheapest : a.order < b.order;
  });
  size_t limit = query.max_results > 0 ? static_cast<size_t>(query.max_results) : 0;
  if (hotels.size() > limit)
    hotels.resize(limit);
  size_t total = 64;
  for (const auto& h : hotels)
    total += h.body.size() + 1;
  std::string out;
  out.reserve(total + result.suppliers.size() * 128);
  put_key(out, "results");
  out += '[';
  for (size_t i = 0; i < hotels.size(); ++i) {
    if (i > 0)
      out += ',';
    out += hotels[i].body;
  }
  out += "],";
  put_key(out, "suppliers");
  out += '[';
  for (size_t i = 0; i < result.suppliers.size(); ++i) {
    const auto& s = result.suppliers[i];
    if (i > 0)
      out += ',';
    out += '{';
    put_field(out, "code", s.code);
    put_field(out, "status", s.status);
    put_key(out, "latency_ms");
    out += std::to_string((s.latency_us + us_per_ms / 2) / us_per_ms);
    out += ',';
    put_key(out, "rates");
    out += std::to_string(s.rates);
    out += ',';
    put_key(out, "message");
    put_string(out, s.message);
    out += '}';
  }
  out += ']';
  return out;
}

} // namespace

json encode_search(const search_result& result, const domain::search_query& query,
                   int32_t markup_bps, const std::string& trace_id,
                   const config::pricing_config& pricing) {
  return json::parse(assemble_search(result.search_id, trace_id, result.cache_hit,
                                     encode_search_fragment(result, query, markup_bps, pricing)));
}

std::string encode_search_fragment(const search_result& result, const domain::search_query& query,
                                   int32_t markup_bps, const config::pricing_config& pricing) {
  return render_search_parts(result, query, markup_bps, pricing);
}

std::string search_head(const std::string& search_id, const std::string& trace_id, bool cache_hit) {
  std::string out;
  out.reserve(search_id.size() + trace_id.size() + 64);
  out += '{';
  put_field(out, "search_id", search_id);
  put_field(out, "trace_id", trace_id);
  put_key(out, "cache");
  out += cache_hit ? R"("hit",)" : R"("miss",)";
  return out;
}

std::string assemble_search(const std::string& search_id, const std::string& trace_id,
                            bool cache_hit, std::string_view fragment) {
  auto out = search_head(search_id, trace_id, cache_hit);
  out.reserve(out.size() + fragment.size() + 1);
  out += fragment;
  out += '}';
  return out;
}

json encode_search(const search_result& result, int32_t markup_bps, const std::string& currency,
                   int max_results, const std::string& trace_id,
                   const config::pricing_config& pricing) {
  domain::search_query q;
  q.currency = currency;
  q.max_results = max_results;
  return encode_search(result, q, markup_bps, trace_id, pricing);
}

// -- rate keys ---------------------------------------------------------------------

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
    out += b64_alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    uint32_t v = at(i) << 16;
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    auto pos = b64_alphabet.find(c);
    if (pos == std::string_view::npos)
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string encode_rate_key(const rate_key& k) {
  // Compact JSON written by hand (it is made for every rate of every answer),
  // read back by decode_rate_key with a real parser.
  std::string j;
  j.reserve(160);
  j += '{';
  put_field(j, "s", k.supplier);
  put_field(j, "hc", k.hotel_code);
  put_field(j, "h", k.hotel_id);
  put_field(j, "rc", k.room_code);
  put_field(j, "b", k.board);
  put_key(j, "ci");
  j += std::to_string(k.check_in);
  j += ',';
  put_key(j, "co");
  j += std::to_string(k.check_out);
  j += ',';
  put_key(j, "r");
  j += '[';
  for (size_t i = 0; i < k.rooms.size(); ++i) {
    if (i > 0)
      j += ',';
    j += '[';
    j += std::to_string(k.rooms[i].adults);
    j += ",[";
    for (size_t a = 0; a < k.rooms[i].children_ages.size(); ++a) {
      if (a > 0)
        j += ',';
      j += std::to_string(k.rooms[i].children_ages[a]);
    }
    j += "]]";
  }
  j += "],";
  put_key(j, "n");
  j += std::to_string(k.net_minor);
  j += ',';
  put_key(j, "c");
  put_string(j, k.currency);
  j += '}';
  return base64url_encode(j);
}

std::optional<rate_key> decode_rate_key(std::string_view text) {
  if (text.empty() || text.size() > max_rate_key_chars)
    return std::nullopt;
  auto raw = base64url_decode(text);
  if (!raw)
    return std::nullopt;
  auto j = json::parse(*raw, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  rate_key k;
  auto str = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string())
      return false;
    out = it->get<std::string>();
    return true;
  };
  auto num = [&](const char* key, auto& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer())
      return false;
    out = it->get<std::decay_t<decltype(out)>>();
    return true;
  };
  if (!str("s", k.supplier) || !str("hc", k.hotel_code) || !str("h", k.hotel_id) ||
      !str("rc", k.room_code) || !str("b", k.board) || !str("c", k.currency) ||
      !num("ci", k.check_in) || !num("co", k.check_out) || !num("n", k.net_minor))
    return std::nullopt;
  auto r = j.find("r");
  if (r == j.end() || !r->is_array())
    return std::nullopt;
  for (const auto& room : *r) {
    if (!room.is_array() || room.size() != 2 || !room[0].is_number_integer() || !room[1].is_array())
      return std::nullopt;
    domain::room_occupancy o;
    o.adults = room[0].get<int>();
    for (const auto& age : room[1]) {
      if (!age.is_number_integer())
        return std::nullopt;
      o.children_ages.push_back(age.get<int>());
    }
    k.rooms.push_back(std::move(o));
  }
  return k;
}

// -- catalog and traces --------------------------------------------------------------

json encode_hotel(const domain::hotel& h, const std::vector<std::string>& suppliers) {
  return json{{"hotel_id", h.hotel_id}, {"name", h.name},        {"city", h.city},
              {"address", h.address},   {"stars", h.stars},      {"lat", h.lat},
              {"lon", h.lon},           {"suppliers", suppliers}};
}

json encode_span(const span_record& s) {
  return json{{"span_id", s.span_id},
              {"parent_span_id", null_if_empty(s.parent_span_id)},
              {"event_type", s.event_type},
              {"service", s.service},
              {"related_type", null_if_empty(s.related_type)},
              {"related_id", null_if_empty(s.related_id)},
              {"request_data", parse_data(s.request_data)},
              {"response_data", parse_data(s.response_data)},
              {"started_at", domain::format_instant_us(s.started_us)},
              {"duration_ms", static_cast<double>(s.duration_us) / static_cast<double>(us_per_ms)},
              {"status", s.status},
              {"error_detail", null_if_empty(s.error_detail)},
              {"node", s.node}};
}

json encode_trace_tree(const std::string& trace_id, std::vector<span_record> spans) {
  std::stable_sort(spans.begin(), spans.end(),
                   [](const auto& a, const auto& b) { return a.started_us < b.started_us; });
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < spans.size(); ++i)
    index.emplace(spans[i].span_id, i);
  std::vector<std::vector<size_t>> children(spans.size());
  std::vector<size_t> roots;
  for (size_t i = 0; i < spans.size(); ++i) {
    auto p = spans[i].parent_span_id.empty() ? index.end() : index.find(spans[i].parent_span_id);
    if (p == index.end() || p->second == i)
      roots.push_back(i);
    else
      children[p->second].push_back(i);
  }
  std::vector<bool> seen(spans.size(), false);
  // Builds the subtree of `i`; past max_trace_depth the descendants are flattened.
  std::function<json(size_t, int)> build = [&](size_t i, int depth) {
    seen[i] = true;
    json node = encode_span(spans[i]);
    json kids = json::array();
    for (size_t c : children[i])
      if (!seen[c]) {
        if (depth + 1 < max_trace_depth) {
          kids.push_back(build(c, depth + 1));
        } else {
          seen[c] = true;
          json leaf = encode_span(spans[c]);
          leaf["children"] = json::array();
          kids.push_back(std::move(leaf));
        }
      }
    node["children"] = std::move(kids);
    return node;
  };
  json out = json::array();
  for (size_t r : roots)
    out.push_back(build(r, 0));
  // Spans caught in a parent cycle are reachable from no root: show them as roots.
  for (size_t i = 0; i < spans.size(); ++i)
    if (!seen[i])
      out.push_back(build(i, 0));
  return json{{"trace_id", trace_id}, {"spans", std::move(out)}, {"span_count", spans.size()}};
}

// -- errors ------------------------------------------------------------------------

json error_body(ec code, const std::string& message, const std::string& field,
                const std::string& trace_id) {
  json e{{"code", to_string(code)}, {"message", message}};
  if (!field.empty())
    e["field"] = field;
  e["trace_id"] = trace_id;
  return json{{"error", std::move(e)}};
}

// -- W3C trace context ----------------------------------------------------------------

std::optional<traceparent> parse_traceparent(std::string_view h) {
  // version(2) - trace id(32) - parent id(16) - flags(2)
  constexpr size_t trace_len = 32;
  constexpr size_t parent_len = 16;
  constexpr size_t total = 2 + 1 + trace_len + 1 + parent_len + 1 + 2;
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t'))
    h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t'))
    h.remove_suffix(1);
  if (h.size() != total || h.substr(0, 3) != "00-" || h[35] != '-' || h[52] != '-')
    return std::nullopt;
  auto trace = h.substr(3, trace_len);
  auto parent = h.substr(36, parent_len);
  auto flags = h.substr(53, 2);
  if (!domain::is_hex_id(trace, trace_len) || !domain::is_hex_id(parent, parent_len) ||
      !is_lower_hex(flags[0]) || !is_lower_hex(flags[1]))
    return std::nullopt;
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  return traceparent{std::string{trace}, std::string{parent},
                     static_cast<uint8_t>(nib(flags[0]) * 16 + nib(flags[1]))};
}

std::string format_traceparent(const std::string& trace_id, const std::string& span_id,
                               uint8_t flags) {
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out = "00-";
  out += trace_id;
  out += '-';
  out += span_id;
  out += '-';
  out += hex[flags >> 4];
  out += hex[flags & 15];
  return out;
}

} // namespace bedbank::agent_json
