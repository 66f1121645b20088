// The order codecs of the agent API: every rule of the trial and create bodies
// with the JSON path of the field at fault, the order and trial answers, the
// Redis copy of a trial, and the list filters' instants.
#define CAF_SUITE order_json
#include <caf/test/unit_test_impl.hpp>

#include "domain/dates.hpp"
#include "protocols/order_json.hpp"

using namespace bedbank;
using namespace bedbank::order_json;
using nlohmann::json;

namespace {

json trial_base() {
  return json::parse(R"({"rate_key": "eyJzIjoiaG90ZWxiZWRzIn0",
    "rooms": [{"adults": 2, "children_ages": [],
               "guests": [{"first_name": "San", "last_name": "Zhang"}]}],
    "expected_price": {"amount": "1234.50", "currency": "CNY"}})");
}

json create_base() {
  return json::parse(R"({"trial_id": "TR-abc_123", "client_reference": "AGENT-REF-0001",
    "hold_only": false, "contact": {"email": "ops@agent.example", "phone": "+86 21 1234 5678"}})");
}

/// The field of the trial decode error, or "<ok>".
std::string trial_field(const json& body) {
  auto r = decode_trial(body);
  if (auto* e = std::get_if<decode_error>(&r))
    return e->field;
  return "<ok>";
}

/// The field of the create decode error, or "<ok>".
std::string create_field(const json& body) {
  auto r = decode_create(body);
  if (auto* e = std::get_if<decode_error>(&r))
    return e->field;
  return "<ok>";
}

std::string trial_message(const json& body) {
  auto r = decode_trial(body);
  if (auto* e = std::get_if<decode_error>(&r))
    return e->message;
  return "<ok>";
}

/// `b` with the JSON pointer `ptr` set to `v`.
json with(json b, const std::string& ptr, json v) {
  b[json::json_pointer(ptr)] = std::move(v);
  return b;
}

/// `b` without the member at `ptr` (an object member).
json without(json b, const std::string& ptr) {
  json::json_pointer p(ptr);
  b[p.parent_pointer()].erase(p.back());
  return b;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

json guest(const std::string& first, const std::string& last) {
  return json{{"first_name", first}, {"last_name", last}};
}

int64_t instant(const char* text) {
  return domain::parse_instant_us(text).value_or(-1);
}

order_record full_order() {
  order_record o;
  o.order_id = "ORD-0001";
  o.agent_id = "demo-a";
  o.client_reference = "AGENT-REF-0001";
  o.status = "confirmed";
  o.status_reason = "";
  o.supplier = "hotelbeds";
  o.supplier_ref = "HB-778899";
  o.hotel_id = "H-SHA-0001";
  o.hotel_code = "HB-1";
  o.room_code = "DBL";
  o.room_name = "Double Room";
  o.board = "BB";
  o.check_in = domain::parse_date("2026-12-01").value_or(0);
  o.check_out = domain::parse_date("2026-12-03").value_or(0);
  o.rooms = {{2, {5}}};
  o.guests_json =
      R"([{"adults":2,"children_ages":[5],"guests":[{"first_name":"San","last_name":"Zhang"}]}])";
  o.contact_json = R"({"email":"ops@agent.example","phone":"+86 21 1234 5678"})";
  o.price_minor = 123450;
  o.currency = "CNY";
  o.net_minor = 15000;
  o.net_currency = "USD";
  o.credit_minor = 123450;
  o.credit_currency = "CNY";
  o.refundable = true;
  o.policies = {{instant("2026-11-29T00:00:00Z"), 61725},
                {instant("2026-11-30T12:00:00Z"), 123450}};
  o.hold_only = false;
  o.hold_expires_us = 0;
  o.penalty_minor = 61725;
  o.refund_minor = 61725;
  o.version = 3;
  o.created_us = instant("2026-11-20T08:00:00.123Z");
  o.updated_us = instant("2026-11-20T08:00:02.456Z");
  o.trace_id = "0af7651916cd43dd8448eb211c80319c";
  o.trace_ids = {"0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319d"};
  o.history = {{"", "booking", "created", "", instant("2026-11-20T08:00:00.123Z"),
                "0af7651916cd43dd8448eb211c80319c"},
               {"booking", "confirmed", "supplier_confirmed", "",
                instant("2026-11-20T08:00:02.456Z"), "0af7651916cd43dd8448eb211c80319c"}};
  return o;
}

trial_record full_trial() {
  trial_record t;
  t.trial_id = "TR-0001";
  t.order_id = "ORD-0001";
  t.agent_id = "demo-a";
  t.status = "price_changed";
  t.supplier = "expedia";
  t.hotel_id = "H-SHA-0002";
  t.hotel_code = "EX-22";
  t.room_code = "TWN";
  t.room_name = "Twin \"Deluxe\" \xE5\x8F\x8C\xE5\xBA\x8A";
  t.board = "HB";
  t.check_in = domain::parse_date("2026-12-01").value_or(0);
  t.check_out = domain::parse_date("2026-12-04").value_or(0);
  t.rooms = {{2, {3, 17}}, {1, {}}};
  t.guests_json = R"([{"adults":2,"children_ages":[3,17],"guests":[]}])";
  t.price_minor = 250075;
  t.currency = "CNY";
  t.net_minor = 31000;
  t.net_currency = "USD";
  t.refundable = false;
  t.policies = {{instant("2026-11-28T00:00:00Z"), 250075}, {-5, 0}};
  t.scenario = "price_up";
  t.expires_us = instant("2026-11-20T08:15:00Z");
  t.trace_id = "0af7651916cd43dd8448eb211c80319c";
  return t;
}

} // namespace

// -- trial body ------------------------------------------------------------------------

CAF_TEST(a valid trial body decodes exactly) {
  auto body = json::parse(R"({"rate_key": "abc-_123",
    "rooms": [{"adults": 2, "children_ages": [5, 17],
               "guests": [{"first_name": "  San ", "last_name": "Zhang"},
                          {"first_name": "Li", "last_name": "Si"}]},
              {"adults": 1,
               "guests": [{"first_name": "\u5c0f\u660e", "last_name": "\u738b"}]}],
    "expected_price": {"amount": "1234.5", "currency": "CNY"}})");
  auto r = decode_trial(body);
  auto* t = std::get_if<trial_input>(&r);
  CAF_REQUIRE(t != nullptr);
  CAF_CHECK_EQUAL(t->rate_key, "abc-_123");
  CAF_REQUIRE_EQUAL(t->rooms.size(), 2u);
  CAF_CHECK_EQUAL(t->rooms[0].adults, 2);
  CAF_CHECK(t->rooms[0].children_ages == (std::vector<int>{5, 17}));
  CAF_CHECK_EQUAL(t->rooms[1].adults, 1);
  CAF_CHECK(t->rooms[1].children_ages.empty());
  CAF_CHECK_EQUAL(t->expected_minor, 123450);
  CAF_CHECK_EQUAL(t->currency, "CNY");
  CAF_CHECK_EQUAL(t->guests_json,
                  R"([{"adults":2,"children_ages":[5,17],"guests":[{"first_name":"San",)"
                  R"("last_name":"Zhang"},{"first_name":"Li","last_name":"Si"}]},)"
                  R"({"adults":1,"children_ages":[],"guests":[{"first_name":")"
                  "\xE5\xB0\x8F\xE6\x98\x8E"
                  R"(","last_name":")"
                  "\xE7\x8E\x8B"
                  R"("}]}])");
}

CAF_TEST(the base trial body and amounts of other currencies) {
  CAF_CHECK_EQUAL(trial_field(trial_base()), "<ok>");
  auto jpy = with(trial_base(), "/expected_price", json{{"amount", "12000"}, {"currency", "JPY"}});
  auto r = decode_trial(jpy);
  auto* t = std::get_if<trial_input>(&r);
  CAF_REQUIRE(t != nullptr);
  CAF_CHECK_EQUAL(t->expected_minor, 12000);
  CAF_CHECK_EQUAL(t->currency, "JPY");
  auto zero = decode_trial(with(trial_base(), "/expected_price/amount", "0"));
  CAF_REQUIRE(std::holds_alternative<trial_input>(zero));
  CAF_CHECK_EQUAL(std::get<trial_input>(zero).expected_minor, 0);
  // children_ages null or absent: no children.
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/children_ages", nullptr)), "<ok>");
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/rooms/0/children_ages")), "<ok>");
}

CAF_TEST(trial body shape and unknown keys) {
  CAF_CHECK_EQUAL(trial_field(json::array()), "");
  CAF_CHECK_EQUAL(trial_field(json("text")), "");
  CAF_CHECK_EQUAL(trial_field(json(nullptr)), "");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/scenario", "x")), "scenario");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/extra", 1)), "rooms[0].extra");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/title", "Mr")),
                  "rooms[0].guests[0].title");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/value", 1)),
                  "expected_price.value");
}

CAF_TEST(trial rate_key rules) {
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/rate_key")), "rate_key");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rate_key", nullptr)), "rate_key");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rate_key", 12)), "rate_key");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rate_key", "")), "rate_key");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rate_key", std::string(4097, 'a'))), "rate_key");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rate_key", std::string(4096, 'a'))), "<ok>");
}

CAF_TEST(trial rooms rules) {
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/rooms")), "rooms");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms", json::object())), "rooms");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms", json::array())), "rooms");
  json nine = json::array();
  for (int i = 0; i < 9; ++i)
    nine.push_back({{"adults", 1}, {"guests", {guest("A", "B")}}});
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms", nine)), "rooms");
  nine.erase(nine.size() - 1);
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms", nine)), "<ok>");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0", 2)), "rooms[0]");
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/rooms/0/adults")), "rooms[0].adults");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/adults", 0)), "rooms[0].adults");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/adults", 9)), "rooms[0].adults");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/adults", -1)), "rooms[0].adults");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/adults", 2.5)), "rooms[0].adults");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/adults", "2")), "rooms[0].adults");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/adults", uint64_t{1} << 40)),
                  "rooms[0].adults");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/adults", 8)), "<ok>");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/children_ages", 5)),
                  "rooms[0].children_ages");
  json too_many = json::array();
  for (int i = 0; i <= domain::max_children_per_room; ++i)
    too_many.push_back(3);
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/children_ages", too_many)),
                  "rooms[0].children_ages");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/children_ages", json{4, -1})),
                  "rooms[0].children_ages[1]");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/children_ages", json{18})),
                  "rooms[0].children_ages[0]");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/children_ages", json{"5"})),
                  "rooms[0].children_ages[0]");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/children_ages", json{0, 17})), "<ok>");
}

CAF_TEST(trial guests rules) {
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/rooms/0/guests")), "rooms[0].guests");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests", nullptr)), "rooms[0].guests");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests", "San Zhang")),
                  "rooms[0].guests");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests", json::array())),
                  "rooms[0].guests");
  // 2 adults: at most 2 guests; a child makes room for a third.
  json three = {guest("A", "B"), guest("C", "D"), guest("E", "F")};
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests", three)), "rooms[0].guests");
  auto with_child = with(trial_base(), "/rooms/0/children_ages", json{6});
  CAF_CHECK_EQUAL(trial_field(with(with_child, "/rooms/0/guests", three)), "<ok>");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0", "San")),
                  "rooms[0].guests[0]");
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/rooms/0/guests/0/first_name")),
                  "rooms[0].guests[0].first_name");
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/rooms/0/guests/0/last_name")),
                  "rooms[0].guests[0].last_name");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/first_name", 7)),
                  "rooms[0].guests[0].first_name");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/first_name", "")),
                  "rooms[0].guests[0].first_name");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/first_name", "    ")),
                  "rooms[0].guests[0].first_name");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/last_name",
                                   "Zh\x01"
                                   "ang")),
                  "rooms[0].guests[0].last_name");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/last_name", "Zhang\n")),
                  "rooms[0].guests[0].last_name");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/last_name", "Zh\xC2\x85")),
                  "rooms[0].guests[0].last_name");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/last_name", "Zh\xFF")),
                  "rooms[0].guests[0].last_name");
  CAF_CHECK_EQUAL(
      trial_field(with(trial_base(), "/rooms/0/guests/0/first_name", std::string(65, 'a'))),
      "rooms[0].guests[0].first_name");
  // 64 characters (not bytes), with spaces around that are trimmed.
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/rooms/0/guests/0/first_name",
                                   "  " + repeat("\xE5\xB0\x8F", 64) + "  ")),
                  "<ok>");
  CAF_CHECK_EQUAL(
      trial_field(with(trial_base(), "/rooms/0/guests/0/first_name", repeat("\xE5\xB0\x8F", 65))),
      "rooms[0].guests[0].first_name");
  // The path names the room and guest at fault.
  auto two = with(trial_base(), "/rooms/1",
                  json{{"adults", 2}, {"guests", {guest("A", "B"), guest("", "D")}}});
  CAF_CHECK_EQUAL(trial_field(two), "rooms[1].guests[1].first_name");
}

CAF_TEST(trial expected_price rules) {
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/expected_price")), "expected_price");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price", "1234.50 CNY")),
                  "expected_price");
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/expected_price/currency")),
                  "expected_price.currency");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/currency", "XYZ")),
                  "expected_price.currency");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/currency", "cny")),
                  "expected_price.currency");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/currency", 156)),
                  "expected_price.currency");
  CAF_CHECK_EQUAL(trial_field(without(trial_base(), "/expected_price/amount")),
                  "expected_price.amount");
  auto number = with(trial_base(), "/expected_price/amount", 1234.5);
  CAF_CHECK_EQUAL(trial_field(number), "expected_price.amount");
  CAF_CHECK(trial_message(number).find("string") != std::string::npos);
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/amount", 1234)),
                  "expected_price.amount");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/amount", "-1.00")),
                  "expected_price.amount");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/amount", "1.234")),
                  "expected_price.amount");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/amount", "abc")),
                  "expected_price.amount");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/amount", "")),
                  "expected_price.amount");
  CAF_CHECK_EQUAL(trial_field(with(trial_base(), "/expected_price/amount", "1e3")),
                  "expected_price.amount");
  auto jpy = with(trial_base(), "/expected_price", json{{"amount", "1.5"}, {"currency", "JPY"}});
  CAF_CHECK_EQUAL(trial_field(jpy), "expected_price.amount");
}

// -- create body -------------------------------------------------------------------------

CAF_TEST(a valid create body decodes exactly) {
  auto body = create_base();
  body["hold_only"] = true;
  auto r = decode_create(body);
  auto* c = std::get_if<create_input>(&r);
  CAF_REQUIRE(c != nullptr);
  CAF_CHECK_EQUAL(c->trial_id, "TR-abc_123");
  CAF_CHECK_EQUAL(c->client_reference, "AGENT-REF-0001");
  CAF_CHECK_EQUAL(c->hold_only, true);
  CAF_CHECK_EQUAL(c->contact_json, R"({"email":"ops@agent.example","phone":"+86 21 1234 5678"})");
}

CAF_TEST(a minimal create body takes the defaults) {
  auto r =
      decode_create(json{{"trial_id", "T1"}, {"client_reference", "\xE8\xAE\xA2\xE5\x8D\x95-1"}});
  auto* c = std::get_if<create_input>(&r);
  CAF_REQUIRE(c != nullptr);
  CAF_CHECK_EQUAL(c->hold_only, false);
  CAF_CHECK_EQUAL(c->contact_json, "");
  CAF_CHECK_EQUAL(c->client_reference, "\xE8\xAE\xA2\xE5\x8D\x95-1");
  auto nulls = decode_create(json{
      {"trial_id", "T1"}, {"client_reference", "R"}, {"hold_only", nullptr}, {"contact", nullptr}});
  CAF_REQUIRE(std::holds_alternative<create_input>(nulls));
  CAF_CHECK_EQUAL(std::get<create_input>(nulls).contact_json, "");
  auto phone_only = decode_create(with(create_base(), "/contact", json{{"phone", "123"}}));
  CAF_REQUIRE(std::holds_alternative<create_input>(phone_only));
  CAF_CHECK_EQUAL(std::get<create_input>(phone_only).contact_json, R"({"phone":"123"})");
}

CAF_TEST(create body shape and unknown keys) {
  CAF_CHECK_EQUAL(create_field(json::array()), "");
  CAF_CHECK_EQUAL(create_field(json(42)), "");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/rate_key", "x")), "rate_key");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/fax", "1")), "contact.fax");
}

CAF_TEST(create trial_id rules) {
  CAF_CHECK_EQUAL(create_field(without(create_base(), "/trial_id")), "trial_id");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/trial_id", 5)), "trial_id");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/trial_id", "")), "trial_id");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/trial_id", "abc/def")), "trial_id");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/trial_id", "abc def")), "trial_id");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/trial_id", std::string(65, 'a'))), "trial_id");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/trial_id", std::string(64, 'a'))), "<ok>");
}

CAF_TEST(create client_reference rules) {
  CAF_CHECK_EQUAL(create_field(without(create_base(), "/client_reference")), "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", 1)), "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", "")), "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", "   ")),
                  "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", "REF\n1")),
                  "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", "REF\x7F")),
                  "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", "REF\xC3")),
                  "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", std::string(65, 'R'))),
                  "client_reference");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/client_reference", std::string(64, 'R'))),
                  "<ok>");
  CAF_CHECK_EQUAL(
      create_field(with(create_base(), "/client_reference", repeat("\xE8\xAE\xA2", 64))), "<ok>");
  CAF_CHECK_EQUAL(
      create_field(with(create_base(), "/client_reference", repeat("\xE8\xAE\xA2", 65))),
      "client_reference");
}

CAF_TEST(create hold_only and contact rules) {
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/hold_only", "true")), "hold_only");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/hold_only", 1)), "hold_only");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact", "ops@agent.example")), "contact");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact", json::array())), "contact");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/email", 5)), "contact.email");
  for (const char* bad : {"", "no-at", "@agent.example", "ops@", "a@b@c", "o ps@agent.example",
                          "ops@agent\x01.example"})
    CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/email", bad)), "contact.email");
  CAF_CHECK_EQUAL(
      create_field(with(create_base(), "/contact/email", std::string(250, 'a') + "@b.cn")),
      "contact.email");
  CAF_CHECK_EQUAL(
      create_field(with(create_base(), "/contact/email", std::string(249, 'a') + "@b.cn")), "<ok>");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/phone", 862112345678)),
                  "contact.phone");
  for (const char* bad : {"", "call me", "+86.21.1234", "+-()", "12345\n"})
    CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/phone", bad)), "contact.phone");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/phone", std::string(33, '1'))),
                  "contact.phone");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/phone", std::string(32, '1'))),
                  "<ok>");
  CAF_CHECK_EQUAL(create_field(with(create_base(), "/contact/phone", "+1 (555) 010-9999")), "<ok>");
}

// -- answers -----------------------------------------------------------------------------

CAF_TEST(encode_order writes every field with its type) {
  auto j = encode_order(full_order());
  CAF_CHECK(j["order_id"] == "ORD-0001");
  CAF_CHECK(j["client_reference"] == "AGENT-REF-0001");
  CAF_CHECK(j["status"] == "confirmed");
  CAF_CHECK(j["status_reason"].is_null());
  CAF_CHECK(j["supplier"] == "hotelbeds");
  CAF_CHECK(j["supplier_booking_ref"] == "HB-778899");
  CAF_CHECK(j["hotel_id"] == "H-SHA-0001");
  CAF_CHECK(j["room_code"] == "DBL");
  CAF_CHECK(j["room_name"] == "Double Room");
  CAF_CHECK(j["board"] == "BB");
  CAF_CHECK(j["check_in"] == "2026-12-01");
  CAF_CHECK(j["check_out"] == "2026-12-03");
  CAF_CHECK(j["rooms"] == json::parse(full_order().guests_json));
  CAF_CHECK(j["rooms"][0]["guests"][0]["last_name"] == "Zhang");
  CAF_CHECK(j["contact"] == (json{{"email", "ops@agent.example"}, {"phone", "+86 21 1234 5678"}}));
  CAF_CHECK(j["price"] == (json{{"amount", "1234.50"}, {"currency", "CNY"}}));
  CAF_CHECK(j["net"] == (json{{"amount", "150.00"}, {"currency", "USD"}}));
  CAF_CHECK(j["refundable"] == true);
  CAF_REQUIRE(j["cancellation_policies"].is_array());
  CAF_REQUIRE_EQUAL(j["cancellation_policies"].size(), 2u);
  CAF_CHECK(j["cancellation_policies"][0]["from"] == "2026-11-29T00:00:00.000Z");
  CAF_CHECK(j["cancellation_policies"][0]["penalty"] ==
            (json{{"amount", "617.25"}, {"currency", "CNY"}}));
  CAF_CHECK(j["cancellation_policies"][1]["from"] == "2026-11-30T12:00:00.000Z");
  CAF_CHECK(j["hold_only"] == false);
  CAF_CHECK(j["hold_expires_at"].is_null());
  CAF_CHECK(!j.contains("penalty"));
  CAF_CHECK(!j.contains("refund"));
  CAF_CHECK(j["created_at"] == "2026-11-20T08:00:00.123Z");
  CAF_CHECK(j["updated_at"] == "2026-11-20T08:00:02.456Z");
  CAF_REQUIRE(j["history"].is_array());
  CAF_REQUIRE_EQUAL(j["history"].size(), 2u);
  const auto& h0 = j["history"][0];
  CAF_CHECK(h0["status"] == "booking");
  CAF_CHECK(h0["from_status"].is_null());
  CAF_CHECK(h0["event"] == "created");
  CAF_CHECK(h0["reason"].is_null());
  CAF_CHECK(h0["at"] == "2026-11-20T08:00:00.123Z");
  CAF_CHECK(h0["trace_id"] == "0af7651916cd43dd8448eb211c80319c");
  const auto& h1 = j["history"][1];
  CAF_CHECK(h1["status"] == "confirmed");
  CAF_CHECK(h1["from_status"] == "booking");
  CAF_CHECK(h1["event"] == "supplier_confirmed");
  CAF_CHECK(j["trace_ids"] ==
            (json{"0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319d"}));
  // Nothing internal leaks.
  CAF_CHECK(!j.contains("agent_id"));
  CAF_CHECK(!j.contains("scenario"));
  CAF_CHECK(!j.contains("version"));
  CAF_CHECK(!j.contains("hotel_code"));
  // The whole answer serialises.
  CAF_CHECK(!j.dump().empty());
}

CAF_TEST(encode_order shows penalty and refund only when cancelling or cancelled) {
  for (const char* status : {"held", "booking", "confirmed", "unknown", "failed", "closed"}) {
    auto o = full_order();
    o.status = status;
    auto j = encode_order(o);
    CAF_CHECK(!j.contains("penalty"));
    CAF_CHECK(!j.contains("refund"));
  }
  for (const char* status : {"cancelling", "cancelled"}) {
    auto o = full_order();
    o.status = status;
    o.status_reason = "agent_request";
    o.penalty_minor = 61725;
    o.refund_minor = 61725;
    auto j = encode_order(o);
    CAF_CHECK(j["penalty"] == (json{{"amount", "617.25"}, {"currency", "CNY"}}));
    CAF_CHECK(j["refund"] == (json{{"amount", "617.25"}, {"currency", "CNY"}}));
    CAF_CHECK(j["status_reason"] == "agent_request");
  }
}

CAF_TEST(encode_order of a held order and of damaged stored JSON) {
  auto o = full_order();
  o.status = "held";
  o.hold_only = true;
  o.hold_expires_us = instant("2026-11-20T08:15:00Z");
  o.supplier_ref = "";
  o.guests_json = "[{broken";
  o.contact_json = "";
  auto j = encode_order(o);
  CAF_CHECK(j["hold_only"] == true);
  CAF_CHECK(j["hold_expires_at"] == "2026-11-20T08:15:00.000Z");
  CAF_CHECK(j["supplier_booking_ref"].is_null());
  CAF_CHECK(j["rooms"] == json::parse(R"([{"adults":2,"children_ages":[5]}])"));
  CAF_CHECK(j["contact"].is_null());
  o.guests_json = R"({"not":"an array"})";
  o.contact_json = "[1]";
  j = encode_order(o);
  CAF_CHECK(j["rooms"] == json::parse(R"([{"adults":2,"children_ages":[5]}])"));
  CAF_CHECK(j["contact"].is_null());
  o.contact_json = "not json";
  CAF_CHECK(encode_order(o)["contact"].is_null());
}

CAF_TEST(encode_order_list wraps the orders) {
  auto a = full_order();
  auto b = full_order();
  b.order_id = "ORD-0002";
  auto j = encode_order_list({a, b});
  CAF_REQUIRE(j["orders"].is_array());
  CAF_REQUIRE_EQUAL(j["orders"].size(), 2u);
  CAF_CHECK(j["orders"][1]["order_id"] == "ORD-0002");
  CAF_CHECK(encode_order_list({}) == json::parse(R"({"orders": []})"));
}

CAF_TEST(encode_trial writes the trial answer) {
  auto t = full_trial();
  auto j = encode_trial(t);
  CAF_CHECK(j["status"] == "price_changed");
  CAF_CHECK(j["price"] == (json{{"amount", "2500.75"}, {"currency", "CNY"}}));
  CAF_CHECK(j["trial_id"] == "TR-0001");
  CAF_CHECK(j["expires_at"] == "2026-11-20T08:15:00.000Z");
  CAF_CHECK(j["order_id"] == "ORD-0001");
  CAF_CHECK_EQUAL(j.size(), 5u);
  t.status = "sold_out";
  t.price_minor = 123450;
  j = encode_trial(t);
  CAF_CHECK(j["status"] == "sold_out");
  CAF_CHECK(j["price"] == (json{{"amount", "1234.50"}, {"currency", "CNY"}}));
}

// -- trial cache ---------------------------------------------------------------------------

CAF_TEST(trial cache round trip keeps every field) {
  auto t = full_trial();
  auto text = trial_to_cache(t);
  CAF_REQUIRE(!text.empty());
  auto back = trial_from_cache(text);
  CAF_REQUIRE(back.has_value());
  const auto& b = *back;
  CAF_CHECK_EQUAL(b.trial_id, t.trial_id);
  CAF_CHECK_EQUAL(b.order_id, t.order_id);
  CAF_CHECK_EQUAL(b.agent_id, t.agent_id);
  CAF_CHECK_EQUAL(b.status, t.status);
  CAF_CHECK_EQUAL(b.supplier, t.supplier);
  CAF_CHECK_EQUAL(b.hotel_id, t.hotel_id);
  CAF_CHECK_EQUAL(b.hotel_code, t.hotel_code);
  CAF_CHECK_EQUAL(b.room_code, t.room_code);
  CAF_CHECK_EQUAL(b.room_name, t.room_name);
  CAF_CHECK_EQUAL(b.board, t.board);
  CAF_CHECK_EQUAL(b.check_in, t.check_in);
  CAF_CHECK_EQUAL(b.check_out, t.check_out);
  CAF_CHECK(b.rooms == t.rooms);
  CAF_CHECK_EQUAL(b.guests_json, t.guests_json);
  CAF_CHECK_EQUAL(b.price_minor, t.price_minor);
  CAF_CHECK_EQUAL(b.currency, t.currency);
  CAF_CHECK_EQUAL(b.net_minor, t.net_minor);
  CAF_CHECK_EQUAL(b.net_currency, t.net_currency);
  CAF_CHECK_EQUAL(b.refundable, t.refundable);
  CAF_REQUIRE_EQUAL(b.policies.size(), t.policies.size());
  for (size_t i = 0; i < t.policies.size(); ++i) {
    CAF_CHECK_EQUAL(b.policies[i].from_us, t.policies[i].from_us);
    CAF_CHECK_EQUAL(b.policies[i].penalty_minor, t.policies[i].penalty_minor);
  }
  CAF_CHECK_EQUAL(b.scenario, t.scenario);
  CAF_CHECK_EQUAL(b.expires_us, t.expires_us);
  CAF_CHECK_EQUAL(b.trace_id, t.trace_id);
  // An empty record round-trips too.
  auto empty = trial_from_cache(trial_to_cache(trial_record{}));
  CAF_REQUIRE(empty.has_value());
  CAF_CHECK(empty->rooms.empty());
  CAF_CHECK(empty->policies.empty());
  CAF_CHECK_EQUAL(empty->refundable, true);
}

CAF_TEST(trial cache survives invalid UTF - 8 in a string) {
  auto t = full_trial();
  t.room_name = "bad \xFF\xFE name";
  auto text = trial_to_cache(t);
  CAF_REQUIRE(!text.empty());
  auto back = trial_from_cache(text);
  CAF_REQUIRE(back.has_value());
  CAF_CHECK_EQUAL(back->trial_id, t.trial_id);
}

CAF_TEST(malformed trial cache text is refused) {
  auto good = json::parse(trial_to_cache(full_trial()));
  auto broken = [&](auto edit) {
    auto j = good;
    edit(j);
    return trial_from_cache(j.dump()).has_value();
  };
  CAF_CHECK(!trial_from_cache("").has_value());
  CAF_CHECK(!trial_from_cache("not json").has_value());
  CAF_CHECK(!trial_from_cache("[]").has_value());
  CAF_CHECK(!trial_from_cache("null").has_value());
  CAF_CHECK(!trial_from_cache("{").has_value());
  CAF_CHECK(!trial_from_cache(good.dump() + "x").has_value());
  CAF_CHECK(!trial_from_cache(good.dump().substr(0, 40)).has_value());
  CAF_CHECK(!broken([](json& j) { j.erase("trial_id"); }));
  CAF_CHECK(!broken([](json& j) { j.erase("policies"); }));
  CAF_CHECK(!broken([](json& j) { j["price_minor"] = "250075"; }));
  CAF_CHECK(!broken([](json& j) { j["price_minor"] = 2500.75; }));
  CAF_CHECK(!broken([](json& j) { j["check_in"] = int64_t{1} << 40; }));
  CAF_CHECK(!broken([](json& j) { j["expires_us"] = UINT64_MAX; }));
  CAF_CHECK(!broken([](json& j) { j["refundable"] = 1; }));
  CAF_CHECK(!broken([](json& j) { j["rooms"] = json::object(); }));
  CAF_CHECK(!broken([](json& j) { j["rooms"][0]["adults"] = "2"; }));
  CAF_CHECK(!broken([](json& j) { j["rooms"][0].erase("children_ages"); }));
  CAF_CHECK(!broken([](json& j) { j["rooms"][0]["children_ages"][0] = nullptr; }));
  CAF_CHECK(!broken([](json& j) { j["policies"][0] = 5; }));
  CAF_CHECK(!broken([](json& j) { j["policies"][0].erase("penalty_minor"); }));
  CAF_CHECK(!broken([](json& j) { j["trace_id"] = nullptr; }));
  CAF_CHECK(broken([](json& j) {})); // the unedited text is fine
}

// -- list filters ----------------------------------------------------------------------------

CAF_TEST(filter instants from dates and RFC 3339) {
  CAF_CHECK_EQUAL(parse_filter_instant("2026-12-01", false).value_or(-1),
                  instant("2026-12-01T00:00:00Z"));
  CAF_CHECK_EQUAL(parse_filter_instant("2026-12-01", true).value_or(-1),
                  instant("2026-12-02T00:00:00Z"));
  CAF_CHECK_EQUAL(parse_filter_instant("2026-12-31", true).value_or(-1),
                  instant("2027-01-01T00:00:00Z"));
  CAF_CHECK_EQUAL(parse_filter_instant("1970-01-01", false).value_or(-1), 0);
  CAF_CHECK_EQUAL(parse_filter_instant("2026-12-01T10:20:30.456Z", false).value_or(-1),
                  instant("2026-12-01T10:20:30.456Z"));
  // An instant is taken as is, end_of_day or not.
  CAF_CHECK_EQUAL(parse_filter_instant("2026-12-01T10:20:30Z", true).value_or(-1),
                  instant("2026-12-01T10:20:30Z"));
  CAF_CHECK_EQUAL(parse_filter_instant("2026-12-01T08:00:00+08:00", false).value_or(-1),
                  instant("2026-12-01T00:00:00Z"));
  for (const char* bad :
       {"", "garbage", "2026-13-01", "2026-02-30", "2026-12-1", "20261201", "2026-12-01T",
        "2026-12-01 10:00:00", "1764547200", "2026-12-01Z", " 2026-12-01"}) {
    CAF_CHECK(!parse_filter_instant(bad, false).has_value());
    CAF_CHECK(!parse_filter_instant(bad, true).has_value());
  }
}
