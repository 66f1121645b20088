// The agent API routes and everything around a request: trace context, auth,
// rate limits, error bodies, spans and metrics.
#include "gateway/router.hpp"

#include <algorithm>
#include <cctype>

#include <caf/actor_system.hpp>

#include "actors/factories.hpp"
#include "domain/catalog.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "gateway/errors.hpp"
#include "gateway/router_detail.hpp"
#include "protocols/agent_json.hpp"

namespace bedbank::gateway {

using nlohmann::json;

namespace {

constexpr std::string_view api_prefix = "/api/";
constexpr std::string_view traces_prefix = "/api/traces/";
constexpr std::string_view orders_prefix = "/api/orders/";
constexpr std::string_view json_media_type = "application/json";
/// Longest query parameter value the hotels route looks at.
constexpr size_t max_param_chars = 256;

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string encode_cursor(size_t offset) {
  return agent_json::base64url_encode("o:" + std::to_string(offset));
}

std::optional<size_t> decode_cursor(std::string_view text) {
  auto raw = agent_json::base64url_decode(text);
  if (!raw || raw->size() < 3 || raw->size() > 12 || raw->substr(0, 2) != "o:")
    return std::nullopt;
  size_t v = 0;
  for (char c : raw->substr(2)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

} // namespace

// -- helpers shared with admin_routes.cpp ------------------------------------------

exchange::exchange(std::shared_ptr<router> r, port_kind p, http_request request, reply_fn rep)
    : owner(std::move(r)), port(p), req(std::move(request)), reply(std::move(rep)) {
  owner->pending_.fetch_add(1);
}

exchange::~exchange() {
  if (!done.load())
    fail(*this, ec::overloaded, "the request was abandoned before it was answered; retry");
  owner->pending_.fetch_sub(1);
}

void answer_spliced(exchange& x, unsigned status, std::string head,
                    std::shared_ptr<const std::string> fragment, std::string tail) {
  http_response res;
  res.status = status;
  res.body = std::move(head);
  res.shared_body = std::move(fragment);
  res.body_tail = std::move(tail);
  x.owner->finish(x, std::move(res));
}

void answer(exchange& x, unsigned status, const json& body) {
  http_response res;
  res.status = status;
  res.body = body.dump();
  x.owner->finish(x, std::move(res));
}

void fail(exchange& x, ec code, const std::string& message, const std::string& field) {
  http_response res;
  res.status = http_status(code);
  res.error_code = to_string(code);
  res.body = agent_json::error_body(code, message, field, x.trace_id).dump();
  if (x.req.read_error)
    res.close = true;
  x.owner->finish(x, std::move(res));
}

void fail_call(exchange& x, const caf::error& err, const char* what) {
  auto code = code_of(err);
  auto msg = message_of(err);
  if (code == ec::none)
    code = ec::internal;
  if (is_receiver_gone(err) && code != ec::node_unavailable) {
    code = ec::node_unavailable;
    msg = std::string{"the node running the "} + what + " went down; retry shortly";
  }
  if (msg.empty()) {
    if (code == ec::supplier_timeout)
      msg = std::string{"the "} + what + " did not answer in time";
    else if (code == ec::supplier_unavailable)
      msg = std::string{"the "} + what + " is not available; retry shortly";
    else
      msg = std::string{"the "} + what + " failed";
  }
  fail(x, code, msg);
}

void method_not_allowed(exchange& x, const char* allow) {
  x.headers.emplace_back("Allow", allow);
  fail(x, ec::method_not_allowed,
       "method " + x.req.method + " is not allowed on " + x.path + "; use " + allow);
}

bool reject_media_type(exchange& x) {
  if (x.req.body.empty())
    return false;
  auto ct = lower(trim(std::string_view{x.req.content_type}.substr(
      0, std::min(x.req.content_type.find(';'), x.req.content_type.size()))));
  if (ct == json_media_type)
    return false;
  fail(x, ec::unsupported_media_type, "the body must be sent as Content-Type: application/json");
  return true;
}

std::optional<json> parse_body(exchange& x) {
  auto body = json::parse(x.req.body, nullptr, false);
  if (body.is_discarded()) {
    fail(x, ec::invalid_request, "the body is not valid JSON");
    return std::nullopt;
  }
  return body;
}

bool reject_fields(exchange& x, const std::string& what) {
  if (x.req.body.empty())
    return false;
  if (reject_media_type(x))
    return true;
  auto body = parse_body(x);
  if (!body)
    return true;
  if (!body->is_object() || !body->empty()) {
    fail(x, ec::invalid_request, what + " takes no fields: send no body or {}");
    return true;
  }
  return false;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty())
      continue;
    auto eq = part.find('=');
    auto key = percent_decode(part.substr(0, eq));
    auto val = eq == std::string_view::npos ? std::string{} : percent_decode(part.substr(eq + 1));
    out.emplace(std::move(key), std::move(val));
  }
  return out;
}

std::string bearer_token(std::string_view header) {
  header = trim(header);
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size() || lower(header.substr(0, scheme.size())) != scheme)
    return {};
  return std::string{trim(header.substr(scheme.size()))};
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// -- router ------------------------------------------------------------------------

router::router(node_context ctx, std::shared_ptr<metrics> stats, ping_fn clickhouse_ping)
    : ctx_(std::move(ctx)), metrics_(std::move(stats)),
      clickhouse_ping_(std::move(clickhouse_ping)),
      renders_(static_cast<size_t>(ctx_.cfg->pricing.local_cache_entries),
               ctx_.cfg->pricing.local_cache_ttl) {
  if (!metrics_)
    metrics_ = std::make_shared<metrics>();
  const auto& cfg = *ctx_.cfg;
  for (const auto& a : cfg.agents) {
    if (a.api_key.empty())
      continue;
    agents_.push_back(agent_entry{
        a.id, a.api_key,
        a.rate_limit_per_minute > 0 ? a.rate_limit_per_minute : cfg.risk.rate_limit_per_minute,
        a.markup_bps >= 0 ? a.markup_bps : cfg.pricing.default_markup_bps});
  }
  for (size_t i = 0; i < agents_.size(); ++i)
    key_index_.emplace(domain::stable_hash(agents_[i].api_key), i);
}

router::~router() = default;

const router::agent_entry* router::authenticate(const std::string& key) const {
  if (key.empty())
    return nullptr;
  auto [lo, hi] = key_index_.equal_range(domain::stable_hash(key));
  const agent_entry* found = nullptr;
  for (auto i = lo; i != hi; ++i)
    if (constant_time_equal(agents_[i->second].api_key, key))
      found = &agents_[i->second];
  return found;
}

void router::handle(port_kind port, http_request req, reply_fn reply) {
  metrics_->request_started();
  auto x = std::make_shared<exchange>(shared_from_this(), port, std::move(req), std::move(reply));
  x->started_us = domain::now_us();
  auto qpos = x->req.target.find('?');
  x->path = x->req.target.substr(0, qpos);
  if (qpos != std::string::npos)
    x->query = x->req.target.substr(qpos + 1);
  if (auto tp = agent_json::parse_traceparent(x->req.traceparent)) {
    x->trace_id = tp->trace_id;
    x->parent_span_id = tp->parent_id;
  } else {
    x->trace_id = domain::new_trace_id();
  }
  x->span_id = domain::new_span_id();
  if (x->req.read_error) {
    auto code = *x->req.read_error;
    const char* msg = code == ec::payload_too_large   ? "the request body is too large"
                      : code == ec::headers_too_large ? "the request line or headers are too large"
                                                      : "the request is not valid HTTP/1.1";
    fail(*x, code, msg);
    return;
  }
  if (port == port_kind::admin)
    route_admin(x);
  else
    route_agent(x);
}

void router::route_agent(const std::shared_ptr<exchange>& x) {
  const auto& path = x->path;
  if (path.compare(0, api_prefix.size(), api_prefix) != 0) {
    fail(*x, ec::not_found, "no such endpoint: " + path);
    return;
  }
  if (path == "/api/search")
    x->rt = route::search;
  else if (path == "/api/hotels")
    x->rt = route::hotels;
  else if (path.compare(0, traces_prefix.size(), traces_prefix) == 0)
    x->rt = route::traces;
  else if (path == "/api/orders/trial")
    x->rt = route::orders_trial;
  else if (path == "/api/orders")
    x->rt = route::orders;
  else if (path.compare(0, orders_prefix.size(), orders_prefix) == 0)
    x->rt = route::order;
  x->agent = authenticate(bearer_token(x->req.authorization));
  if (!x->agent) {
    fail(*x, ec::unauthorized, "missing or unknown API key (Authorization: Bearer <key>)");
    return;
  }
  auto d = limiter_.check(x->agent->id, x->agent->rate_limit, domain::now_us() / 1000);
  x->headers.emplace_back("X-RateLimit-Limit", std::to_string(d.limit));
  x->headers.emplace_back("X-RateLimit-Remaining", std::to_string(d.remaining));
  x->headers.emplace_back("X-RateLimit-Reset", std::to_string(d.reset_s));
  if (!d.allowed) {
    metrics_->rate_limited();
    x->headers.emplace_back("Retry-After", std::to_string(d.reset_s));
    fail(*x, ec::rate_limited,
         "rate limit of " + std::to_string(d.limit) + " requests per minute reached; retry in " +
             std::to_string(d.reset_s) + " s");
    return;
  }
  switch (x->rt) {
  case route::search:
    if (x->req.method != "POST")
      return method_not_allowed(*x, "POST");
    return search(x);
  case route::hotels:
    if (x->req.method != "GET")
      return method_not_allowed(*x, "GET");
    return hotels(x);
  case route::traces: {
    if (x->req.method != "GET")
      return method_not_allowed(*x, "GET");
    return traces(x, std::string_view{path}.substr(traces_prefix.size()), x->agent->id);
  }
  case route::orders_trial:
    if (x->req.method != "POST")
      return method_not_allowed(*x, "POST");
    return order_trial(x);
  case route::orders:
    if (x->req.method == "POST")
      return create_order(x);
    if (x->req.method == "GET")
      return list_orders(x, x->agent->id);
    return method_not_allowed(*x, "GET, POST");
  case route::order:
    return order_action(x);
  default:
    fail(*x, ec::not_found, "no such endpoint: " + path);
  }
}

void router::search(const std::shared_ptr<exchange>& x) {
  if (reject_media_type(*x))
    return;
  auto body = parse_body(*x);
  if (!body)
    return;
  x->span_body = *body;
  const auto& cfg = *ctx_.cfg;
  auto decoded = agent_json::decode_search(*body, cfg.pricing.default_currency);
  if (auto* e = std::get_if<domain::field_error>(&decoded)) {
    fail(*x, ec::invalid_request, e->message, e->field);
    return;
  }
  auto q = std::get<domain::search_query>(std::move(decoded));
  if (cfg.pricing.cache_enabled && ctx_.cache) {
    // The node's local cache is checked here, on the I/O thread: a hit needs no
    // actor at all (docs/adr/0006-edge-cache-hits.md).
    if (auto hit = ctx_.cache->get(domain::canonical_key(q))) {
      serve_cached(x, q, *hit);
      return;
    }
  }
  // The least busy live engine node runs it (this node's own when it is an engine and idle).
  auto pick = [place = ctx_.place, actors = ctx_.actors,
               node = ctx_.node_id](std::string_view avoid) {
    if (place)
      return place->search_engine(avoid);
    return engine_pick{actors ? actors->engine() : query_engine_actor{}, node, {}};
  };
  search_request sreq{q, trace_context{x->trace_id, x->span_id, x->agent->id}};
  ask_routed(
      *ctx_.sys, ctx_.place, pick, cfg.pricing.supplier_timeout + search_grace,
      [x, q, cache = ctx_.cache, enabled = cfg.pricing.cache_enabled](search_result& r) {
        // A complete answer of another node's engine is kept here too, so that the next
        // equal search is a hit on this gateway (docs/adr/0006-edge-cache-hits.md); this
        // node's own engine has kept it already.
        auto key = domain::canonical_key(q);
        if (enabled && cache && r.cache_token != 0 && !cache->get(key))
          cache->put(key, std::make_shared<const search_result>(r));
        x->owner->answer_search(*x, r, r.search_id, r.cache_hit, q);
      },
      [x](const caf::error& e) { fail_call(*x, e, "query engine"); }, search_atom::value,
      std::move(sreq));
}

void router::answer_search(exchange& x, const search_result& r, const std::string& search_id,
                           bool cache_hit, const domain::search_query& q) {
  const auto& pricing = ctx_.cfg->pricing;
  auto markup_bps = x.agent->markup_bps;
  std::shared_ptr<const std::string> fragment;
  std::string key;
  if (r.cache_token != 0) {
    key = std::to_string(r.cache_token) + '|' + std::to_string(markup_bps) + '|' + q.currency +
          '|' + std::to_string(q.max_results);
    fragment = renders_.get(key);
  }
  if (!fragment) {
    fragment = std::make_shared<const std::string>(
        agent_json::encode_search_fragment(r, q, markup_bps, pricing));
    if (!key.empty())
      renders_.put(key, fragment);
  }
  answer_spliced(x, 200, agent_json::search_head(search_id, x.trace_id, cache_hit),
                 std::move(fragment), "}");
}

void router::serve_cached(const std::shared_ptr<exchange>& x, const domain::search_query& q,
                          const search_result& hit) {
  auto started = domain::now_us();
  auto search_span = domain::new_span_id();
  if (auto journal = ctx_.actors ? ctx_.actors->journal() : journal_actor{}) {
    auto now = domain::now_us();
    span_record s;
    s.trace_id = x->trace_id;
    s.span_id = search_span;
    s.parent_span_id = x->span_id;
    s.event_type = "search";
    s.service = "api_gateway";
    s.request_data = json{
        {"check_in", domain::format_date(q.check_in)},
        {"check_out", domain::format_date(q.check_out)},
        {"rooms",
         q.rooms.size()}}.dump();
    s.response_data =
        json{{"cache", "hit"}, {"source", "local"}, {"hotels", hit.hotels.size()}}.dump();
    s.started_us = started;
    s.duration_us = now - started;
    s.status = "success";
    s.agent_id = x->agent->id;
    s.node = ctx_.node_id;
    span_record c = s;
    c.span_id = domain::new_span_id();
    c.parent_span_id = search_span;
    c.event_type = "cache_hit";
    c.request_data = json{{"layer", "local"}}.dump();
    c.response_data = json{{"hotels", hit.hotels.size()}}.dump();
    auto spans = hotel_spans(q, hit, x->trace_id, search_span, x->agent->id, ctx_.node_id, true);
    spans.push_back(std::move(s));
    spans.push_back(std::move(c));
    caf::anon_send(journal, span_atom::value, std::move(spans));
  }
  answer_search(*x, hit, search_span, true, q);
}

void router::hotels(const std::shared_ptr<exchange>& x) {
  auto params = parse_query(x->query);
  int limit = default_hotels_page;
  if (auto it = params.find("limit"); it != params.end()) {
    const auto& s = it->second;
    bool digits = !s.empty() && s.size() <= 4 &&
                  std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    limit = digits ? std::stoi(s) : 0;
    if (limit < 1 || limit > max_hotels_page) {
      fail(*x, ec::invalid_request,
           "limit must be an integer between 1 and " + std::to_string(max_hotels_page), "limit");
      return;
    }
  }
  size_t offset = 0;
  if (auto it = params.find("cursor"); it != params.end() && !it->second.empty()) {
    auto c = it->second.size() <= max_param_chars ? decode_cursor(it->second) : std::nullopt;
    if (!c) {
      fail(*x, ec::invalid_request, "cursor is not one this API returned", "cursor");
      return;
    }
    offset = *c;
  }
  std::vector<const domain::hotel*> list;
  if (ctx_.catalog) {
    auto city = params.find("city");
    if (city != params.end() && !city->second.empty()) {
      list = ctx_.catalog->in_city(city->second);
    } else {
      for (const auto& h : ctx_.catalog->hotels())
        list.push_back(&h);
    }
  }
  json hotels = json::array();
  for (size_t i = offset; i < list.size() && i < offset + static_cast<size_t>(limit); ++i)
    hotels.push_back(
        agent_json::encode_hotel(*list[i], ctx_.catalog->suppliers_of(list[i]->hotel_id)));
  size_t next = offset + static_cast<size_t>(limit);
  answer(*x, 200,
         json{{"hotels", std::move(hotels)},
              {"next_cursor", next < list.size() ? json(encode_cursor(next)) : json(nullptr)}});
}

void router::finish(exchange& x, http_response res) {
  if (x.done.exchange(true))
    return;
  res.headers.emplace_back("X-Trace-Id", x.trace_id);
  res.headers.emplace_back("traceparent", agent_json::format_traceparent(x.trace_id, x.span_id));
  for (auto& h : x.headers)
    res.headers.push_back(std::move(h));
  x.headers.clear();
  auto now = domain::now_us();
  metrics_->observe(x.rt, res.status, now - x.started_us);
  metrics_->request_finished();
  if (x.port == port_kind::agent && x.path.compare(0, api_prefix.size(), api_prefix) == 0)
    record_span(x, res, now);
  if (x.reply) {
    auto reply = std::move(x.reply);
    x.reply = nullptr;
    reply(std::move(res));
  }
}

void router::record_span(const exchange& x, const http_response& res, int64_t now_us) {
  auto journal = ctx_.actors ? ctx_.actors->journal() : journal_actor{};
  if (!journal)
    return;
  span_record s;
  s.trace_id = x.trace_id;
  s.span_id = x.span_id;
  s.parent_span_id = x.parent_span_id;
  s.event_type = "http_request";
  s.service = "api_gateway";
  if (x.agent) {
    s.related_type = "agent";
    s.related_id = x.agent->id;
    s.agent_id = x.agent->id;
  }
  json req{{"method", x.req.method}, {"path", x.path}};
  if (!x.query.empty())
    req["query"] = x.query;
  if (x.agent)
    req["agent"] = x.agent->id;
  if (!x.span_body.is_null())
    req["body"] = x.span_body;
  s.request_data = req.dump();
  s.response_data = json{{"status", res.status}}.dump();
  s.started_us = x.started_us;
  s.duration_us = now_us - x.started_us;
  if (res.status < 400)
    s.status = "success";
  else if (res.error_code == "supplier_timeout")
    s.status = "timeout";
  else
    s.status = "error";
  s.error_detail = res.error_code;
  s.node = ctx_.node_id;
  caf::anon_send(journal, span_atom::value, std::move(s));
}

} // namespace bedbank::gateway
