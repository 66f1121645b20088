// JSON codecs of the agent API's orders: trial and create bodies in, orders
// and trials out, the Redis copy of a trial, list filter instants.
#include "protocols/order_json.hpp"

#include <climits>
#include <set>

#include "domain/dates.hpp"
#include "domain/money.hpp"
#include "protocols/agent_json.hpp"

namespace bedbank::order_json {

using nlohmann::json;

namespace {

using key_set = std::set<std::string, std::less<>>;

const key_set trial_keys{"rate_key", "rooms", "expected_price"};
const key_set room_keys{"adults", "children_ages", "guests"};
const key_set guest_keys{"first_name", "last_name"};
const key_set price_keys{"amount", "currency"};
const key_set create_keys{"trial_id", "client_reference", "hold_only", "contact"};
const key_set contact_keys{"email", "phone"};

/// Microseconds per day.
constexpr int64_t us_per_day = int64_t{86400} * 1000000;

/// Serialises without throwing on invalid UTF-8 (it is replaced).
std::string compact(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

decode_error err(std::string field, std::string message) {
  return decode_error{std::move(field), std::move(message)};
}

std::string join(const std::string& path, std::string_view key) {
  std::string out = path;
  if (!out.empty())
    out += '.';
  out += key;
  return out;
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string list_keys(const key_set& keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty())
      out += ", ";
    out += k;
  }
  return out;
}

/// The first key of `obj` that is not in `keys`, as an error at its path.
std::optional<decode_error> unknown_key(const json& obj, const std::string& path,
                                        const key_set& keys) {
  for (const auto& [k, _] : obj.items())
    if (!keys.contains(k))
      return err(join(path, k), "unknown field " + compact(json(k)) +
                                    " (expected one of: " + list_keys(keys) + ")");
  return std::nullopt;
}

/// The member `key` of an object, or nullptr when it is absent or null.
const json* member(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return nullptr;
  return &*it;
}

/// What a string holds, read as UTF-8.
struct text_facts {
  bool valid = true;    ///< well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)
  bool control = false; ///< a C0 or C1 control character or DEL
  size_t chars = 0;     ///< code points
};

text_facts examine(std::string_view s) {
  text_facts f;
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t len = 0;
    uint32_t min = 0;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      len = 2;
      min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      len = 3;
      min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      len = 4;
      min = 0x10000;
    } else {
      f.valid = false;
      return f;
    }
    if (i + len > s.size()) {
      f.valid = false;
      return f;
    }
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) {
        f.valid = false;
        return f;
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      f.valid = false;
      return f;
    }
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
      f.control = true;
    ++f.chars;
    i += len;
  }
  return f;
}

/// Drops leading and trailing spaces (ASCII, no-break U+00A0, ideographic U+3000).
std::string_view trim_spaces(std::string_view s) {
  auto strip_front = [&]() {
    if (!s.empty() && s.front() == ' ') {
      s.remove_prefix(1);
      return true;
    }
    if (s.starts_with("\xC2\xA0")) {
      s.remove_prefix(2);
      return true;
    }
    if (s.starts_with("\xE3\x80\x80")) {
      s.remove_prefix(3);
      return true;
    }
    return false;
  };
  auto strip_back = [&]() {
    if (!s.empty() && s.back() == ' ') {
      s.remove_suffix(1);
      return true;
    }
    if (s.ends_with("\xC2\xA0")) {
      s.remove_suffix(2);
      return true;
    }
    if (s.ends_with("\xE3\x80\x80")) {
      s.remove_suffix(3);
      return true;
    }
    return false;
  };
  while (strip_front()) {
  }
  while (strip_back()) {
  }
  return s;
}

/// Checks a string's text: valid UTF-8, no control characters, 1..max characters.
std::optional<decode_error> check_text(std::string_view s, const std::string& path,
                                       size_t max_chars) {
  auto f = examine(s);
  if (!f.valid)
    return err(path, path + " must be valid UTF-8 text");
  if (f.control)
    return err(path, path + " must not contain control characters");
  if (f.chars == 0)
    return err(path, path + " must not be empty");
  if (f.chars > max_chars)
    return err(path, path + " must be at most " + std::to_string(max_chars) + " characters");
  return std::nullopt;
}

/// Reads a JSON integer into [lo, hi]; `range` is the sentence for a value out of it.
std::optional<decode_error> read_int(const json& v, const std::string& path, int lo, int hi,
                                     const std::string& range, int& out) {
  if (!v.is_number_integer())
    return err(path, path + " must be an integer");
  int64_t i = 0;
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    i = u > static_cast<uint64_t>(INT_MAX) ? int64_t{INT_MAX} + 1 : static_cast<int64_t>(u);
  } else {
    i = v.get<int64_t>();
  }
  if (i < lo || i > hi)
    return err(path, range);
  out = static_cast<int>(i);
  return std::nullopt;
}

std::optional<decode_error> read_guest_name(const json& guest, const std::string& guest_path,
                                            const char* key, std::string& out) {
  auto path = join(guest_path, key);
  const json* v = member(guest, key);
  if (!v)
    return err(path, path + " is required");
  if (!v->is_string())
    return err(path, path + " must be a string");
  auto name = trim_spaces(v->get_ref<const std::string&>());
  if (auto e = check_text(name, path, max_name_chars))
    return e;
  out = std::string{name};
  return std::nullopt;
}

/// One room of a trial body; `out_json` gets its canonical copy with guest names.
std::optional<decode_error> read_room(const json& v, const std::string& path,
                                      domain::room_occupancy& out, json& out_json) {
  if (!v.is_object())
    return err(path, path + R"( must be an object {"adults": n, "children_ages": [...], )"
                            R"("guests": [...]})");
  if (auto e = unknown_key(v, path, room_keys))
    return e;
  auto adults_path = join(path, "adults");
  const json* a = member(v, "adults");
  if (!a)
    return err(adults_path, adults_path + " is required");
  if (auto e = read_int(*a, adults_path, 1, domain::max_adults_per_room,
                        "between 1 and " + std::to_string(domain::max_adults_per_room) +
                            " adults per room",
                        out.adults))
    return e;
  auto ages_path = join(path, "children_ages");
  if (const json* c = member(v, "children_ages")) {
    if (!c->is_array())
      return err(ages_path, ages_path + " must be an array of ages");
    if (c->size() > static_cast<size_t>(domain::max_children_per_room))
      return err(ages_path,
                 "at most " + std::to_string(domain::max_children_per_room) + " children per room");
    for (size_t j = 0; j < c->size(); ++j) {
      int age = 0;
      if (auto e = read_int(
              (*c)[j], index(ages_path, j), 0, domain::max_child_age,
              "a child's age is between 0 and " + std::to_string(domain::max_child_age), age))
        return e;
      out.children_ages.push_back(age);
    }
  }
  auto guests_path = join(path, "guests");
  const json* g = member(v, "guests");
  if (!g)
    return err(guests_path, guests_path + " is required: at least the lead guest's name");
  if (!g->is_array())
    return err(guests_path, guests_path + R"( must be an array of {"first_name", "last_name"})");
  size_t most = static_cast<size_t>(out.adults) + out.children_ages.size();
  if (g->empty() || g->size() > most)
    return err(guests_path, guests_path + " must name between 1 and " + std::to_string(most) +
                                " guests (the room's adults and children)");
  json guests = json::array();
  for (size_t k = 0; k < g->size(); ++k) {
    const auto& guest = (*g)[k];
    auto guest_path = index(guests_path, k);
    if (!guest.is_object())
      return err(guest_path,
                 guest_path + R"( must be an object {"first_name": "...", "last_name": "..."})");
    if (auto e = unknown_key(guest, guest_path, guest_keys))
      return e;
    std::string first;
    std::string last;
    if (auto e = read_guest_name(guest, guest_path, "first_name", first))
      return e;
    if (auto e = read_guest_name(guest, guest_path, "last_name", last))
      return e;
    guests.push_back(json{{"first_name", std::move(first)}, {"last_name", std::move(last)}});
  }
  out_json = json{
      {"adults", out.adults}, {"children_ages", out.children_ages}, {"guests", std::move(guests)}};
  return std::nullopt;
}

std::optional<decode_error> read_expected_price(const json& body, trial_input& out) {
  const std::string path = "expected_price";
  const json* p = member(body, path);
  if (!p)
    return err(path, R"(expected_price is required: {"amount": "1234.50", "currency": "CNY"})");
  if (!p->is_object())
    return err(path,
               R"(expected_price must be an object {"amount": "1234.50", "currency": "CNY"})");
  if (auto e = unknown_key(*p, path, price_keys))
    return e;
  const std::string cur_path = "expected_price.currency";
  const json* c = member(*p, "currency");
  if (!c)
    return err(cur_path, cur_path + " is required");
  if (!c->is_string() || !domain::known_currency(c->get_ref<const std::string&>()))
    return err(cur_path, cur_path + " must be a known ISO 4217 currency code such as \"CNY\"");
  out.currency = c->get<std::string>();
  const std::string amount_path = "expected_price.amount";
  const json* a = member(*p, "amount");
  if (!a)
    return err(amount_path, amount_path + " is required");
  if (a->is_number())
    return err(amount_path, amount_path + " must be a decimal string such as \"1234.50\"; JSON "
                                          "numbers are not accepted for money");
  if (!a->is_string())
    return err(amount_path, amount_path + " must be a decimal string such as \"1234.50\"");
  const auto& text = a->get_ref<const std::string&>();
  if (!text.empty() && text.front() == '-')
    return err(amount_path, amount_path + " must not be negative");
  auto minor = domain::parse_amount(text, out.currency);
  if (!minor) {
    int exp = domain::currency_exponent(out.currency).value_or(2);
    return err(amount_path, amount_path + " must be a decimal string with " +
                                (exp == 0 ? std::string{"no decimals"}
                                          : "at most " + std::to_string(exp) + " decimals") +
                                " for " + out.currency);
  }
  out.expected_minor = *minor;
  return std::nullopt;
}

std::optional<decode_error> decode_trial_fields(const json& body, trial_input& out) {
  if (!body.is_object())
    return err("", "the body must be a JSON object");
  if (auto e = unknown_key(body, "", trial_keys))
    return e;
  const json* k = member(body, "rate_key");
  if (!k)
    return err("rate_key", "rate_key is required (a rate_key from a search answer)");
  if (!k->is_string())
    return err("rate_key", "rate_key must be a string");
  const auto& key = k->get_ref<const std::string&>();
  if (key.empty())
    return err("rate_key", "rate_key must not be empty");
  if (key.size() > agent_json::max_rate_key_chars)
    return err("rate_key", "rate_key must be at most " +
                               std::to_string(agent_json::max_rate_key_chars) + " characters");
  out.rate_key = key;
  const json* rooms = member(body, "rooms");
  if (!rooms)
    return err("rooms", "rooms is required");
  if (!rooms->is_array())
    return err("rooms", "rooms must be an array of rooms");
  if (rooms->empty() || rooms->size() > static_cast<size_t>(domain::max_rooms))
    return err("rooms", "between 1 and " + std::to_string(domain::max_rooms) + " rooms");
  json rooms_json = json::array();
  for (size_t i = 0; i < rooms->size(); ++i) {
    domain::room_occupancy r;
    json r_json;
    if (auto e = read_room((*rooms)[i], index("rooms", i), r, r_json))
      return e;
    out.rooms.push_back(std::move(r));
    rooms_json.push_back(std::move(r_json));
  }
  out.guests_json = compact(rooms_json);
  return read_expected_price(body, out);
}

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_phone_char(char c) {
  return (c >= '0' && c <= '9') || c == ' ' || c == '+' || c == '-' || c == '(' || c == ')';
}

std::optional<decode_error> read_contact(const json& c, std::string& out) {
  const std::string path = "contact";
  if (!c.is_object())
    return err(path, R"(contact must be an object {"email": "...", "phone": "..."})");
  if (auto e = unknown_key(c, path, contact_keys))
    return e;
  json contact = json::object();
  if (const json* e = member(c, "email")) {
    const std::string p = "contact.email";
    if (!e->is_string())
      return err(p, p + " must be a string");
    const auto& s = e->get_ref<const std::string&>();
    auto f = examine(s);
    if (!f.valid)
      return err(p, p + " must be valid UTF-8 text");
    if (f.chars > max_email_chars)
      return err(p, p + " must be at most " + std::to_string(max_email_chars) + " characters");
    auto at = s.find('@');
    bool spaced = f.control || s.find(' ') != std::string::npos;
    if (at == std::string::npos || at == 0 || at + 1 == s.size() ||
        s.find('@', at + 1) != std::string::npos || spaced)
      return err(p, p + " must be an email address like name@example.com (one '@' with text on "
                        "both sides, no spaces)");
    contact["email"] = s;
  }
  if (const json* ph = member(c, "phone")) {
    const std::string p = "contact.phone";
    if (!ph->is_string())
      return err(p, p + " must be a string");
    const auto& s = ph->get_ref<const std::string&>();
    if (s.size() > max_phone_chars)
      return err(p, p + " must be at most " + std::to_string(max_phone_chars) + " characters");
    bool digit = false;
    for (char ch : s) {
      if (!is_phone_char(ch))
        return err(p, p + " may hold only digits, spaces and + - ( )");
      digit = digit || (ch >= '0' && ch <= '9');
    }
    if (!digit)
      return err(p, p + " must contain a phone number's digits");
    contact["phone"] = s;
  }
  if (!contact.empty())
    out = compact(contact);
  return std::nullopt;
}

std::optional<decode_error> decode_create_fields(const json& body, create_input& out) {
  if (!body.is_object())
    return err("", "the body must be a JSON object");
  if (auto e = unknown_key(body, "", create_keys))
    return e;
  const json* t = member(body, "trial_id");
  if (!t)
    return err("trial_id", "trial_id is required (the trial_id of POST /api/orders/trial)");
  if (!t->is_string())
    return err("trial_id", "trial_id must be a string");
  const auto& tid = t->get_ref<const std::string&>();
  if (tid.empty())
    return err("trial_id", "trial_id must not be empty");
  if (tid.size() > max_trial_id_chars)
    return err("trial_id",
               "trial_id must be at most " + std::to_string(max_trial_id_chars) + " characters");
  for (char c : tid)
    if (!is_id_char(c))
      return err("trial_id", "trial_id may hold only letters, digits, '_' and '-'");
  out.trial_id = tid;
  const json* r = member(body, "client_reference");
  if (!r)
    return err("client_reference", "client_reference is required (your idempotency key)");
  if (!r->is_string())
    return err("client_reference", "client_reference must be a string");
  const auto& ref = r->get_ref<const std::string&>();
  if (auto e = check_text(ref, "client_reference", max_client_reference_chars))
    return e;
  if (trim_spaces(ref).empty())
    return err("client_reference", "client_reference must not be blank");
  out.client_reference = ref;
  if (const json* h = member(body, "hold_only")) {
    if (!h->is_boolean())
      return err("hold_only", "hold_only must be true or false");
    out.hold_only = h->get<bool>();
  }
  if (const json* c = member(body, "contact"))
    if (auto e = read_contact(*c, out.contact_json))
      return e;
  return std::nullopt;
}

json null_if_empty(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

json occupancy_json(const std::vector<domain::room_occupancy>& rooms) {
  json out = json::array();
  for (const auto& r : rooms)
    out.push_back(json{{"adults", r.adults}, {"children_ages", r.children_ages}});
  return out;
}

json policies_json(const std::vector<domain::cancellation_policy>& policies,
                   const std::string& currency) {
  json out = json::array();
  for (const auto& p : policies)
    out.push_back(json{{"from", domain::format_instant_us(p.from_us)},
                       {"penalty", agent_json::encode_money(p.penalty_minor, currency)}});
  return out;
}

// -- trial cache reading ------------------------------------------------------------

bool get_string(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return false;
  out = it->get<std::string>();
  return true;
}

bool get_i64(const json& j, int64_t& out) {
  if (!j.is_number_integer())
    return false;
  if (j.is_number_unsigned()) {
    auto u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX))
      return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  out = j.get<int64_t>();
  return true;
}

bool get_i32(const json& j, int32_t& out) {
  int64_t v = 0;
  if (!get_i64(j, v) || v < INT32_MIN || v > INT32_MAX)
    return false;
  out = static_cast<int32_t>(v);
  return true;
}

bool get_i64(const json& j, const char* key, int64_t& out) {
  auto it = j.find(key);
  return it != j.end() && get_i64(*it, out);
}

bool get_i32(const json& j, const char* key, int32_t& out) {
  auto it = j.find(key);
  return it != j.end() && get_i32(*it, out);
}

bool get_bool(const json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean())
    return false;
  out = it->get<bool>();
  return true;
}

bool get_rooms(const json& j, std::vector<domain::room_occupancy>& out) {
  auto it = j.find("rooms");
  if (it == j.end() || !it->is_array())
    return false;
  for (const auto& room : *it) {
    if (!room.is_object())
      return false;
    domain::room_occupancy r;
    if (!get_i32(room, "adults", r.adults))
      return false;
    auto ages = room.find("children_ages");
    if (ages == room.end() || !ages->is_array())
      return false;
    for (const auto& age : *ages) {
      int32_t a = 0;
      if (!get_i32(age, a))
        return false;
      r.children_ages.push_back(a);
    }
    out.push_back(std::move(r));
  }
  return true;
}

bool get_policies(const json& j, std::vector<domain::cancellation_policy>& out) {
  auto it = j.find("policies");
  if (it == j.end() || !it->is_array())
    return false;
  for (const auto& p : *it) {
    if (!p.is_object())
      return false;
    domain::cancellation_policy cp;
    if (!get_i64(p, "from_us", cp.from_us) || !get_i64(p, "penalty_minor", cp.penalty_minor))
      return false;
    out.push_back(cp);
  }
  return true;
}

} // namespace

// -- decoding ------------------------------------------------------------------------

std::variant<trial_input, decode_error> decode_trial(const json& body) {
  try {
    trial_input out;
    if (auto e = decode_trial_fields(body, out))
      return *e;
    return out;
  } catch (const std::exception&) {
    return err("", "the body could not be read");
  }
}

std::variant<create_input, decode_error> decode_create(const json& body) {
  try {
    create_input out;
    if (auto e = decode_create_fields(body, out))
      return *e;
    return out;
  } catch (const std::exception&) {
    return err("", "the body could not be read");
  }
}

// -- answers -------------------------------------------------------------------------

json encode_order(const order_record& o) {
  json rooms;
  if (!o.guests_json.empty()) {
    auto parsed = json::parse(o.guests_json, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_array())
      rooms = std::move(parsed);
  }
  if (rooms.is_null())
    rooms = occupancy_json(o.rooms);
  json contact = nullptr;
  if (!o.contact_json.empty()) {
    auto parsed = json::parse(o.contact_json, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object())
      contact = std::move(parsed);
  }
  json history = json::array();
  for (const auto& h : o.history)
    history.push_back(json{{"status", h.to_status},
                           {"from_status", null_if_empty(h.from_status)},
                           {"event", h.event},
                           {"reason", null_if_empty(h.reason)},
                           {"at", domain::format_instant_us(h.at_us)},
                           {"trace_id", h.trace_id}});
  json out{{"order_id", o.order_id},
           {"client_reference", o.client_reference},
           {"status", o.status},
           {"status_reason", null_if_empty(o.status_reason)},
           {"supplier", o.supplier},
           {"supplier_booking_ref", null_if_empty(o.supplier_ref)},
           {"hotel_id", o.hotel_id},
           {"room_code", o.room_code},
           {"room_name", o.room_name},
           {"board", o.board},
           {"check_in", domain::format_date(o.check_in)},
           {"check_out", domain::format_date(o.check_out)},
           {"rooms", std::move(rooms)},
           {"contact", std::move(contact)},
           {"price", agent_json::encode_money(o.price_minor, o.currency)},
           {"net", agent_json::encode_money(o.net_minor, o.net_currency)},
           {"refundable", o.refundable},
           {"cancellation_policies", policies_json(o.policies, o.currency)},
           {"hold_only", o.hold_only},
           {"hold_expires_at", o.hold_expires_us != 0
                                   ? json(domain::format_instant_us(o.hold_expires_us))
                                   : json(nullptr)},
           {"created_at", domain::format_instant_us(o.created_us)},
           {"updated_at", domain::format_instant_us(o.updated_us)},
           {"history", std::move(history)},
           {"trace_ids", o.trace_ids}};
  if (o.status == "cancelling" || o.status == "cancelled") {
    out["penalty"] = agent_json::encode_money(o.penalty_minor, o.currency);
    out["refund"] = agent_json::encode_money(o.refund_minor, o.currency);
  }
  return out;
}

json encode_order_list(const std::vector<order_record>& orders) {
  json list = json::array();
  for (const auto& o : orders)
    list.push_back(encode_order(o));
  return json{{"orders", std::move(list)}};
}

json encode_trial(const trial_record& t) {
  return json{{"status", t.status},
              {"price", agent_json::encode_money(t.price_minor, t.currency)},
              {"trial_id", t.trial_id},
              {"expires_at", domain::format_instant_us(t.expires_us)},
              {"order_id", t.order_id}};
}

// -- Redis copy of a trial ------------------------------------------------------------

std::string trial_to_cache(const trial_record& t) {
  try {
    json policies = json::array();
    for (const auto& p : t.policies)
      policies.push_back(json{{"from_us", p.from_us}, {"penalty_minor", p.penalty_minor}});
    json j{{"trial_id", t.trial_id},
           {"order_id", t.order_id},
           {"agent_id", t.agent_id},
           {"status", t.status},
           {"supplier", t.supplier},
           {"hotel_id", t.hotel_id},
           {"hotel_code", t.hotel_code},
           {"room_code", t.room_code},
           {"room_name", t.room_name},
           {"board", t.board},
           {"check_in", t.check_in},
           {"check_out", t.check_out},
           {"rooms", occupancy_json(t.rooms)},
           {"guests_json", t.guests_json},
           {"price_minor", t.price_minor},
           {"currency", t.currency},
           {"net_minor", t.net_minor},
           {"net_currency", t.net_currency},
           {"refundable", t.refundable},
           {"policies", std::move(policies)},
           {"scenario", t.scenario},
           {"expires_us", t.expires_us},
           {"trace_id", t.trace_id}};
    return compact(j);
  } catch (const std::exception&) {
    return {};
  }
}

std::optional<trial_record> trial_from_cache(std::string_view text) {
  try {
    auto j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return std::nullopt;
    trial_record t;
    bool ok =
        get_string(j, "trial_id", t.trial_id) && get_string(j, "order_id", t.order_id) &&
        get_string(j, "agent_id", t.agent_id) && get_string(j, "status", t.status) &&
        get_string(j, "supplier", t.supplier) && get_string(j, "hotel_id", t.hotel_id) &&
        get_string(j, "hotel_code", t.hotel_code) && get_string(j, "room_code", t.room_code) &&
        get_string(j, "room_name", t.room_name) && get_string(j, "board", t.board) &&
        get_i32(j, "check_in", t.check_in) && get_i32(j, "check_out", t.check_out) &&
        get_rooms(j, t.rooms) && get_string(j, "guests_json", t.guests_json) &&
        get_i64(j, "price_minor", t.price_minor) && get_string(j, "currency", t.currency) &&
        get_i64(j, "net_minor", t.net_minor) && get_string(j, "net_currency", t.net_currency) &&
        get_bool(j, "refundable", t.refundable) && get_policies(j, t.policies) &&
        get_string(j, "scenario", t.scenario) && get_i64(j, "expires_us", t.expires_us) &&
        get_string(j, "trace_id", t.trace_id);
    if (!ok)
      return std::nullopt;
    return t;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// -- list filters ----------------------------------------------------------------------

std::optional<int64_t> parse_filter_instant(std::string_view text, bool end_of_day) {
  if (auto d = domain::parse_date(text))
    return static_cast<int64_t>(*d) * us_per_day + (end_of_day ? us_per_day : 0);
  return domain::parse_instant_us(text);
}

} // namespace bedbank::order_json
