// SEARCH: one actor per price query. Local cache → Redis cache → parallel
// fan-out to every enabled supplier connection with the supplier deadline →
// merge by platform hotel → sort → reply → cache write → quit.
#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/factories.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "protocols/cache_codec.hpp"
#include "protocols/errors.hpp"

namespace bedbank {

namespace {

/// How long a search waits for Redis before treating it as a miss.
constexpr std::chrono::milliseconds redis_lookup_timeout{150};

struct search_state {
  static inline const char* name = "search";
  std::shared_ptr<const node_env> env;
  search_request req;
  std::string span_id;
  int64_t started_us = 0;
  std::string cache_key;
  caf::typed_response_promise<search_result> promise;
  std::vector<supplier_outcome> outcomes;
  std::vector<supplier_rate> rates;
  size_t pending = 0;
};

using search_pointer = search_actor::stateful_pointer<search_state>;

std::string redis_key(const std::string& canonical) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "bedbank:search:v%d:%016llx%016llx", cache_format_version,
                static_cast<unsigned long long>(domain::stable_hash(canonical, 1)),
                static_cast<unsigned long long>(domain::stable_hash(canonical, 2)));
  return buf;
}

void record(search_pointer self, const std::string& event_type, const std::string& span_id,
            const std::string& parent, int64_t started_us, const std::string& status,
            nlohmann::json request, nlohmann::json response, std::string detail = {}) {
  auto& st = self->state;
  span_record s;
  s.trace_id = st.req.trace.trace_id;
  s.span_id = span_id;
  s.parent_span_id = parent;
  s.event_type = event_type;
  s.service = "query_engine";
  s.request_data = request.dump();
  s.response_data = response.dump();
  s.started_us = started_us;
  s.duration_us = domain::now_us() - started_us;
  s.status = status;
  s.error_detail = std::move(detail);
  s.agent_id = st.req.trace.agent_id;
  s.node = st.env->node_id;
  record_span(*st.env, std::move(s));
}

nlohmann::json describe_query(const domain::search_query& q) {
  nlohmann::json j{{"check_in", domain::format_date(q.check_in)},
                   {"check_out", domain::format_date(q.check_out)},
                   {"rooms", q.rooms.size()}};
  if (!q.city.empty())
    j["city"] = q.city;
  else
    j["hotel_ids"] = q.hotel_ids;
  return j;
}

void record_hotels(search_pointer self, const search_result& result) {
  auto& st = self->state;
  for (auto& s : hotel_spans(st.req.query, result, st.req.trace.trace_id, st.span_id,
                             st.req.trace.agent_id, st.env->node_id, result.cache_hit))
    record_span(*st.env, std::move(s));
}

/// Answers the agent and ends the search span; the actor then quits.
void finish(search_pointer self, search_result result, const std::string& source) {
  auto& st = self->state;
  result.search_id = st.span_id;
  record_hotels(self, result);
  record(self, "search", st.span_id, st.req.trace.parent_span_id, st.started_us, "success",
         describe_query(st.req.query),
         {{"cache", result.cache_hit ? "hit" : "miss"},
          {"source", source},
          {"hotels", result.hotels.size()},
          {"suppliers", result.suppliers.size()}});
  st.promise.deliver(std::move(result));
  self->quit();
}

void answer_from_cache(search_pointer self, const search_result& cached, const char* layer,
                       int64_t lookup_started_us) {
  auto& st = self->state;
  record(self, "cache_hit", domain::new_span_id(), st.span_id, lookup_started_us, "success",
         {{"layer", layer}}, {{"hotels", cached.hotels.size()}});
  search_result r = cached;
  r.cache_hit = true;
  finish(self, std::move(r), layer);
}

/// Groups rates by platform hotel, cheapest first; hotels by their cheapest rate.
search_result merge(const node_env& env, std::vector<supplier_rate> rates,
                    std::vector<supplier_outcome> outcomes) {
  std::unordered_map<std::string, size_t> index;
  search_result r;
  for (auto& x : rates) {
    const auto* h = env.catalog->by_supplier_code(x.supplier, x.hotel_code);
    if (h == nullptr)
      continue; // unmapped supplier hotel: not sellable yet
    auto [it, fresh] = index.emplace(h->hotel_id, r.hotels.size());
    if (fresh)
      r.hotels.push_back(merged_hotel{h->hotel_id, h->name, 0, {}});
    r.hotels[it->second].rates.push_back(std::move(x));
  }
  std::unordered_map<std::string, int> priorities;
  for (const auto& sc : env.cfg->suppliers)
    priorities.emplace(sc.code, sc.priority);
  auto priority = [&](const std::string& code) {
    auto i = priorities.find(code);
    return i == priorities.end() ? 0 : i->second;
  };
  for (auto& h : r.hotels) {
    std::sort(h.rates.begin(), h.rates.end(), [&](const supplier_rate& a, const supplier_rate& b) {
      if (a.net_minor != b.net_minor)
        return a.net_minor < b.net_minor;
      auto pa = priority(a.supplier), pb = priority(b.supplier);
      if (pa != pb)
        return pa > pb;
      return std::tie(a.supplier, a.room_code, a.board) <
             std::tie(b.supplier, b.room_code, b.board);
    });
    h.cheapest_net_minor = h.rates.front().net_minor;
  }
  std::sort(r.hotels.begin(), r.hotels.end(), [](const merged_hotel& a, const merged_hotel& b) {
    return std::tie(a.cheapest_net_minor, a.hotel_id) < std::tie(b.cheapest_net_minor, b.hotel_id);
  });
  std::sort(outcomes.begin(), outcomes.end(),
            [](const supplier_outcome& a, const supplier_outcome& b) { return a.code < b.code; });
  r.suppliers = std::move(outcomes);
  return r;
}

void complete_fan_out(search_pointer self) {
  auto& st = self->state;
  auto result = merge(*st.env, std::move(st.rates), std::move(st.outcomes));
  bool complete = std::all_of(result.suppliers.begin(), result.suppliers.end(),
                              [](const supplier_outcome& o) { return o.status == "ok"; });
  const auto& pricing = st.env->cfg->pricing;
  std::shared_ptr<const search_result> cached;
  if (complete && pricing.cache_enabled) {
    // Only complete answers are cached: a failed supplier must not stay
    // missing from results for the whole TTL.
    result.cache_token = domain::random_token();
    cached = std::make_shared<const search_result>(result);
    st.env->cache->put(st.cache_key, cached);
  }
  auto env = st.env;
  auto key = st.cache_key;
  finish(self, std::move(result), "suppliers");
  // The Redis copy is serialised after the agent has its answer, off the critical path.
  if (cached)
    if (auto cache = env->actors->cache())
      self->send(cache, put_atom::value, redis_key(key), encode_cached_result(*cached),
                 static_cast<int64_t>(pricing.cache_ttl.count()));
}

/// The supplier codes of `sup` for the query's hotels.
std::vector<std::string> hotel_codes_for(const node_env& env, const std::string& sup,
                                         const domain::search_query& q) {
  std::vector<std::string> codes;
  if (!q.city.empty()) {
    for (const auto* h : env.catalog->in_city(q.city))
      if (auto c = env.catalog->supplier_code(sup, h->hotel_id))
        codes.push_back(*c);
  } else {
    for (const auto& id : q.hotel_ids)
      if (auto c = env.catalog->supplier_code(sup, id))
        codes.push_back(*c);
  }
  return codes;
}

void fan_out(search_pointer self) {
  auto& st = self->state;
  const auto& q = st.req.query;
  auto timeout = st.env->cfg->pricing.supplier_timeout;
  for (const auto& sc : st.env->cfg->suppliers) {
    if (!sc.enabled)
      continue;
    auto codes = hotel_codes_for(*st.env, sc.code, q);
    if (codes.empty()) {
      st.outcomes.push_back({sc.code, "ok", 0, 0, "sells none of the requested hotels"});
      continue;
    }
    auto conn = st.env->actors->supplier(sc.code);
    if (!conn) {
      st.outcomes.push_back({sc.code, "error", 0, 0, "supplier connection is restarting"});
      continue;
    }
    rates_request rr{std::move(codes), q.check_in, q.check_out, q.rooms,
                     trace_context{st.req.trace.trace_id, st.span_id, st.req.trace.agent_id}};
    auto t0 = domain::now_us();
    auto code = sc.code;
    ++st.pending;
    self->request(conn, timeout, search_rates_atom::value, std::move(rr))
        .then(
            [=](rates_reply& reply) {
              auto& st = self->state;
              st.outcomes.push_back({code, "ok", domain::now_us() - t0,
                                     static_cast<int32_t>(reply.rates.size()), ""});
              for (auto& r : reply.rates)
                st.rates.push_back(std::move(r));
              if (--st.pending == 0)
                complete_fan_out(self);
            },
            [=](caf::error& err) {
              auto& st = self->state;
              std::string status;
              switch (code_of(err)) {
              case ec::supplier_timeout:
                status = "timeout";
                break;
              case ec::circuit_open:
                status = "circuit_open";
                break;
              default:
                status = "error";
              }
              auto msg = message_of(err);
              if (msg.empty())
                msg = status == "timeout"
                          ? "no answer within " + std::to_string(timeout.count()) + " ms"
                          : self->system().render(err);
              st.outcomes.push_back({code, status, domain::now_us() - t0, 0, std::move(msg)});
              if (--st.pending == 0)
                complete_fan_out(self);
            });
  }
  if (st.pending == 0)
    complete_fan_out(self);
}

search_actor::behavior_type search(search_pointer self, std::shared_ptr<const node_env> env) {
  self->state.env = std::move(env);
  return {
      [=](search_atom, search_request& req) -> caf::result<search_result> {
        auto& st = self->state;
        st.req = std::move(req);
        if (st.req.trace.trace_id.empty())
          st.req.trace.trace_id = domain::new_trace_id();
        st.span_id = domain::new_span_id();
        st.started_us = domain::now_us();
        st.promise = self->make_response_promise<search_result>();
        st.cache_key = domain::canonical_key(st.req.query);
        if (!st.env->cfg->pricing.cache_enabled) {
          fan_out(self);
          return st.promise;
        }
        auto lookup_started = domain::now_us();
        if (auto hit = st.env->cache->get(st.cache_key)) {
          answer_from_cache(self, *hit, "local", lookup_started);
          return st.promise;
        }
        auto cache = st.env->actors->cache();
        if (!cache) {
          fan_out(self);
          return st.promise;
        }
        self->request(cache, redis_lookup_timeout, get_atom::value, redis_key(st.cache_key))
            .then(
                [=](cache_value& v) {
                  auto& st = self->state;
                  if (v.found) {
                    if (auto decoded = decode_cached_result(v.data)) {
                      decoded->cache_token = domain::random_token();
                      st.env->cache->put(st.cache_key,
                                         std::make_shared<const search_result>(*decoded));
                      answer_from_cache(self, *decoded, "redis", lookup_started);
                      return;
                    }
                  }
                  fan_out(self);
                },
                [=](caf::error&) { fan_out(self); });
        return st.promise;
      },
  };
}

} // namespace

/// Spawns one search actor (used by the query engine).
search_actor spawn_search(caf::actor_system& sys, std::shared_ptr<const node_env> env) {
  return sys.spawn(search, std::move(env));
}

std::vector<span_record> hotel_spans(const domain::search_query& q, const search_result& result,
                                     const std::string& trace_id, const std::string& parent_span_id,
                                     const std::string& agent_id, const std::string& node,
                                     bool cache_hit) {
  std::vector<span_record> out;
  if (q.hotel_ids.empty())
    return out;
  std::unordered_map<std::string, const merged_hotel*> found;
  for (const auto& h : result.hotels)
    found.emplace(h.hotel_id, &h);
  auto now = domain::now_us();
  for (const auto& id : q.hotel_ids) {
    nlohmann::json response{{"rates", 0}, {"cache", cache_hit ? "hit" : "miss"}};
    if (auto it = found.find(id); it != found.end()) {
      std::set<std::string> suppliers;
      for (const auto& r : it->second->rates)
        suppliers.insert(r.supplier);
      response["rates"] = it->second->rates.size();
      response["cheapest_net_minor"] = it->second->cheapest_net_minor;
      response["suppliers"] = suppliers;
    }
    span_record s;
    s.trace_id = trace_id;
    s.span_id = domain::new_span_id();
    s.parent_span_id = parent_span_id;
    s.event_type = "hotel_rates";
    s.service = "query_engine";
    s.related_type = "hotel";
    s.related_id = id;
    s.request_data = nlohmann::json{{"hotel_id", id}}.dump();
    s.response_data = response.dump();
    s.started_us = now;
    s.status = "success";
    s.agent_id = agent_id;
    s.node = node;
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace bedbank
