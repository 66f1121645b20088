// Demo catalog generation and the supplier code mapping table.
#include "domain/catalog.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace bedbank::domain {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t stable_hash(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return mix64(h);
}

namespace {

struct city_info {
  const char* code;
  const char* name;
  double lat;
  double lon;
  std::array<const char*, 4> streets;
};

const std::array<city_info, 6> demo_cities{{
    {"SHA",
     "Shanghai",
     31.2304,
     121.4737,
     {"Nanjing Road", "Huaihai Road", "Century Avenue", "The Bund"}},
    {"PEK",
     "Beijing",
     39.9042,
     116.4074,
     {"Wangfujing Street", "Chang'an Avenue", "Sanlitun Road", "Jianguo Road"}},
    {"CAN",
     "Guangzhou",
     23.1291,
     113.2644,
     {"Tianhe Road", "Huanshi Road", "Beijing Road", "Zhujiang New Town"}},
    {"SZX",
     "Shenzhen",
     22.5431,
     114.0579,
     {"Shennan Road", "Futian Road", "Nanshan Avenue", "Luohu Road"}},
    {"HGH",
     "Hangzhou",
     30.2741,
     120.1551,
     {"West Lake Road", "Yan'an Road", "Wulin Square", "Qingchun Road"}},
    {"CTU",
     "Chengdu",
     30.5728,
     104.0668,
     {"Chunxi Road", "Tianfu Square", "Renmin Road", "Jinli Street"}},
}};

const std::array<const char*, 12> brands{"Grand",   "Garden",   "Riverside", "Imperial",
                                         "Harbour", "Lotus",    "Jade",      "Pearl",
                                         "Skyline", "Heritage", "Bamboo",    "Silk Road"};
const std::array<const char*, 6> kinds{"Hotel", "Suites",      "Resort",
                                       "Inn",   "Plaza Hotel", "Residences"};

std::string supplier_style_code(std::string_view supplier, size_t index, uint64_t h) {
  char buf[48];
  if (supplier == "hotelbeds") // APItude: plain integers
    std::snprintf(buf, sizeof buf, "%zu", 10000 + index * 7 + (h % 7));
  else if (supplier == "expedia") // Rapid: property ids as digit strings
    std::snprintf(buf, sizeof buf, "%llu", 2000000ULL + index * 13 + (h % 13));
  else
    std::snprintf(buf, sizeof buf, "%.6s-%05zu", std::string(supplier).c_str(), index + 1);
  return buf;
}

} // namespace

std::vector<hotel> demo_hotels(int per_city) {
  std::vector<hotel> out;
  out.reserve(demo_cities.size() * static_cast<size_t>(per_city));
  for (const auto& c : demo_cities) {
    for (int i = 0; i < per_city; ++i) {
      char id[32];
      std::snprintf(id, sizeof id, "H-%s-%04d", c.code, i + 1);
      uint64_t h = stable_hash(id);
      hotel x;
      x.hotel_id = id;
      x.name = std::string(c.name) + " " + brands[h % brands.size()] + " " +
               kinds[(h >> 8) % kinds.size()] + " " + std::to_string(i + 1);
      x.city = c.code;
      x.address =
          std::to_string(1 + (h >> 16) % 899) + " " + c.streets[(h >> 24) % 4] + ", " + c.name;
      x.stars = 2 + static_cast<int>((h >> 32) % 4);
      x.lat = c.lat + (static_cast<double>((h >> 40) % 2001) - 1000.0) / 20000.0;
      x.lon = c.lon + (static_cast<double>((h >> 50) % 2001) - 1000.0) / 20000.0;
      out.push_back(std::move(x));
    }
  }
  return out;
}

namespace {

std::vector<std::pair<std::string, int>> with_coverage(const std::vector<std::string>& codes,
                                                       int coverage_percent) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& c : codes)
    out.emplace_back(c, coverage_percent);
  return out;
}

} // namespace

catalog::catalog(std::vector<hotel> hotels, const std::vector<std::string>& suppliers,
                 int coverage_percent)
    : catalog(std::move(hotels), with_coverage(suppliers, coverage_percent)) {}

catalog::catalog(std::vector<hotel> hotels,
                 const std::vector<std::pair<std::string, int>>& suppliers)
    : hotels_(std::move(hotels)) {
  for (size_t i = 0; i < hotels_.size(); ++i)
    by_id_.emplace(hotels_[i].hotel_id, i);
  for (const auto& [s, coverage_percent] : suppliers) {
    auto& to = to_supplier_[s];
    auto& from = from_supplier_[s];
    for (size_t i = 0; i < hotels_.size(); ++i) {
      uint64_t h = stable_hash(hotels_[i].hotel_id, stable_hash(s));
      if (static_cast<int>(h % 100) >= coverage_percent)
        continue;
      auto code = supplier_style_code(s, i, h);
      to.emplace(hotels_[i].hotel_id, code);
      from.emplace(code, i);
      sellers_[hotels_[i].hotel_id].push_back(s);
    }
  }
}

const hotel* catalog::find(std::string_view id) const {
  auto i = by_id_.find(std::string{id});
  return i == by_id_.end() ? nullptr : &hotels_[i->second];
}

std::vector<const hotel*> catalog::in_city(std::string_view city) const {
  std::vector<const hotel*> out;
  for (const auto& h : hotels_)
    if (h.city == city)
      out.push_back(&h);
  return out;
}

std::vector<std::string> catalog::cities() const {
  std::vector<std::string> out;
  for (const auto& h : hotels_)
    if (std::find(out.begin(), out.end(), h.city) == out.end())
      out.push_back(h.city);
  return out;
}

std::vector<std::string> catalog::suppliers_of(std::string_view id) const {
  auto i = sellers_.find(std::string{id});
  return i == sellers_.end() ? std::vector<std::string>{} : i->second;
}

std::optional<std::string> catalog::supplier_code(std::string_view s, std::string_view id) const {
  auto i = to_supplier_.find(std::string{s});
  if (i == to_supplier_.end())
    return std::nullopt;
  auto j = i->second.find(std::string{id});
  if (j == i->second.end())
    return std::nullopt;
  return j->second;
}

const hotel* catalog::by_supplier_code(std::string_view s, std::string_view code) const {
  auto i = from_supplier_.find(std::string{s});
  if (i == from_supplier_.end())
    return nullptr;
  auto j = i->second.find(std::string{code});
  return j == i->second.end() ? nullptr : &hotels_[j->second];
}

} // namespace bedbank::domain
