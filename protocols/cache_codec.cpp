// JSON form of cached search results.
#include "protocols/cache_codec.hpp"

#include <nlohmann/json.hpp>

namespace bedbank {

using nlohmann::json;

std::string encode_cached_result(const search_result& r) {
  json hotels = json::array();
  for (const auto& h : r.hotels) {
    json rates = json::array();
    for (const auto& x : h.rates) {
      json pol = json::array();
      for (const auto& p : x.policies)
        pol.push_back({p.from_us, p.penalty_minor});
      rates.push_back({{"s", x.supplier},
                       {"h", x.hotel_code},
                       {"rc", x.room_code},
                       {"rn", x.room_name},
                       {"b", x.board},
                       {"n", x.net_minor},
                       {"c", x.currency},
                       {"rf", x.refundable},
                       {"bk", x.bookable},
                       {"p", std::move(pol)}});
    }
    hotels.push_back({{"id", h.hotel_id},
                      {"name", h.hotel_name},
                      {"min", h.cheapest_net_minor},
                      {"rates", std::move(rates)}});
  }
  json sups = json::array();
  for (const auto& s : r.suppliers)
    sups.push_back({{"code", s.code},
                    {"status", s.status},
                    {"lat", s.latency_us},
                    {"rates", s.rates},
                    {"msg", s.message}});
  json doc{
      {"v", cache_format_version}, {"hotels", std::move(hotels)}, {"suppliers", std::move(sups)}};
  return doc.dump();
}

std::optional<search_result> decode_cached_result(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("v", 0) != cache_format_version)
    return std::nullopt;
  try {
    search_result r;
    for (const auto& h : doc.at("hotels")) {
      merged_hotel m;
      m.hotel_id = h.at("id").get<std::string>();
      m.hotel_name = h.at("name").get<std::string>();
      m.cheapest_net_minor = h.at("min").get<int64_t>();
      for (const auto& x : h.at("rates")) {
        supplier_rate s;
        s.supplier = x.at("s").get<std::string>();
        s.hotel_code = x.at("h").get<std::string>();
        s.room_code = x.at("rc").get<std::string>();
        s.room_name = x.at("rn").get<std::string>();
        s.board = x.at("b").get<std::string>();
        s.net_minor = x.at("n").get<int64_t>();
        s.currency = x.at("c").get<std::string>();
        s.refundable = x.at("rf").get<bool>();
        s.bookable = x.at("bk").get<bool>();
        for (const auto& p : x.at("p"))
          s.policies.push_back({p.at(0).get<int64_t>(), p.at(1).get<int64_t>()});
        m.rates.push_back(std::move(s));
      }
      r.hotels.push_back(std::move(m));
    }
    for (const auto& s : doc.at("suppliers"))
      r.suppliers.push_back({s.at("code").get<std::string>(), s.at("status").get<std::string>(),
                             s.at("lat").get<int64_t>(), s.at("rates").get<int32_t>(),
                             s.at("msg").get<std::string>()});
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

} // namespace bedbank
