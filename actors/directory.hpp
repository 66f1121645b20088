// The node's directory: the current handle of each long-lived actor. The node
// supervisor writes a new handle after every restart; the gateway and other
// actors read it per use, so nobody keeps a dead handle.
#pragma once

#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>

#include "actors/actors.hpp"

namespace bedbank {

/// Thread-safe name → actor map for the node's long-lived actors.
class directory {
public:
  /// Well-known names.
  static constexpr const char* engine_name = "query_engine";
  static constexpr const char* journal_name = "journal";
  static constexpr const char* archiver_name = "archiver";
  static constexpr const char* cache_name = "price_cache";
  static constexpr const char* orders_name = "order_engine";
  static constexpr const char* relay_name = "outbox_relay";
  static constexpr const char* mock_ledger_name = "mock_ledger";
  /// Order stores are registered as "order_store:<i>", i in [0, orders.store_connections).
  static std::string order_store_name(int i) { return "order_store:" + std::to_string(i); }
  static std::string trace_reader_name(int i) { return "trace_reader:" + std::to_string(i); }
  /// Supplier connections are registered as "supplier:<code>".
  static std::string supplier_name(const std::string& code) { return "supplier:" + code; }

  /// Publishes (or replaces) the handle under `name`.
  void put(const std::string& name, caf::strong_actor_ptr handle) {
    std::unique_lock guard{mtx_};
    entries_[name] = std::move(handle);
  }

  /// Removes `name`.
  void erase(const std::string& name) {
    std::unique_lock guard{mtx_};
    entries_.erase(name);
  }

  /// The handle under `name` cast to `Handle`; a null handle when absent.
  template <class Handle> Handle get(const std::string& name) const {
    std::shared_lock guard{mtx_};
    auto i = entries_.find(name);
    return i == entries_.end() ? Handle{} : caf::actor_cast<Handle>(i->second);
  }

  query_engine_actor engine() const { return get<query_engine_actor>(engine_name); }
  journal_actor journal() const { return get<journal_actor>(journal_name); }
  /// One of the `count` trace readers, chosen by `key`.
  trace_reader_actor traces(uint64_t key, int count) const {
    return get<trace_reader_actor>(
        trace_reader_name(static_cast<int>(key % (count > 0 ? count : 1))));
  }
  archiver_actor archiver() const { return get<archiver_actor>(archiver_name); }
  price_cache_actor cache() const { return get<price_cache_actor>(cache_name); }
  order_engine_actor orders() const { return get<order_engine_actor>(orders_name); }
  outbox_relay_actor relay() const { return get<outbox_relay_actor>(relay_name); }
  mock_ledger_actor mock_ledger() const { return get<mock_ledger_actor>(mock_ledger_name); }
  supplier_conn_actor supplier(const std::string& code) const {
    return get<supplier_conn_actor>(supplier_name(code));
  }

  /// Every name currently registered.
  std::vector<std::string> names() const {
    std::shared_lock guard{mtx_};
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_)
      out.push_back(k);
    return out;
  }

private:
  mutable std::shared_mutex mtx_;
  std::map<std::string, caf::strong_actor_ptr> entries_;
};

} // namespace bedbank
