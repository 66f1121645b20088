// The order routes of the agent API (trial, create, read, list, confirm, cancel) and the
// operator's order list. Bodies are decoded and checked here; the order engine does the rest.
#include <algorithm>

#include <caf/send.hpp>

#include "config/config.hpp"
#include "domain/dates.hpp"
#include "domain/ids.hpp"
#include "domain/order_state.hpp"
#include "gateway/router_detail.hpp"
#include "protocols/agent_json.hpp"
#include "protocols/order_json.hpp"

namespace bedbank::gateway {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view orders_prefix = "/api/orders/";
/// Slack on top of the longest wait an order call can have inside the engine.
constexpr milliseconds order_slack{15000};
/// Largest `limit` of an order list.
constexpr int32_t max_order_page = 500;

/// The longest an order call may take: the slowest supplier plus the create wait, plus slack.
milliseconds order_timeout(const config::bedbank_config& cfg) {
  milliseconds slowest{0};
  for (const auto& s : cfg.suppliers)
    slowest = std::max(slowest, s.timeout);
  return slowest * 2 + cfg.orders.create_wait + order_slack;
}

bool same_rooms(const std::vector<domain::room_occupancy>& a,
                const std::vector<domain::room_occupancy>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = a[i].children_ages;
    auto y = b[i].children_ages;
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    if (a[i].adults != b[i].adults || x != y)
      return false;
  }
  return true;
}

/// Picks the owner of `key` (an order or trial id) on the ring; this node's own engine when the
/// gateway has no cluster view (tests).
auto owner_of(const node_context& ctx, std::string key) {
  return [place = ctx.place, actors = ctx.actors, node = ctx.node_id,
          key = std::move(key)](std::string_view avoid) {
    if (place)
      return place->order_owner(key, avoid);
    return owner_pick{actors ? actors->orders() : order_engine_actor{}, node, true};
  };
}

/// Picks any live engine node's order engine (lists by filter).
auto any_engine(const node_context& ctx) {
  return [place = ctx.place, actors = ctx.actors, node = ctx.node_id](std::string_view avoid) {
    if (place)
      return place->any_order_engine(avoid);
    return owner_pick{actors ? actors->orders() : order_engine_actor{}, node, true};
  };
}

} // namespace

std::optional<std::string> router::test_scenario(exchange& x) {
  if (!x.req.test_scenario)
    return std::string{};
  const auto& s = *x.req.test_scenario;
  if (!ctx_.cfg->development()) {
    fail(x, ec::invalid_request, "the Test header is only accepted in development mode", "Test");
    return std::nullopt;
  }
  if (!config::is_mock_scenario(s)) {
    fail(x, ec::invalid_request,
         "Test must be one of ok, price_changed, sold_out, booking_error, slow_booking, "
         "answer_lost, cancel_refused",
         "Test");
    return std::nullopt;
  }
  return s;
}

void router::order_trial(const std::shared_ptr<exchange>& x) {
  if (reject_media_type(*x))
    return;
  auto body = parse_body(*x);
  if (!body)
    return;
  x->span_body = *body;
  auto scenario = test_scenario(*x);
  if (!scenario)
    return;
  auto decoded = order_json::decode_trial(*body);
  if (auto* e = std::get_if<order_json::decode_error>(&decoded)) {
    fail(*x, ec::invalid_request, e->message, e->field);
    return;
  }
  auto in = std::get<order_json::trial_input>(std::move(decoded));
  auto key = agent_json::decode_rate_key(in.rate_key);
  if (!key) {
    fail(*x, ec::invalid_request, "rate_key is not one this API returned", "rate_key");
    return;
  }
  if (key->check_in == 0 || key->check_out <= key->check_in) {
    fail(*x, ec::invalid_request, "rate_key carries no stay; take it from a search answer",
         "rate_key");
    return;
  }
  if (key->check_in < domain::today_utc()) {
    fail(*x, ec::invalid_request, "the stay of this rate_key has begun; search again", "rate_key");
    return;
  }
  if (!same_rooms(in.rooms, key->rooms)) {
    fail(*x, ec::invalid_request,
         "rooms must have the occupancy the rate was searched for (adults and children ages "
         "per room)",
         "rooms");
    return;
  }
  if (!agent_json::convert_amount(0, key->currency, in.currency, ctx_.cfg->pricing)) {
    fail(*x, ec::invalid_request, "no exchange rate for " + in.currency, "expected_price.currency");
    return;
  }
  trial_request req;
  req.agent_id = x->agent->id;
  req.supplier = key->supplier;
  req.hotel_id = key->hotel_id;
  req.hotel_code = key->hotel_code;
  req.room_code = key->room_code;
  req.board = key->board;
  req.check_in = key->check_in;
  req.check_out = key->check_out;
  req.rooms = key->rooms;
  req.guests_json = std::move(in.guests_json);
  req.expected_minor = in.expected_minor;
  req.currency = in.currency;
  req.scenario = *scenario;
  req.trace = trace_context{x->trace_id, x->span_id, x->agent->id};
  // The order id is chosen here so that the trial runs on the order's shard owner, where the
  // create (routed by the trial id, which carries the order id) finds it in memory.
  req.order_id = domain::new_order_id();
  ask_routed(
      *ctx_.sys, ctx_.place, owner_of(ctx_, req.order_id), order_timeout(*ctx_.cfg),
      [x](trial_record& t) { answer(*x, 200, order_json::encode_trial(t)); },
      [x](const caf::error& e) { fail_call(*x, e, "order engine"); }, trial_atom::value, req);
}

void router::create_order(const std::shared_ptr<exchange>& x) {
  if (reject_media_type(*x))
    return;
  auto body = parse_body(*x);
  if (!body)
    return;
  x->span_body = *body;
  auto scenario = test_scenario(*x);
  if (!scenario)
    return;
  auto decoded = order_json::decode_create(*body);
  if (auto* e = std::get_if<order_json::decode_error>(&decoded)) {
    fail(*x, ec::invalid_request, e->message, e->field);
    return;
  }
  auto in = std::get<order_json::create_input>(std::move(decoded));
  create_request req{x->agent->id,
                     in.trial_id,
                     in.client_reference,
                     in.hold_only,
                     in.contact_json,
                     *scenario,
                     trace_context{x->trace_id, x->span_id, x->agent->id}};
  ask_routed(
      *ctx_.sys, ctx_.place, owner_of(ctx_, in.trial_id), order_timeout(*ctx_.cfg),
      [x](order_reply& r) {
        json out{{"order_id", r.order.order_id},
                 {"status", r.order.status},
                 {"status_reason",
                  r.order.status_reason.empty() ? json(nullptr) : json(r.order.status_reason)},
                 {"client_reference", r.order.client_reference},
                 {"trace_id", x->trace_id}};
        if (r.replay)
          x->headers.emplace_back("Idempotent-Replay", "true");
        answer(*x, r.replay ? 200 : 201, out);
      },
      [x](const caf::error& e) {
        if (code_of(e) == ec::not_found)
          fail(*x, ec::not_found, message_of(e), "trial_id");
        else
          fail_call(*x, e, "order engine");
      },
      create_atom::value, req);
}

void router::order_action(const std::shared_ptr<exchange>& x) {
  auto rest = std::string_view{x->path}.substr(orders_prefix.size());
  auto slash = rest.find('/');
  std::string id{rest.substr(0, slash)};
  std::string action = slash == std::string_view::npos ? "" : std::string{rest.substr(slash + 1)};
  bool valid_id = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (!valid_id || (!action.empty() && action != "confirm" && action != "cancel")) {
    fail(*x, ec::not_found, "no such endpoint: " + x->path);
    return;
  }
  if (action.empty() && x->req.method != "GET")
    return method_not_allowed(*x, "GET");
  if (!action.empty() && x->req.method != "POST")
    return method_not_allowed(*x, "POST");
  // Confirm and cancel take no fields; a body, when sent, must still be a JSON object.
  if (!action.empty() && reject_fields(*x, "confirm and cancel"))
    return;
  auto scenario = test_scenario(*x);
  if (!scenario)
    return;
  order_command cmd{id, x->agent->id, *scenario,
                    trace_context{x->trace_id, x->span_id, x->agent->id}};
  auto ok = [x](order_reply& r) { answer(*x, 200, order_json::encode_order(r.order)); };
  auto err = [x](const caf::error& e) { fail_call(*x, e, "order engine"); };
  auto timeout = order_timeout(*ctx_.cfg);
  auto owner = owner_of(ctx_, id);
  if (action == "confirm")
    ask_routed(*ctx_.sys, ctx_.place, owner, timeout, ok, err, confirm_atom::value, cmd);
  else if (action == "cancel")
    ask_routed(*ctx_.sys, ctx_.place, owner, timeout, ok, err, cancel_atom::value, cmd);
  else
    ask_routed(*ctx_.sys, ctx_.place, owner, timeout, ok, err, get_atom::value, cmd);
}

void router::list_orders(const std::shared_ptr<exchange>& x, const std::string& agent_id) {
  auto params = parse_query(x->query);
  order_filter f;
  f.agent_id = agent_id;
  for (const auto& [k, v] : params) {
    if (k == "client_reference") {
      if (v.size() > order_json::max_client_reference_chars) {
        fail(*x, ec::invalid_request, "client_reference is at most 64 characters",
             "client_reference");
        return;
      }
      f.client_reference = v;
    } else if (k == "status") {
      if (!v.empty() && !domain::parse_order_status(v)) {
        fail(*x, ec::invalid_request,
             "status must be one of held, booking, confirmed, unknown, failed, cancelling, "
             "cancelled, closed",
             "status");
        return;
      }
      f.status = v;
    } else if (k == "from" || k == "to") {
      auto t = order_json::parse_filter_instant(v, k == "to");
      if (!t) {
        fail(*x, ec::invalid_request, k + " must be a date (YYYY-MM-DD) or an RFC 3339 instant", k);
        return;
      }
      (k == "from" ? f.from_us : f.to_us) = *t;
    } else if (k == "limit") {
      bool digits = !v.empty() && v.size() <= 4 &&
                    std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      int32_t n = digits ? std::stoi(v) : 0;
      if (n < 1 || n > max_order_page) {
        fail(*x, ec::invalid_request,
             "limit must be an integer between 1 and " + std::to_string(max_order_page), "limit");
        return;
      }
      f.limit = n;
    }
  }
  ask_routed(
      *ctx_.sys, ctx_.place, any_engine(ctx_), order_timeout(*ctx_.cfg),
      [x](std::vector<order_record>& orders) {
        answer(*x, 200, order_json::encode_order_list(orders));
      },
      [x](const caf::error& e) { fail_call(*x, e, "order engine"); }, list_atom::value, f);
}

} // namespace bedbank::gateway
