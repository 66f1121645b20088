// The agent API codecs: every search field's validation with its exact JSON
// path, money and markup in the answer, rate keys, traceparent.
#define CAF_SUITE agent_json
#include <caf/test/unit_test_impl.hpp>

#include "domain/dates.hpp"
#include "protocols/agent_json.hpp"

using namespace bedbank;
using namespace bedbank::agent_json;
using nlohmann::json;

namespace {

const domain::day today = *domain::parse_date("2026-01-10");

json base() {
  return json::parse(R"({"city": "SHA", "check_in": "2026-03-01", "check_out": "2026-03-03",
                         "rooms": [{"adults": 2, "children_ages": [5]}]})");
}

/// The field of the error, or "<ok>".
std::string field_of(const json& body) {
  auto r = decode_search(body, "CNY", today);
  if (auto* e = std::get_if<domain::field_error>(&r))
    return e->field;
  return "<ok>";
}

json with(json b, const std::string& key, json value) {
  b[key] = std::move(value);
  return b;
}

json without(json b, const std::string& key) {
  b.erase(key);
  return b;
}

json rooms_of(int n, int adults = 1) {
  json r = json::array();
  for (int i = 0; i < n; ++i)
    r.push_back({{"adults", adults}});
  return r;
}

} // namespace

CAF_TEST(a valid body decodes to the expected query) {
  auto body = json::parse(R"({"hotel_ids": ["H-SHA-0001", "H-SHA-0002"],
    "check_in": "2026-03-01", "check_out": "2026-03-04",
    "rooms": [{"adults": 2, "children_ages": [5, 17]}, {"adults": 1}],
    "currency": "USD", "max_results": 10})");
  auto r = decode_search(body, "CNY", today);
  auto* q = std::get_if<domain::search_query>(&r);
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK_EQUAL(q->city, "");
  CAF_CHECK_EQUAL(q->hotel_ids.size(), 2u);
  CAF_CHECK_EQUAL(q->hotel_ids[1], "H-SHA-0002");
  CAF_CHECK_EQUAL(q->check_in, domain::parse_date("2026-03-01").value_or(-1));
  CAF_CHECK_EQUAL(q->check_out, domain::parse_date("2026-03-04").value_or(-1));
  CAF_REQUIRE_EQUAL(q->rooms.size(), 2u);
  CAF_CHECK_EQUAL(q->rooms[0].adults, 2);
  CAF_CHECK(q->rooms[0].children_ages == (std::vector<int>{5, 17}));
  CAF_CHECK_EQUAL(q->rooms[1].adults, 1);
  CAF_CHECK(q->rooms[1].children_ages.empty());
  CAF_CHECK_EQUAL(q->currency, "USD");
  CAF_CHECK_EQUAL(q->max_results, 10);
}

CAF_TEST(defaults for currency and max_results) {
  auto r = decode_search(base(), "CNY", today);
  auto* q = std::get_if<domain::search_query>(&r);
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK_EQUAL(q->currency, "CNY");
  CAF_CHECK_EQUAL(q->max_results, 50);
  CAF_CHECK_EQUAL(q->city, "SHA");
}

CAF_TEST(city and hotel_ids) {
  CAF_CHECK_EQUAL(field_of(with(base(), "city", 5)), "city");
  CAF_CHECK_EQUAL(field_of(with(base(), "city", "sha")), "city");
  CAF_CHECK_EQUAL(field_of(without(base(), "city")), "city");                     // neither
  CAF_CHECK_EQUAL(field_of(with(base(), "hotel_ids", json{"H-1"})), "hotel_ids"); // both
  auto ids = with(without(base(), "city"), "hotel_ids", "H-1");
  CAF_CHECK_EQUAL(field_of(ids), "hotel_ids");
  ids = with(without(base(), "city"), "hotel_ids", json{"H-1", 7});
  CAF_CHECK_EQUAL(field_of(ids), "hotel_ids[1]");
  ids = with(without(base(), "city"), "hotel_ids", json{"H-1", ""});
  CAF_CHECK_EQUAL(field_of(ids), "hotel_ids[1]");
  ids = with(without(base(), "city"), "hotel_ids", json{"H-1"});
  CAF_CHECK_EQUAL(field_of(ids), "<ok>");
}

CAF_TEST(dates) {
  CAF_CHECK_EQUAL(field_of(without(base(), "check_in")), "check_in");
  CAF_CHECK_EQUAL(field_of(with(base(), "check_in", 20260301)), "check_in");
  CAF_CHECK_EQUAL(field_of(with(base(), "check_in", "2026-02-30")), "check_in");
  CAF_CHECK_EQUAL(field_of(with(base(), "check_in", "2026-01-09")), "check_in"); // past
  auto today_in = with(base(), "check_in", "2026-01-10");
  CAF_CHECK_EQUAL(field_of(with(today_in, "check_out", "2026-01-12")), "<ok>"); // today
  CAF_CHECK_EQUAL(field_of(without(base(), "check_out")), "check_out");
  CAF_CHECK_EQUAL(field_of(with(base(), "check_out", true)), "check_out");
  CAF_CHECK_EQUAL(field_of(with(base(), "check_out", "2026-02-28")), "check_out"); // before
  CAF_CHECK_EQUAL(field_of(with(base(), "check_out", "2026-03-01")), "check_out"); // equal
  CAF_CHECK_EQUAL(field_of(with(base(), "check_out", "2026-04-01")), "check_out"); // 31 nights
  CAF_CHECK_EQUAL(field_of(with(base(), "check_out", "2026-03-31")), "<ok>");      // 30 nights
}

CAF_TEST(rooms and occupants) {
  CAF_CHECK_EQUAL(field_of(without(base(), "rooms")), "rooms");
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", json::object())), "rooms");
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", json::array())), "rooms"); // 0 rooms
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", rooms_of(9))), "rooms");   // 9 rooms
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", rooms_of(8))), "<ok>");
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", json{1})), "rooms[0]");
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", rooms_of(1, 0))), "rooms[0].adults");
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", rooms_of(1, 9))), "rooms[0].adults");
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", rooms_of(1, 8))), "<ok>");
  auto r = rooms_of(2);
  r[1]["adults"] = "two";
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[1].adults");
  r = rooms_of(2);
  r[1]["adults"] = 1.5;
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[1].adults");
  r = rooms_of(2);
  r[1].erase("adults");
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[1].adults");
  r = rooms_of(2);
  r[0]["pets"] = 1;
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[0].pets");
  r = rooms_of(1);
  r[0]["children_ages"] = json{3, -1};
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[0].children_ages[1]");
  r[0]["children_ages"] = json{18};
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[0].children_ages[0]");
  r[0]["children_ages"] = json{0, 17};
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "<ok>");
  r[0]["children_ages"] = json{"5"};
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[0].children_ages[0]");
  r[0]["children_ages"] = 5;
  CAF_CHECK_EQUAL(field_of(with(base(), "rooms", r)), "rooms[0].children_ages");
}

CAF_TEST(currency max_results and unknown fields) {
  CAF_CHECK_EQUAL(field_of(with(base(), "currency", "XXX")), "currency");
  CAF_CHECK_EQUAL(field_of(with(base(), "currency", 1)), "currency");
  CAF_CHECK_EQUAL(field_of(with(base(), "currency", "USD")), "<ok>");
  CAF_CHECK_EQUAL(field_of(with(base(), "max_results", 0)), "max_results");
  CAF_CHECK_EQUAL(field_of(with(base(), "max_results", 201)), "max_results");
  CAF_CHECK_EQUAL(field_of(with(base(), "max_results", 200)), "<ok>");
  CAF_CHECK_EQUAL(field_of(with(base(), "max_results", "10")), "max_results");
  CAF_CHECK_EQUAL(field_of(with(base(), "max_results", 1e12)), "max_results");
  CAF_CHECK_EQUAL(field_of(with(base(), "max_results", 99999999999LL)), "max_results");
  CAF_CHECK_EQUAL(field_of(with(base(), "sort", "price")), "sort");
  CAF_CHECK_EQUAL(field_of(json::array()), "");
}

namespace {

search_result sample_result() {
  search_result r;
  r.search_id = "s-1";
  r.cache_hit = true;
  merged_hotel a{"H-1", "Alpha", 0, {}};
  supplier_rate ra;
  ra.supplier = "hotelbeds";
  ra.hotel_code = "HB1";
  ra.room_code = "DBL";
  ra.room_name = "Double";
  ra.board = "BB";
  ra.net_minor = 100000; // 1000.00 CNY
  ra.currency = "CNY";
  ra.policies.push_back({1767225600000000, 50000});
  a.rates.push_back(ra);
  merged_hotel b{"H-2", "Beta", 0, {}};
  supplier_rate rb = ra;
  rb.hotel_code = "HB2";
  rb.net_minor = 1000; // 10.00 USD
  rb.currency = "USD";
  rb.bookable = false;
  rb.refundable = false;
  rb.policies.clear();
  b.rates.push_back(rb);
  r.hotels = {a, b};
  r.suppliers.push_back({"hotelbeds", "ok", 123456, 2, ""});
  r.suppliers.push_back({"expedia", "timeout", 3000000, 0, "no answer"});
  return r;
}

} // namespace

CAF_TEST(encode_search formats money with markup and sorts by cheapest) {
  config::pricing_config pricing;
  pricing.default_currency = "CNY";
  pricing.fx_rates_ppm["USD"] = 125000; // 1 CNY = 0.125 USD → 10 USD = 80 CNY
  domain::search_query q;
  q.city = "SHA";
  q.check_in = today + 1;
  q.check_out = today + 3;
  q.rooms = {{2, {}}};
  q.currency = "CNY";
  q.max_results = 50;
  auto j = encode_search(sample_result(), q, 800, "t-1", pricing);
  CAF_CHECK_EQUAL(j["search_id"], "s-1");
  CAF_CHECK_EQUAL(j["trace_id"], "t-1");
  CAF_CHECK_EQUAL(j["cache"], "hit");
  CAF_REQUIRE_EQUAL(j["results"].size(), 2u);
  // Beta: 10 USD = 80.00 CNY net, +8% = 86.40; cheaper than Alpha's 1080.00.
  CAF_CHECK_EQUAL(j["results"][0]["hotel_id"], "H-2");
  CAF_CHECK_EQUAL(j["results"][0]["cheapest"], json({{"amount", "86.40"}, {"currency", "CNY"}}));
  auto& rb = j["results"][0]["rates"][0];
  CAF_CHECK_EQUAL(rb["net"]["amount"], "80.00");
  CAF_CHECK_EQUAL(rb["rate_type"], "recheck");
  CAF_CHECK_EQUAL(rb["refundable"], false);
  auto& ra = j["results"][1]["rates"][0];
  CAF_CHECK_EQUAL(ra["price"], json({{"amount", "1080.00"}, {"currency", "CNY"}}));
  CAF_CHECK_EQUAL(ra["net"]["amount"], "1000.00");
  CAF_CHECK_EQUAL(ra["supplier"], "hotelbeds");
  CAF_CHECK_EQUAL(ra["board"], "BB");
  CAF_CHECK_EQUAL(ra["rate_type"], "bookable");
  CAF_CHECK_EQUAL(ra["cancellation_policies"][0]["from"], "2026-01-01T00:00:00.000Z");
  CAF_CHECK_EQUAL(ra["cancellation_policies"][0]["penalty"]["amount"], "540.00");
  CAF_CHECK_EQUAL(j["suppliers"][0]["latency_ms"], 123);
  CAF_CHECK_EQUAL(j["suppliers"][1]["status"], "timeout");
  CAF_CHECK_EQUAL(j["suppliers"][1]["message"], "no answer");
  // The rate key carries the supplier's own net and currency and the stay.
  auto key = decode_rate_key(rb["rate_key"].get<std::string>());
  CAF_REQUIRE(key.has_value());
  CAF_CHECK_EQUAL(key->net_minor, 1000);
  CAF_CHECK_EQUAL(key->currency, "USD");
  CAF_CHECK_EQUAL(key->hotel_id, "H-2");
  CAF_CHECK_EQUAL(key->check_in, today + 1);
  // Truncation and another currency.
  auto j2 = encode_search(sample_result(), 0, "USD", 1, "t-2", pricing);
  CAF_REQUIRE_EQUAL(j2["results"].size(), 1u);
  CAF_CHECK_EQUAL(j2["results"][0]["cheapest"], json({{"amount", "10.00"}, {"currency", "USD"}}));
}

CAF_TEST(rate keys round trip and reject garbage) {
  rate_key k{"expedia", "EX-9",    "H-SHA-0003",           "K1",   "HB",
             today,     today + 2, {{2, {4, 7}}, {1, {}}}, 123456, "CNY"};
  auto text = encode_rate_key(k);
  CAF_CHECK(text.find_first_of("+/=") == std::string::npos);
  auto back = decode_rate_key(text);
  CAF_REQUIRE(back.has_value());
  CAF_CHECK(*back == k);
  CAF_CHECK(!decode_rate_key("").has_value());
  CAF_CHECK(!decode_rate_key("not*base64").has_value());
  CAF_CHECK(!decode_rate_key(base64url_encode("{\"s\":1}")).has_value());
  CAF_CHECK(!decode_rate_key(base64url_encode("[]")).has_value());
  CAF_CHECK_EQUAL(base64url_encode("ab?"), "YWI_");
  CAF_CHECK_EQUAL(base64url_decode("YWI_").value_or(""), "ab?");
  CAF_CHECK_EQUAL(base64url_decode("YQ").value_or(""), "a");
}

CAF_TEST(traceparent parsing) {
  auto tp = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CAF_REQUIRE(tp.has_value());
  CAF_CHECK_EQUAL(tp->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  CAF_CHECK_EQUAL(tp->parent_id, "00f067aa0ba902b7");
  CAF_CHECK_EQUAL(tp->flags, 1);
  CAF_CHECK(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  // Invalid forms.
  CAF_CHECK(!parse_traceparent(""));
  CAF_CHECK(!parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CAF_CHECK(!parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  CAF_CHECK(!parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  CAF_CHECK(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  CAF_CHECK(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));
  CAF_CHECK(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"));
  CAF_CHECK(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"));
  CAF_CHECK(!parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));
  CAF_CHECK(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx"));
  CAF_CHECK_EQUAL(format_traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),
                  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

CAF_TEST(error bodies and trace trees) {
  auto e = error_body(ec::invalid_request, "bad", "rooms[0].adults", "t");
  CAF_CHECK_EQUAL(e["error"]["code"], "invalid_request");
  CAF_CHECK_EQUAL(e["error"]["field"], "rooms[0].adults");
  CAF_CHECK_EQUAL(e["error"]["trace_id"], "t");
  CAF_CHECK(!error_body(ec::not_found, "x", "", "t")["error"].contains("field"));
  std::vector<span_record> spans(3);
  spans[0].span_id = "a";
  spans[0].started_us = 1000;
  spans[0].duration_us = 1500;
  spans[0].request_data = R"({"method":"POST"})";
  spans[1].span_id = "b";
  spans[1].parent_span_id = "a";
  spans[1].started_us = 2000;
  spans[2].span_id = "c";
  spans[2].parent_span_id = "missing"; // orphan → root
  spans[2].started_us = 3000;
  auto t = encode_trace_tree("tid", spans);
  CAF_CHECK_EQUAL(t["span_count"], 3);
  CAF_REQUIRE_EQUAL(t["spans"].size(), 2u);
  CAF_CHECK_EQUAL(t["spans"][0]["span_id"], "a");
  CAF_CHECK_EQUAL(t["spans"][0]["duration_ms"], 1.5);
  CAF_CHECK_EQUAL(t["spans"][0]["request_data"]["method"], "POST");
  CAF_CHECK_EQUAL(t["spans"][0]["children"][0]["span_id"], "b");
  CAF_CHECK_EQUAL(t["spans"][1]["span_id"], "c");
  CAF_CHECK_EQUAL(t["spans"][0]["started_at"], "1970-01-01T00:00:00.001Z");
}

CAF_TEST(the hand - written answer escapes strings and parses as JSON) {
  search_result r;
  r.search_id = "0123456789abcdef";
  merged_hotel h;
  h.hotel_id = "H-SHA-0001";
  h.hotel_name = "The \"Bund\" Hotel\n\\ 外滩 \x01";
  h.rates.push_back(supplier_rate{
      "hotelbeds", "10007", "STD", "Room \"A\"", "RO", 12345, "CNY", true, true, {{1000, 500}}});
  r.hotels.push_back(h);
  r.suppliers.push_back({"hotelbeds", "ok", 1500, 1, "line\nbreak"});
  domain::search_query q;
  q.currency = "CNY";
  q.max_results = 10;
  q.rooms = {{2, {5}}};
  config::pricing_config pricing;
  auto text = assemble_search(r.search_id, std::string(32, 'a'), true,
                              encode_search_fragment(r, q, 0, pricing));
  auto j = nlohmann::json::parse(text, nullptr, false);
  CAF_REQUIRE(!j.is_discarded());
  CAF_CHECK_EQUAL(j["results"][0]["hotel_name"].get<std::string>(), h.hotel_name);
  CAF_CHECK_EQUAL(j["results"][0]["rates"][0]["room_name"].get<std::string>(), "Room \"A\"");
  CAF_CHECK_EQUAL(j["suppliers"][0]["message"].get<std::string>(), "line\nbreak");
  CAF_CHECK_EQUAL(j["suppliers"][0]["latency_ms"].get<int>(), 2);
  CAF_CHECK_EQUAL(j["cache"].get<std::string>(), "hit");
  auto key = decode_rate_key(j["results"][0]["rates"][0]["rate_key"].get<std::string>());
  CAF_REQUIRE(key.has_value());
  CAF_CHECK_EQUAL(key->net_minor, 12345);
  CAF_REQUIRE_EQUAL(key->rooms.size(), 1u);
  CAF_CHECK_EQUAL(key->rooms[0].children_ages.size(), 1u);
}
