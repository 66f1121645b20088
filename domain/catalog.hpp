// The platform hotel catalog and the static table that maps each supplier's own
// hotel codes onto platform hotels (matching by name/address/geo comes later).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bedbank::domain {

/// A platform hotel: one real building, whoever sells it.
struct hotel {
  std::string hotel_id; ///< platform id, e.g. "H-SHA-0001"
  std::string name;
  std::string city; ///< city code, e.g. "SHA"
  std::string address;
  int stars = 3;
  double lat = 0;
  double lon = 0;
};

/// One supplier's code for one platform hotel.
struct supplier_hotel {
  std::string supplier;      ///< supplier code, e.g. "hotelbeds"
  std::string supplier_code; ///< the supplier's own hotel code
  std::string hotel_id;      ///< platform hotel id
};

/// splitmix64's finaliser: a well-mixed 64-bit value of `x`, the same on every build.
uint64_t mix64(uint64_t x);

/// Stable 64-bit hash (FNV-1a then mix64); the same on every build.
uint64_t stable_hash(std::string_view s, uint64_t seed = 0);

/// The demo catalog: `hotels_per_city` hotels in each of the demo cities
/// (SHA, PEK, CAN, SZX, HGH, CTU), the same on every run.
std::vector<hotel> demo_hotels(int hotels_per_city = 40);

/// Catalog plus mapping table, immutable after construction and safe to share.
class catalog {
public:
  /// Builds the mapping for `suppliers`: each sells a deterministic share
  /// (`coverage_percent`) of the hotels under codes in its own style.
  catalog(std::vector<hotel> hotels, const std::vector<std::string>& suppliers,
          int coverage_percent = 75);

  /// As above with a share per supplier: (code, coverage percent) pairs.
  catalog(std::vector<hotel> hotels, const std::vector<std::pair<std::string, int>>& suppliers);

  const std::vector<hotel>& hotels() const { return hotels_; }
  const hotel* find(std::string_view hotel_id) const;
  /// Hotels of a city in catalog order.
  std::vector<const hotel*> in_city(std::string_view city) const;
  /// City codes known to the catalog.
  std::vector<std::string> cities() const;
  /// Supplier codes that sell `hotel_id`.
  std::vector<std::string> suppliers_of(std::string_view hotel_id) const;
  /// The supplier's code for a platform hotel, if it sells it.
  std::optional<std::string> supplier_code(std::string_view supplier,
                                           std::string_view hotel_id) const;
  /// The platform hotel for a supplier's code, if mapped.
  const hotel* by_supplier_code(std::string_view supplier, std::string_view code) const;

private:
  std::vector<hotel> hotels_;
  std::unordered_map<std::string, size_t> by_id_;
  // supplier -> (platform id -> supplier code) and (supplier code -> index)
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> to_supplier_;
  std::unordered_map<std::string, std::unordered_map<std::string, size_t>> from_supplier_;
  std::unordered_map<std::string, std::vector<std::string>> sellers_;
};

} // namespace bedbank::domain
