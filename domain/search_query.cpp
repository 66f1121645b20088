// Validation and normalisation of price queries.
#include "domain/search_query.hpp"

#include <algorithm>

#include "domain/money.hpp"

namespace bedbank::domain {

std::optional<field_error> validate(const search_query& q, day today) {
  bool has_city = !q.city.empty();
  bool has_ids = !q.hotel_ids.empty();
  if (has_city == has_ids)
    return field_error{has_city ? "hotel_ids" : "city", "give exactly one of city or hotel_ids"};
  if (has_city && (q.city.size() < 2 || q.city.size() > 8 ||
                   !std::all_of(q.city.begin(), q.city.end(), [](char c) {
                     return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                   })))
    return field_error{"city", "city must be an upper-case city code of 2 to 8 letters, e.g. SHA"};
  if (static_cast<int>(q.hotel_ids.size()) > max_hotel_ids)
    return field_error{"hotel_ids", "at most " + std::to_string(max_hotel_ids) + " hotel ids"};
  for (size_t i = 0; i < q.hotel_ids.size(); ++i)
    if (q.hotel_ids[i].empty() || q.hotel_ids[i].size() > 64)
      return field_error{"hotel_ids[" + std::to_string(i) + "]",
                         "a hotel id is 1 to 64 characters"};
  if (q.check_in < today)
    return field_error{"check_in", "check_in must not be in the past"};
  if (q.check_in > today + max_days_ahead)
    return field_error{"check_in", "check_in must be within " + std::to_string(max_days_ahead) +
                                       " days from today"};
  if (q.check_out <= q.check_in)
    return field_error{"check_out", "check_out must be after check_in"};
  if (q.nights() > max_nights)
    return field_error{"check_out", "a stay is at most " + std::to_string(max_nights) + " nights"};
  if (q.rooms.empty() || static_cast<int>(q.rooms.size()) > max_rooms)
    return field_error{"rooms", "between 1 and " + std::to_string(max_rooms) + " rooms"};
  for (size_t i = 0; i < q.rooms.size(); ++i) {
    auto path = "rooms[" + std::to_string(i) + "]";
    const auto& r = q.rooms[i];
    if (r.adults < 1 || r.adults > max_adults_per_room)
      return field_error{path + ".adults", "between 1 and " + std::to_string(max_adults_per_room) +
                                               " adults per room"};
    if (static_cast<int>(r.children_ages.size()) > max_children_per_room)
      return field_error{path + ".children_ages",
                         "at most " + std::to_string(max_children_per_room) + " children per room"};
    for (size_t j = 0; j < r.children_ages.size(); ++j)
      if (r.children_ages[j] < 0 || r.children_ages[j] > max_child_age)
        return field_error{path + ".children_ages[" + std::to_string(j) + "]",
                           "a child's age is between 0 and " + std::to_string(max_child_age)};
  }
  if (!known_currency(q.currency))
    return field_error{"currency", "unknown currency code '" + q.currency + "'"};
  if (q.max_results < 1 || q.max_results > max_search_results)
    return field_error{"max_results",
                       "max_results is between 1 and " + std::to_string(max_search_results)};
  return std::nullopt;
}

std::string canonical_key(const search_query& q) {
  std::string k;
  k.reserve(128);
  if (!q.city.empty()) {
    k += "c:";
    k += q.city;
  } else {
    auto ids = q.hotel_ids;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    k += "h:";
    for (const auto& id : ids) {
      k += id;
      k += ',';
    }
  }
  k += '|';
  k += std::to_string(q.check_in);
  k += '|';
  k += std::to_string(q.check_out);
  // Rooms are an unordered multiset: sort them so [A,B] and [B,A] share a key.
  std::vector<std::string> rooms;
  for (const auto& r : q.rooms) {
    auto ages = r.children_ages;
    std::sort(ages.begin(), ages.end());
    std::string s = std::to_string(r.adults);
    for (int a : ages)
      s += "-" + std::to_string(a);
    rooms.push_back(std::move(s));
  }
  std::sort(rooms.begin(), rooms.end());
  for (const auto& r : rooms) {
    k += '|';
    k += r;
  }
  return k;
}

} // namespace bedbank::domain
