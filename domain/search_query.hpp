// The price query an agent sends, and the rules that make it valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/dates.hpp"

namespace bedbank::domain {

/// Limits of a search (api.md, POST /api/search).
inline constexpr int max_nights = 30;
inline constexpr int max_rooms = 8;
inline constexpr int max_adults_per_room = 8;
inline constexpr int max_children_per_room = 6;
inline constexpr int max_child_age = 17;
inline constexpr int max_hotel_ids = 100;
inline constexpr int max_search_results = 200;
inline constexpr int default_search_results = 50;
/// How far ahead a stay may start (days).
inline constexpr int max_days_ahead = 550;

/// One room's occupants.
struct room_occupancy {
  int adults = 0;
  std::vector<int> children_ages;

  friend bool operator==(const room_occupancy&, const room_occupancy&) = default;
};

/// A validated price query.
struct search_query {
  std::string city;                   ///< city code, or empty when hotel_ids is used
  std::vector<std::string> hotel_ids; ///< platform hotel ids, or empty when city is used
  day check_in = 0;
  day check_out = 0;
  std::vector<room_occupancy> rooms;
  std::string currency; ///< ISO 4217
  int max_results = default_search_results;

  int nights() const { return check_out - check_in; }
};

/// A rule a request broke: the JSON path of the field and a sentence for a person.
struct field_error {
  std::string field;
  std::string message;
};

/// Checks the business rules of a decoded query against `today`; the first
/// broken rule is returned. Field names are JSON paths such as `rooms[1].adults`.
std::optional<field_error> validate(const search_query& q, day today);

/// A canonical text of the query's price-relevant parts (what a cache keys on).
/// Two queries that must get the same prices give the same text.
std::string canonical_key(const search_query& q);

} // namespace bedbank::domain
