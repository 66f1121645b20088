// Deterministic tests of the order engine, the order actors and the hold actors on CAF's test
// coordinator. PostgreSQL and the supplier are fakes in the directory: an in-memory order store
// (which also checks every transition the actors request against the domain's table, and the
// credit arithmetic) and a supplier connection whose answers each test scripts.
#define CAF_SUITE order_actor
#include <caf/test/unit_test_impl.hpp>

#include <caf/test/dsl.hpp>

#include <algorithm>
#include <deque>
#include <map>

#include "actors/factories.hpp"
#include "domain/dates.hpp"
#include "domain/order_state.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

using namespace bedbank;
using namespace std::chrono_literals;

namespace {

struct test_config : caf::actor_system_config {
  test_config() { register_types(*this); }
};

constexpr const char* supplier_code = "hotelbeds";
/// The rate's net in CNY minor units; agents have no markup, so price = credit = net.
constexpr int64_t net = 10000;
constexpr int64_t hour_us = 3600LL * 1000 * 1000;

// -- fake order store -------------------------------------------------------------------

struct outbox_row {
  int64_t id = 0;
  std::string order_id;
  std::string kind;
  std::string status; ///< pending | done
  int32_t attempts = 0;
  int32_t max_attempts = 0;
  int64_t due_us = 0;
  std::string last_error;
};

struct credit_line {
  int64_t limit = 1000000;
  int64_t reserved = 0;
  int64_t captured = 0;
};

/// The credit movements of one order.
struct order_credit {
  int64_t reserved = 0;
  int64_t captured = 0;
  int64_t released = 0;
  int64_t refunded = 0;
};

/// What the fake store holds; shared with the test.
struct fake_db {
  std::map<std::string, order_record> orders;
  std::map<std::string, std::string> holds; ///< order id → active | converted | released | expired
  std::vector<outbox_row> outbox;
  std::map<std::string, credit_line> lines;
  std::map<std::string, order_credit> credit_of;
  std::vector<order_change> applied;
  std::vector<outbox_schedule> schedules;
  std::map<std::string, int> loads;     ///< get_atom calls per order id
  std::vector<caf::actor_addr> loaders; ///< who sent each get_atom
  std::vector<caf::actor_addr> writers; ///< who sent each apply_atom
  int creates = 0;
  /// Everything the real schema or the transition table would refuse; must stay empty.
  std::vector<std::string> violations;
  std::vector<outbox_item> due;        ///< what the next claim answers
  std::vector<hold_info> active_holds; ///< what every holds query answers
  int64_t next_row = 1;

  std::vector<outbox_row> rows(const std::string& id, const std::string& kind,
                               const std::string& status) const {
    std::vector<outbox_row> out;
    for (const auto& r : outbox)
      if (r.order_id == id && r.kind == kind && r.status == status)
        out.push_back(r);
    return out;
  }

  size_t pending(const std::string& id) const {
    size_t n = 0;
    for (const auto& r : outbox)
      n += r.order_id == id && r.status == "pending" ? 1 : 0;
    return n;
  }

  void add_row(const std::string& id, const std::string& kind, int32_t attempts, int32_t max,
               int64_t due_us) {
    outbox.push_back(outbox_row{next_row++, id, kind, "pending", attempts, max, due_us, {}});
  }
};

std::optional<domain::order_event> parse_event(std::string_view s) {
  for (size_t i = 0; i < domain::order_event_count; ++i) {
    auto e = static_cast<domain::order_event>(i);
    if (domain::to_string(e) == s)
      return e;
  }
  return std::nullopt;
}

/// Why `c` is not a transition of the domain's table (empty when it is, or when it is a change
/// without a transition: same status, no event).
std::string illegal(const order_change& c) {
  auto from = domain::parse_order_status(c.from_status);
  auto to = domain::parse_order_status(c.to_status);
  if (!from || !to)
    return "unknown status";
  if (c.event.empty())
    return *from == *to ? std::string{} : std::string{"a status change without an event"};
  auto e = parse_event(c.event);
  if (!e)
    return "unknown event";
  auto next = domain::next_status(*from, *e);
  if (!next || *next != *to)
    return "not in the transition table";
  return {};
}

std::string describe(const order_change& c) {
  return c.order_id + ": " + c.from_status + " -(" + c.event + ")-> " + c.to_status;
}

order_store_actor::behavior_type fake_store(order_store_actor::pointer self,
                                            std::shared_ptr<fake_db> db) {
  return {
      [=](create_atom, const new_order& n) -> caf::result<order_reply> {
        ++db->creates;
        const auto& o = n.order;
        for (const auto& [id, x] : db->orders)
          if (x.agent_id == o.agent_id && x.client_reference == o.client_reference)
            return order_reply{x, true};
        if (db->orders.count(o.order_id) != 0)
          return make_error(ec::conflict, "order id " + o.order_id + " is already used");
        if (o.status != "held" && o.status != "booking") {
          db->violations.push_back("created " + o.order_id + " as " + o.status);
          return make_error(ec::invalid_request, "bad initial status " + o.status);
        }
        auto& line = db->lines[o.agent_id];
        auto available = line.limit - line.reserved - line.captured;
        if (o.credit_minor > available)
          return make_error(ec::insufficient_credit,
                            "agent " + o.agent_id + " has " + std::to_string(available) +
                                " available, " + std::to_string(o.credit_minor) + " needed");
        line.reserved += o.credit_minor;
        db->credit_of[o.order_id].reserved += o.credit_minor;
        auto stored = o;
        stored.version = 1;
        stored.history = {{"", o.status, "created", o.status_reason, o.created_us, o.trace_id}};
        if (o.hold_expires_us > 0)
          db->holds[o.order_id] = "active";
        if (o.status != "held")
          db->add_row(o.order_id, "book", 1, n.max_attempts, n.outbox_due_us);
        db->orders[o.order_id] = stored;
        return order_reply{stored, false};
      },
      [=](get_atom, const std::string& id) -> caf::result<order_record> {
        ++db->loads[id];
        db->loaders.push_back(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        auto i = db->orders.find(id);
        if (i == db->orders.end())
          return make_error(ec::not_found, "no order " + id);
        return i->second;
      },
      [=](apply_atom, const order_change& c) -> caf::result<order_record> {
        db->applied.push_back(c);
        db->writers.push_back(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        auto i = db->orders.find(c.order_id);
        if (i == db->orders.end())
          return make_error(ec::not_found, "no order " + c.order_id);
        auto& o = i->second;
        if (o.version != c.version || o.status != c.from_status)
          return make_error(ec::conflict, "order " + c.order_id + " is at version " +
                                              std::to_string(o.version) + " in status " + o.status);
        if (auto why = illegal(c); !why.empty()) {
          db->violations.push_back("illegal transition " + describe(c) + ": " + why);
          return make_error(ec::conflict, "illegal transition " + describe(c));
        }
        // The credit line as the schema's CHECK constraints see it, and each order's own share.
        auto& line = db->lines[o.agent_id];
        auto& mine = db->credit_of[o.order_id];
        if (c.credit_capture < 0 || c.credit_release < 0 || c.credit_refund < 0 ||
            c.credit_capture + c.credit_release > line.reserved ||
            c.credit_refund > line.captured + c.credit_capture) {
          db->violations.push_back("credit line would go negative: " + describe(c));
          return make_error(ec::internal, "credit check constraint");
        }
        auto still_reserved = mine.reserved - mine.captured - mine.released;
        if (c.credit_capture + c.credit_release > still_reserved)
          db->violations.push_back("order moves more than it reserved: " + describe(c));
        if (c.credit_refund > mine.captured + c.credit_capture - mine.refunded)
          db->violations.push_back("order refunds more than it captured: " + describe(c));
        line.reserved -= c.credit_capture + c.credit_release;
        line.captured += c.credit_capture - c.credit_refund;
        mine.captured += c.credit_capture;
        mine.released += c.credit_release;
        mine.refunded += c.credit_refund;
        // The order row, as sql_update_order writes it.
        o.status = c.to_status;
        o.status_reason = c.reason;
        if (!c.supplier_ref.empty())
          o.supplier_ref = c.supplier_ref;
        if (c.penalty_minor >= 0)
          o.penalty_minor = c.penalty_minor;
        if (c.refund_minor >= 0)
          o.refund_minor = c.refund_minor;
        ++o.version;
        o.updated_us = c.at_us;
        if (!c.trace_id.empty() &&
            std::find(o.trace_ids.begin(), o.trace_ids.end(), c.trace_id) == o.trace_ids.end())
          o.trace_ids.push_back(c.trace_id);
        if (c.from_status != c.to_status || !c.event.empty())
          o.history.push_back({c.from_status, c.to_status, c.event, c.reason, c.at_us, c.trace_id});
        if (!c.hold_status.empty())
          db->holds[o.order_id] = c.hold_status;
        if (!c.outbox_done_kind.empty())
          for (auto& r : db->outbox)
            if (r.order_id == c.order_id && r.kind == c.outbox_done_kind && r.status == "pending")
              r.status = "done";
        if (!c.outbox_add_kind.empty())
          db->add_row(c.order_id, c.outbox_add_kind, c.outbox_add_attempts,
                      c.outbox_add_max_attempts, c.outbox_add_due_us);
        return o;
      },
      [=](schedule_atom, const outbox_schedule& s) -> caf::result<bool> {
        db->schedules.push_back(s);
        bool found = false;
        for (auto& r : db->outbox)
          if (r.order_id == s.order_id && r.kind == s.kind && r.status == "pending") {
            r.attempts = s.attempts;
            r.due_us = s.due_us;
            r.last_error = s.last_error;
            found = true;
          }
        if (!found)
          return make_error(ec::not_found,
                            "order " + s.order_id + " has no pending " + s.kind + " outbox row");
        return true;
      },
      [=](claim_atom, int64_t, int32_t limit, int64_t) {
        std::vector<outbox_item> out;
        while (!db->due.empty() && static_cast<int32_t>(out.size()) < limit) {
          out.push_back(db->due.front());
          db->due.erase(db->due.begin());
        }
        return out;
      },
      [=](holds_atom, int32_t) { return db->active_holds; },
      [=](list_atom, const order_filter& f) {
        std::vector<order_record> out;
        for (const auto& [id, o] : db->orders)
          if ((f.agent_id.empty() || o.agent_id == f.agent_id) &&
              (f.client_reference.empty() || o.client_reference == f.client_reference) &&
              (f.status.empty() || o.status == f.status) &&
              static_cast<int32_t>(out.size()) < f.limit)
            out.push_back(o);
        return out;
      },
      [=](credit_atom, const std::string& agent) {
        const auto& l = db->lines[agent];
        return credit_state{agent, "CNY", l.limit, l.reserved, l.captured};
      },
      [=](health_atom) {
        return dependency_health{"postgresql", true, 1, {}};
      },
  };
}

// -- scripted supplier connection ---------------------------------------------------------

/// One scripted answer: `code` none answers (found / available as `found`), anything else
/// fails with that code; `silent` never answers.
struct outcome {
  ec code = ec::none;
  bool found = true;
  bool silent = false;
};

outcome ok() {
  return {};
}
outcome fails(ec code) {
  return {code, false, false};
}
outcome not_found_there() {
  return {ec::none, false, false};
}
outcome silent() {
  return {ec::none, false, true};
}

struct fake_supplier {
  std::deque<outcome> creates, gets, cancels, avails; ///< empty: ok / found / available
  int create_calls = 0, get_calls = 0, cancel_calls = 0, avail_calls = 0;
  std::vector<std::string> create_keys, get_keys, cancel_refs;
  avail_reply avail; ///< what an available CheckAvailability answers
};

outcome pop_outcome(std::deque<outcome>& q) {
  if (q.empty())
    return ok();
  auto o = q.front();
  q.pop_front();
  return o;
}

caf::error scripted_error(ec code) {
  return make_error(code, std::string{"scripted "} + to_string(code));
}

supplier_conn_actor::behavior_type scripted_supplier(supplier_conn_actor::pointer self,
                                                     std::shared_ptr<fake_supplier> sp) {
  return {
      [=](search_hotels_atom, const hotels_request&) { return hotels_reply{}; },
      [=](search_rates_atom, const rates_request&) { return rates_reply{}; },
      [=](create_booking_atom, const booking_request& req) -> caf::result<booking_detail> {
        ++sp->create_calls;
        sp->create_keys.push_back(req.idempotency_key);
        auto o = pop_outcome(sp->creates);
        if (o.silent)
          return self->make_response_promise<booking_detail>();
        if (o.code != ec::none)
          return scripted_error(o.code);
        return booking_detail{true,        "HB-" + req.idempotency_key, req.idempotency_key,
                              "confirmed", req.expected_net_minor,      req.currency};
      },
      [=](cancel_booking_atom, const cancel_request& req) -> caf::result<booking_detail> {
        ++sp->cancel_calls;
        sp->cancel_refs.push_back(req.supplier_ref);
        auto o = pop_outcome(sp->cancels);
        if (o.silent)
          return self->make_response_promise<booking_detail>();
        if (o.code != ec::none)
          return scripted_error(o.code);
        return booking_detail{true, req.supplier_ref, req.idempotency_key, "cancelled", 0, "CNY"};
      },
      [=](get_booking_atom, const booking_query& q) -> caf::result<booking_detail> {
        ++sp->get_calls;
        sp->get_keys.push_back(q.idempotency_key);
        auto o = pop_outcome(sp->gets);
        if (o.silent)
          return self->make_response_promise<booking_detail>();
        if (o.code != ec::none)
          return scripted_error(o.code);
        booking_detail d;
        d.found = o.found;
        d.idempotency_key = q.idempotency_key;
        if (o.found) {
          d.supplier_ref = "HB-" + q.idempotency_key;
          d.status = "confirmed";
        }
        return d;
      },
      [=](check_avail_atom, const avail_request&) -> caf::result<avail_reply> {
        ++sp->avail_calls;
        auto o = pop_outcome(sp->avails);
        if (o.silent)
          return self->make_response_promise<avail_reply>();
        if (o.code != ec::none)
          return scripted_error(o.code);
        auto r = sp->avail;
        r.available = o.found;
        return r;
      },
      [=](health_atom) { return true; },
      [=](stats_atom) {
        supplier_stats s;
        s.code = supplier_code;
        s.circuit = "closed";
        s.mode = "auto";
        return s;
      },
      [=](circuit_atom, const std::string&) {
        supplier_stats s;
        s.code = supplier_code;
        s.circuit = "closed";
        s.mode = "auto";
        return s;
      },
      [=](reset_atom, uint64_t) {},
  };
}

// -- fixture ------------------------------------------------------------------------------

config::agent_config agent(const std::string& id) {
  config::agent_config a;
  a.id = id;
  a.name = id;
  a.markup_bps = 0;
  a.credit_limit_minor = 1000000;
  return a;
}

struct fixture : test_coordinator_fixture<test_config> {
  std::shared_ptr<config::bedbank_config> cfg = std::make_shared<config::bedbank_config>();
  std::shared_ptr<node_env> env = std::make_shared<node_env>();
  std::shared_ptr<fake_db> db = std::make_shared<fake_db>();
  std::shared_ptr<fake_supplier> sup = std::make_shared<fake_supplier>();
  std::vector<caf::actor> spawned;
  order_engine_actor engine;

  fixture() {
    config::supplier_config s;
    s.code = supplier_code;
    s.name = "Hotelbeds";
    s.protocol = "hotelbeds";
    s.timeout = 5000ms;
    s.booking.max_attempts = 5;
    s.booking.backoff = 60000ms;
    cfg->suppliers = {s};
    cfg->agents = {agent("agent-a"), agent("agent-b")};
    cfg->pricing.default_currency = "CNY";
    cfg->orders.store_connections = 1;
    cfg->orders.idle_timeout = 60000ms;
    cfg->orders.create_wait = 10000ms;
    cfg->inventory.hold_ttl = 1800000ms;
    cfg->inventory.cleanup_interval = 300000ms;
    cfg->inventory.sync_interval = 600000ms;
    env->cfg = cfg;
    env->actors = std::make_shared<directory>();
    env->cache = std::make_shared<local_cache>(100, 60000ms);
    env->node_id = "test-node";
    sup->avail = avail_reply{true, net, "CNY", "Standard Room", true, {}};
    auto store = keep(sys.spawn(fake_store, db));
    for (int i = 0; i < cfg->orders.store_connections; ++i)
      env->actors->put(directory::order_store_name(i),
                       caf::actor_cast<caf::strong_actor_ptr>(store));
    auto conn = keep(sys.spawn(scripted_supplier, sup));
    env->actors->put(directory::supplier_name(supplier_code),
                     caf::actor_cast<caf::strong_actor_ptr>(conn));
    run_messages_only();
  }

  ~fixture() {
    // Every transition any actor asked for is one of the domain's table, and no credit line
    // or order share ever went negative.
    for (const auto& v : db->violations)
      CAF_MESSAGE("violation: " << v);
    CAF_CHECK_EQUAL(db->violations.size(), 0u);
    for (auto& a : spawned)
      anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  template <class Handle> Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  /// Spawns the order engine with the configuration as it is now.
  void start() {
    engine = keep(spawn_order_engine(sys, env));
    env->actors->put(directory::orders_name, caf::actor_cast<caf::strong_actor_ptr>(engine));
    run_messages_only();
  }

  /// Delivers pending messages without firing timers.
  void run_messages_only() {
    while (sched.try_run_once())
      ; // nop
  }

  /// Advances the virtual clock, then delivers what that set off.
  void advance(caf::timespan d) {
    sched.clock().advance_time(d);
    run_messages_only();
  }

  bool answered() { return !self->mailbox().empty(); }

  /// The answer to request `h` (which must have arrived).
  template <class T, class Handle> caf::expected<T> take(Handle& h) {
    if (!answered())
      return make_error(ec::internal, "no answer yet");
    caf::expected<T> out{make_error(ec::internal, "nothing received")};
    h.receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  /// One request to the engine, run until everything is idle (no timers fired), its answer.
  template <class T, class... Ts> caf::expected<T> ask(Ts&&... xs) {
    auto h = self->request(engine, caf::infinite, std::forward<Ts>(xs)...);
    run_messages_only();
    return take<T>(h);
  }

  trial_request trial_for(const std::string& agent_id) {
    trial_request r;
    r.agent_id = agent_id;
    r.supplier = supplier_code;
    r.hotel_id = "BB-SHA-0001";
    r.hotel_code = "HB-1001";
    r.room_code = "DBL.ST";
    r.board = "BB";
    r.check_in = 20500;
    r.check_out = 20502;
    r.rooms = {{2, {}}};
    r.guests_json = R"([{"adults":[{"first_name":"Lei","last_name":"Li"}]}])";
    r.expected_minor = net;
    r.currency = "CNY";
    return r;
  }

  caf::expected<trial_record> trial(const std::string& agent_id = "agent-a") {
    return ask<trial_record>(trial_atom::value, trial_for(agent_id));
  }

  create_request create_req(const trial_record& t, const std::string& ref, bool hold_only,
                            const std::string& agent_id) {
    return create_request{agent_id, t.trial_id, ref, hold_only, "{}", {}, {}};
  }

  caf::expected<order_reply> create_from(const trial_record& t, const std::string& ref,
                                         bool hold_only = false,
                                         const std::string& agent_id = "agent-a") {
    return ask<order_reply>(create_atom::value, create_req(t, ref, hold_only, agent_id));
  }

  /// Trial and create; the order's reply.
  caf::expected<order_reply> create(const std::string& ref, bool hold_only = false,
                                    const std::string& agent_id = "agent-a") {
    auto t = trial(agent_id);
    if (!t)
      return t.error();
    if (t->status != "available")
      return make_error(ec::internal, "the trial says " + t->status);
    return create_from(*t, ref, hold_only, agent_id);
  }

  order_command cmd(const std::string& id, const std::string& agent_id) {
    return order_command{id, agent_id, {}, {}};
  }

  caf::expected<order_reply> get(const std::string& id, const std::string& agent_id = "agent-a") {
    return ask<order_reply>(get_atom::value, cmd(id, agent_id));
  }

  caf::expected<order_reply> confirm(const std::string& id,
                                     const std::string& agent_id = "agent-a") {
    return ask<order_reply>(confirm_atom::value, cmd(id, agent_id));
  }

  caf::expected<order_reply> cancel(const std::string& id,
                                    const std::string& agent_id = "agent-a") {
    return ask<order_reply>(cancel_atom::value, cmd(id, agent_id));
  }

  /// The relay handing the engine a claimed row.
  void work(const std::string& id, const std::string& kind, int32_t attempts) {
    outbox_item item;
    item.id = 1000 + attempts;
    item.order_id = id;
    item.kind = kind;
    item.attempts = attempts;
    item.max_attempts = cfg->suppliers.front().booking.max_attempts;
    self->send(engine, work_atom::value, item);
    run_messages_only();
  }

  /// A hold actor reporting the end of a hold.
  void expire(const std::string& id, const std::string& reason) {
    self->send(engine, expire_atom::value, id, reason);
    run_messages_only();
  }

  const order_record& stored(const std::string& id) { return db->orders.at(id); }

  /// The event names of an order's history, in order.
  std::vector<std::string> events(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& h : stored(id).history)
      out.push_back(h.event);
    return out;
  }

  /// Puts a held order straight into the store (as a previous run of the node left it).
  void put_held(const std::string& id, int64_t hold_expires_us) {
    order_record o;
    o.order_id = id;
    o.agent_id = "agent-a";
    o.client_reference = "ref-" + id;
    o.status = "held";
    o.supplier = supplier_code;
    o.hotel_code = "HB-1001";
    o.room_code = "DBL.ST";
    o.board = "BB";
    o.price_minor = net;
    o.currency = "CNY";
    o.net_minor = net;
    o.net_currency = "CNY";
    o.credit_minor = net;
    o.credit_currency = "CNY";
    o.hold_only = true;
    o.hold_expires_us = hold_expires_us;
    o.version = 1;
    o.history = {{"", "held", "created", "", domain::now_us(), ""}};
    db->orders[id] = o;
    db->holds[id] = "active";
    db->lines["agent-a"].reserved += net;
    db->credit_of[id].reserved = net;
  }
};

template <class T> ec code(const caf::expected<T>& x) {
  return x ? ec::none : code_of(x.error());
}

using strings = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(order_actor_tests, fixture)

CAF_TEST(create books at once and confirms the order) {
  start();
  auto r = create("ref-1");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_CHECK(!r->replay);
  CAF_CHECK_EQUAL(r->order.status, "confirmed");
  CAF_CHECK_EQUAL(r->order.supplier_ref, "HB-" + id);
  CAF_CHECK_EQUAL(r->order.price_minor, net);
  CAF_CHECK_EQUAL(r->order.credit_minor, net);
  // Exactly one CreateBooking, with the order id as its idempotency key.
  CAF_CHECK_EQUAL(sup->create_calls, 1);
  CAF_CHECK_EQUAL(sup->create_keys, strings{id});
  const auto& o = stored(id);
  CAF_CHECK_EQUAL(o.status, "confirmed");
  CAF_CHECK_EQUAL(o.version, 2);
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_confirmed"}));
  // Capture = credit, hold converted, the book row done.
  const auto& m = db->credit_of[id];
  CAF_CHECK_EQUAL(m.reserved, net);
  CAF_CHECK_EQUAL(m.captured, net);
  CAF_CHECK_EQUAL(m.released, 0);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, 0);
  CAF_CHECK_EQUAL(db->lines["agent-a"].captured, net);
  CAF_CHECK_EQUAL(db->holds[id], "converted");
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  CAF_CHECK_EQUAL(db->rows(id, "book", "done").size(), 1u);
}

CAF_TEST(create replays on the same client reference and refuses a reused trial) {
  start();
  auto t = trial();
  CAF_REQUIRE(t);
  auto first = create_from(*t, "ref-r");
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(first->order.status, "confirmed");
  auto again = create_from(*t, "ref-r");
  CAF_REQUIRE(again);
  CAF_CHECK(again->replay);
  CAF_CHECK_EQUAL(again->order.order_id, first->order.order_id);
  CAF_CHECK_EQUAL(again->order.status, "confirmed");
  // The same trial for another client reference would be the same order id.
  auto other = create_from(*t, "ref-other");
  CAF_CHECK_EQUAL(code(other), ec::conflict);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
  CAF_CHECK_EQUAL(db->orders.size(), 1u);
  CAF_CHECK_EQUAL(db->lines["agent-a"].captured, net);
}

CAF_TEST(create from an unknown trial is not found and list shows only the orders of the agent) {
  start();
  trial_record ghost;
  ghost.trial_id = "tri_ghost";
  CAF_CHECK_EQUAL(code(create_from(ghost, "ref-ghost")), ec::not_found);
  // A trial is the agent's own.
  auto t = trial("agent-a");
  CAF_REQUIRE(t);
  CAF_CHECK_EQUAL(code(create_from(*t, "ref-thief", false, "agent-b")), ec::not_found);
  CAF_CHECK(db->orders.empty());
  auto a = create_from(*t, "ref-list-a");
  CAF_REQUIRE(a);
  auto b = create("ref-list-b", true, "agent-b");
  CAF_REQUIRE(b);
  order_filter f;
  f.agent_id = "agent-b";
  auto listed = ask<std::vector<order_record>>(list_atom::value, f);
  CAF_REQUIRE(listed);
  CAF_REQUIRE_EQUAL(listed->size(), 1u);
  CAF_CHECK_EQUAL(listed->front().order_id, b->order.order_id);
}

CAF_TEST(create without enough credit is refused and books nothing) {
  db->lines["agent-b"].limit = net - 1;
  start();
  auto r = create("ref-poor", false, "agent-b");
  CAF_CHECK_EQUAL(code(r), ec::insufficient_credit);
  CAF_CHECK(db->orders.empty());
  CAF_CHECK_EQUAL(sup->create_calls, 0);
  CAF_CHECK_EQUAL(db->lines["agent-b"].reserved, 0);
}

CAF_TEST(sold out fails the order and releases the credit) {
  sup->creates = {fails(ec::sold_out)};
  start();
  auto r = create("ref-2");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_CHECK_EQUAL(r->order.status, "failed");
  CAF_CHECK_EQUAL(r->order.status_reason, "sold_out");
  CAF_CHECK_EQUAL(stored(id).status, "failed");
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_refused"}));
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(db->credit_of[id].captured, 0);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, 0);
  CAF_CHECK_EQUAL(db->lines["agent-a"].captured, 0);
  CAF_CHECK_EQUAL(db->holds[id], "released");
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
}

CAF_TEST(a timeout makes the order unknown and GetBooking resolves it without booking again) {
  sup->creates = {fails(ec::supplier_timeout)};
  start();
  auto r = create("ref-3");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_CHECK_EQUAL(r->order.status, "unknown");
  CAF_CHECK_EQUAL(stored(id).status, "unknown");
  CAF_CHECK_EQUAL(stored(id).status_reason, "supplier_timeout");
  // The first row is done, a new book row waits for the relay; the credit stays reserved.
  CAF_CHECK_EQUAL(db->rows(id, "book", "done").size(), 1u);
  auto pending = db->rows(id, "book", "pending");
  CAF_REQUIRE_EQUAL(pending.size(), 1u);
  CAF_CHECK_EQUAL(pending.front().attempts, 1);
  CAF_CHECK_GREATER(pending.front().due_us, domain::now_us());
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, net);
  // The relay hands the row back: GetBooking finds the booking.
  sup->gets = {ok()};
  work(id, "book", 1);
  CAF_CHECK_EQUAL(stored(id).status, "confirmed");
  CAF_CHECK_EQUAL(stored(id).supplier_ref, "HB-" + id);
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_silent", "supplier_confirmed"}));
  CAF_CHECK_EQUAL(sup->get_calls, 1);
  CAF_CHECK_EQUAL(sup->get_keys, strings{id});
  CAF_CHECK_EQUAL(sup->create_calls, 1); // never booked blindly again
  CAF_CHECK_EQUAL(db->credit_of[id].captured, net);
  CAF_CHECK_EQUAL(db->holds[id], "converted");
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  // The reply of a get shows it too.
  auto g = get(id);
  CAF_REQUIRE(g);
  CAF_CHECK_EQUAL(g->order.status, "confirmed");
}

CAF_TEST(a silent supplier leaves the order unknown after the call deadline) {
  sup->creates = {silent()};
  start();
  auto t = trial();
  CAF_REQUIRE(t);
  auto h = self->request(engine, caf::infinite, create_atom::value,
                         create_req(*t, "ref-silent", false, "agent-a"));
  run_messages_only();
  CAF_REQUIRE(!answered());
  // The supplier call's deadline (timeout 5 s + 1 s grace) passes before create_wait (10 s).
  advance(6s);
  auto r = take<order_reply>(h);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->order.status, "unknown");
  CAF_CHECK_EQUAL(stored(r->order.order_id).status, "unknown");
  CAF_CHECK_EQUAL(db->rows(r->order.order_id, "book", "pending").size(), 1u);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
}

CAF_TEST(unknown and not found at the supplier books again and confirms) {
  sup->creates = {fails(ec::supplier_timeout), ok()};
  sup->gets = {not_found_there()};
  start();
  auto r = create("ref-4");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_REQUIRE_EQUAL(r->order.status, "unknown");
  work(id, "book", 1);
  CAF_CHECK_EQUAL(sup->get_calls, 1);
  CAF_CHECK_EQUAL(sup->create_calls, 2);
  CAF_CHECK_EQUAL(sup->create_keys, (strings{id, id}));
  CAF_CHECK_EQUAL(stored(id).status, "confirmed");
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_silent", "supplier_not_found",
                                       "supplier_confirmed"}));
  // The second attempt was claimed (attempts 2) in the unknown → booking transaction.
  auto second = std::find_if(db->applied.begin(), db->applied.end(),
                             [](const order_change& c) { return c.event == "supplier_not_found"; });
  CAF_REQUIRE(second != db->applied.end());
  CAF_CHECK_EQUAL(second->outbox_add_kind, "book");
  CAF_CHECK_EQUAL(second->outbox_add_attempts, 2);
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  CAF_CHECK_EQUAL(db->credit_of[id].captured, net);
}

CAF_TEST(supplier errors are retried until max_attempts then the order fails) {
  cfg->suppliers.front().booking.max_attempts = 2;
  sup->creates = {fails(ec::supplier_error), fails(ec::supplier_error)};
  sup->gets = {not_found_there()};
  start();
  auto r = create("ref-5");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  // Attempt 1 answered an error: still booking, the row rescheduled with back-off.
  CAF_CHECK_EQUAL(r->order.status, "booking");
  CAF_CHECK_EQUAL(stored(id).status, "booking");
  CAF_REQUIRE_EQUAL(db->schedules.size(), 1u);
  CAF_CHECK_EQUAL(db->schedules.front().kind, "book");
  CAF_CHECK_EQUAL(db->schedules.front().attempts, 1);
  CAF_CHECK_EQUAL(db->schedules.front().last_error, "supplier_error");
  CAF_CHECK_GREATER(db->schedules.front().due_us, domain::now_us() + 59 * 1000 * 1000);
  CAF_CHECK_EQUAL(db->rows(id, "book", "pending").size(), 1u);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, net);
  // The relay's retry: GetBooking first (nothing there), then attempt 2, which fails too.
  work(id, "book", 1);
  CAF_CHECK_EQUAL(sup->get_calls, 1);
  CAF_CHECK_EQUAL(sup->create_calls, 2);
  CAF_CHECK_EQUAL(stored(id).status, "failed");
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_refused"}));
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, 0);
  CAF_CHECK_EQUAL(db->holds[id], "released");
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  // Nothing more happens for a stale copy of the row.
  work(id, "book", 1);
  CAF_CHECK_EQUAL(sup->create_calls, 2);
  CAF_CHECK_EQUAL(stored(id).status, "failed");
}

CAF_TEST(an unknown order with every attempt spent fails as attempts_exhausted) {
  cfg->suppliers.front().booking.max_attempts = 2;
  sup->creates = {fails(ec::supplier_timeout)};
  sup->gets = {not_found_there()};
  start();
  auto r = create("ref-5b");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_REQUIRE_EQUAL(r->order.status, "unknown");
  work(id, "book", 2);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
  CAF_CHECK_EQUAL(stored(id).status, "failed");
  CAF_CHECK_EQUAL(stored(id).status_reason, "attempts_exhausted");
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_silent", "supplier_not_found",
                                       "supplier_refused"}));
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(db->pending(id), 0u);
}

CAF_TEST(a hold_only order is held then confirm books it once) {
  start();
  auto r = create("ref-6", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_CHECK_EQUAL(r->order.status, "held");
  CAF_CHECK(r->order.hold_only);
  CAF_CHECK_EQUAL(sup->create_calls, 0);
  CAF_CHECK_EQUAL(db->holds[id], "active");
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, net);
  auto c = confirm(id);
  CAF_REQUIRE(c);
  CAF_CHECK(!c->replay);
  CAF_CHECK_EQUAL(c->order.status, "confirmed");
  CAF_CHECK_EQUAL(c->order.supplier_ref, "HB-" + id);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
  CAF_CHECK_EQUAL(events(id), (strings{"created", "confirm_requested", "supplier_confirmed"}));
  CAF_CHECK_EQUAL(db->holds[id], "converted");
  CAF_CHECK_EQUAL(db->credit_of[id].captured, net);
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  // Confirming again answers the same order and books nothing.
  auto again = confirm(id);
  CAF_REQUIRE(again);
  CAF_CHECK(again->replay);
  CAF_CHECK_EQUAL(again->order.order_id, id);
  CAF_CHECK_EQUAL(again->order.status, "confirmed");
  CAF_CHECK_EQUAL(again->order.version, c->order.version);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
}

CAF_TEST(an expired hold closes the order and a later confirm conflicts) {
  start();
  auto r = create("ref-7", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  expire(id, "hold_expired");
  CAF_CHECK_EQUAL(stored(id).status, "closed");
  CAF_CHECK_EQUAL(stored(id).status_reason, "hold_expired");
  CAF_CHECK_EQUAL(events(id), (strings{"created", "hold_expired"}));
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, 0);
  CAF_CHECK_EQUAL(db->holds[id], "expired");
  CAF_CHECK_EQUAL(code(confirm(id)), ec::conflict);
  CAF_CHECK_EQUAL(code(cancel(id)), ec::conflict);
  CAF_CHECK_EQUAL(sup->create_calls, 0);
  CAF_CHECK_EQUAL(sup->cancel_calls, 0);
  // A second expiry (the sweep's, say) changes nothing.
  auto version = stored(id).version;
  expire(id, "hold_expired");
  CAF_CHECK_EQUAL(stored(id).version, version);
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
}

CAF_TEST(the hold actor closes the order when the hold ttl passes) {
  start();
  auto r = create("ref-7b", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  advance(cfg->inventory.hold_ttl);
  CAF_CHECK_EQUAL(stored(id).status, "closed");
  CAF_CHECK_EQUAL(stored(id).status_reason, "hold_expired");
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(db->holds[id], "expired");
}

CAF_TEST(the hold sync closes the order when the inventory is gone) {
  sup->avails = {ok(), not_found_there()}; // the trial's check, then the sync's
  start();
  auto r = create("ref-7c", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  advance(cfg->inventory.sync_interval);
  CAF_CHECK_EQUAL(sup->avail_calls, 2);
  CAF_CHECK_EQUAL(stored(id).status, "closed");
  CAF_CHECK_EQUAL(stored(id).status_reason, "inventory_gone");
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
}

CAF_TEST(the sweep takes over an orphaned hold that has expired) {
  put_held("ord_orphan", domain::now_us() - 1000);
  db->active_holds = {hold_info{"ord_orphan", supplier_code, domain::now_us() - 1000}};
  start();
  CAF_CHECK_EQUAL(stored("ord_orphan").status, "closed");
  CAF_CHECK_EQUAL(stored("ord_orphan").status_reason, "hold_expired");
  CAF_CHECK_EQUAL(db->credit_of["ord_orphan"].released, net);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, 0);
}

CAF_TEST(reading an expired held order closes it) {
  start();
  auto r = create("ref-8", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  db->orders[id].hold_expires_us = domain::now_us() - 1000000;
  auto g = get(id);
  CAF_REQUIRE(g);
  CAF_CHECK_EQUAL(g->order.status, "closed");
  CAF_CHECK_EQUAL(g->order.status_reason, "hold_expired");
  CAF_CHECK_EQUAL(stored(id).status, "closed");
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(db->holds[id], "expired");
}

CAF_TEST(cancel charges the policy in force and returns the refund share of the credit) {
  auto now = domain::now_us();
  // In force now: 2500; from tomorrow-ish: the whole price.
  sup->avail.policies = {{now - hour_us, 2500}, {now + hour_us, net}};
  start();
  auto r = create("ref-9");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_REQUIRE_EQUAL(r->order.status, "confirmed");
  CAF_REQUIRE_EQUAL(r->order.policies.size(), 2u);
  auto c = cancel(id);
  CAF_REQUIRE(c);
  CAF_CHECK(!c->replay);
  CAF_CHECK_EQUAL(c->order.status, "cancelled");
  CAF_CHECK_EQUAL(c->order.penalty_minor, 2500);
  CAF_CHECK_EQUAL(c->order.refund_minor, net - 2500);
  CAF_CHECK_EQUAL(sup->cancel_calls, 1);
  CAF_CHECK_EQUAL(sup->cancel_refs, strings{"HB-" + id});
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_confirmed", "cancel_requested",
                                       "supplier_cancelled"}));
  // The cancelled order keeps saying why it was cancelled (as a cancelled held order does).
  CAF_CHECK_EQUAL(stored(id).status_reason, "cancelled_by_agent");
  CAF_CHECK_EQUAL(db->credit_of[id].refunded, net - 2500);
  CAF_CHECK_EQUAL(db->lines["agent-a"].captured, 2500);
  CAF_CHECK_EQUAL(db->lines["agent-a"].reserved, 0);
  CAF_CHECK_EQUAL(db->rows(id, "cancel", "done").size(), 1u);
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  // Cancelling again answers the same result and calls nobody.
  auto again = cancel(id);
  CAF_REQUIRE(again);
  CAF_CHECK(again->replay);
  CAF_CHECK_EQUAL(again->order.status, "cancelled");
  CAF_CHECK_EQUAL(again->order.penalty_minor, 2500);
  CAF_CHECK_EQUAL(again->order.refund_minor, net - 2500);
  CAF_CHECK_EQUAL(sup->cancel_calls, 1);
  CAF_CHECK_EQUAL(db->credit_of[id].refunded, net - 2500);
}

CAF_TEST(cancel of a held order releases the credit without calling the supplier) {
  start();
  auto r = create("ref-9h", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  auto c = cancel(id);
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->order.status, "cancelled");
  CAF_CHECK_EQUAL(c->order.status_reason, "cancelled_by_agent");
  CAF_CHECK_EQUAL(c->order.penalty_minor, 0);
  CAF_CHECK_EQUAL(sup->cancel_calls, 0);
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(db->holds[id], "released");
}

CAF_TEST(a refused cancellation puts the order back to confirmed) {
  sup->cancels = {fails(ec::conflict)};
  sup->avail.policies = {{domain::now_us() - hour_us, 2500}};
  start();
  auto r = create("ref-9r");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_REQUIRE_EQUAL(r->order.status, "confirmed");
  auto c = cancel(id);
  CAF_CHECK_EQUAL(code(c), ec::conflict);
  CAF_CHECK_EQUAL(sup->cancel_calls, 1);
  CAF_CHECK_EQUAL(stored(id).status, "confirmed");
  CAF_CHECK_EQUAL(stored(id).status_reason, "cancel_refused");
  CAF_CHECK_EQUAL(stored(id).penalty_minor, 0);
  CAF_CHECK_EQUAL(stored(id).refund_minor, 0);
  CAF_CHECK_EQUAL(events(id),
                  (strings{"created", "supplier_confirmed", "cancel_requested", "cancel_refused"}));
  CAF_CHECK_EQUAL(db->credit_of[id].refunded, 0);
  CAF_CHECK_EQUAL(db->lines["agent-a"].captured, net);
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  auto g = get(id);
  CAF_REQUIRE(g);
  CAF_CHECK_EQUAL(g->order.status, "confirmed");
}

CAF_TEST(a cancel without an answer stays cancelling and the relay finishes it) {
  sup->cancels = {fails(ec::supplier_timeout), ok()};
  sup->avail.policies = {{domain::now_us() - hour_us, 2500}};
  start();
  auto r = create("ref-9t");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_REQUIRE_EQUAL(r->order.status, "confirmed");
  auto c = cancel(id);
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->order.status, "cancelling");
  CAF_CHECK_EQUAL(c->order.penalty_minor, 2500);
  CAF_CHECK_EQUAL(db->rows(id, "cancel", "pending").size(), 1u);
  CAF_CHECK_EQUAL(db->credit_of[id].refunded, 0);
  // Cancelling again while it is on its way answers the order as it stands.
  auto again = cancel(id);
  CAF_REQUIRE(again);
  CAF_CHECK(again->replay);
  CAF_CHECK_EQUAL(again->order.status, "cancelling");
  CAF_CHECK_EQUAL(sup->cancel_calls, 1);
  // The relay's retry cancels it.
  work(id, "cancel", 1);
  CAF_CHECK_EQUAL(sup->cancel_calls, 2);
  CAF_CHECK_EQUAL(stored(id).status, "cancelled");
  CAF_CHECK_EQUAL(stored(id).penalty_minor, 2500);
  CAF_CHECK_EQUAL(db->credit_of[id].refunded, net - 2500);
  CAF_CHECK_EQUAL(db->pending(id), 0u);
}

CAF_TEST(confirm after the hold expired closes the order and conflicts) {
  start();
  auto r = create("ref-7e", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  db->orders[id].hold_expires_us = domain::now_us() - 1000000;
  CAF_CHECK_EQUAL(code(confirm(id)), ec::conflict);
  CAF_CHECK_EQUAL(stored(id).status, "closed");
  CAF_CHECK_EQUAL(stored(id).status_reason, "hold_expired");
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
  CAF_CHECK_EQUAL(sup->create_calls, 0);
}

CAF_TEST(cancel of an order still being booked conflicts) {
  sup->creates = {fails(ec::supplier_timeout)};
  start();
  auto r = create("ref-9u");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_REQUIRE_EQUAL(r->order.status, "unknown");
  CAF_CHECK_EQUAL(code(cancel(id)), ec::conflict);
  CAF_CHECK_EQUAL(stored(id).status, "unknown");
  CAF_CHECK_EQUAL(sup->cancel_calls, 0);
  // Confirming it answers the order as it stands.
  auto c = confirm(id);
  CAF_REQUIRE(c);
  CAF_CHECK(c->replay);
  CAF_CHECK_EQUAL(c->order.status, "unknown");
  CAF_CHECK_EQUAL(sup->create_calls, 1);
}

CAF_TEST(another agent cannot see or touch an order) {
  start();
  auto held = create("ref-10h", true);
  CAF_REQUIRE(held);
  auto booked = create("ref-10b");
  CAF_REQUIRE(booked);
  const auto h = held->order.order_id;
  const auto b = booked->order.order_id;
  CAF_CHECK_EQUAL(code(get(h, "agent-b")), ec::not_found);
  CAF_CHECK_EQUAL(code(confirm(h, "agent-b")), ec::not_found);
  CAF_CHECK_EQUAL(code(cancel(h, "agent-b")), ec::not_found);
  CAF_CHECK_EQUAL(code(get(b, "agent-b")), ec::not_found);
  CAF_CHECK_EQUAL(code(cancel(b, "agent-b")), ec::not_found);
  CAF_CHECK_EQUAL(stored(h).status, "held");
  CAF_CHECK_EQUAL(stored(h).version, 1);
  CAF_CHECK_EQUAL(stored(b).status, "confirmed");
  CAF_CHECK_EQUAL(sup->create_calls, 1);
  CAF_CHECK_EQUAL(sup->cancel_calls, 0);
  // The owner and an operator (empty agent id) can.
  auto mine = get(h);
  CAF_REQUIRE(mine);
  CAF_CHECK_EQUAL(mine->order.status, "held");
  auto op = get(b, "");
  CAF_REQUIRE(op);
  CAF_CHECK_EQUAL(op->order.status, "confirmed");
}

CAF_TEST(an unknown order id is not found) {
  start();
  CAF_CHECK_EQUAL(code(get("ord_nope")), ec::not_found);
  CAF_CHECK_EQUAL(code(confirm("ord_nope")), ec::not_found);
  CAF_CHECK_EQUAL(code(cancel("ord_nope")), ec::not_found);
  CAF_CHECK(db->orders.empty());
}

CAF_TEST(an idle order actor passivates and the next message rebuilds it) {
  start();
  auto r = create("ref-11", true);
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_CHECK_EQUAL(db->loads[id], 0);
  auto c = confirm(id); // spawns the order's actor, which loads the order
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->order.status, "confirmed");
  CAF_REQUIRE_EQUAL(db->loads[id], 1);
  auto first = caf::actor_cast<caf::actor>(db->loaders.back());
  CAF_REQUIRE(first);
  self->monitor(first);
  // Half the idle timeout: still there.
  advance(cfg->orders.idle_timeout / 2);
  CAF_CHECK(!answered());
  // The rest: it asks the engine and quits.
  advance(cfg->orders.idle_timeout / 2);
  bool down = false;
  self->receive([&](caf::down_msg& m) { down = m.source == first.address(); },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CAF_CHECK(down);
  first = nullptr;
  // The next get rebuilds it from the store.
  auto g = get(id);
  CAF_REQUIRE(g);
  CAF_CHECK_EQUAL(g->order.status, "confirmed");
  CAF_CHECK_EQUAL(db->loads[id], 2);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
}

CAF_TEST(an order with a message on its way is not passivated) {
  start();
  auto r = create("ref-11b");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  // The create's actor starts from the record the create transaction wrote.
  CAF_CHECK_EQUAL(db->loads[id], 0);
  CAF_REQUIRE(!db->writers.empty());
  auto order = caf::actor_cast<caf::actor>(db->writers.back());
  CAF_REQUIRE(order);
  // Let every request deadline of the create pass; the idle timer has not fired yet.
  advance(cfg->orders.idle_timeout / 2);
  // The idle tick reaches the order while a get is on its way through the engine: the order
  // asks to passivate, the engine forwards the get first and then sees that the order has not
  // handled everything it was sent, so the order must stay.
  sched.clock().advance_time(cfg->orders.idle_timeout / 2);
  auto h = self->request(engine, caf::infinite, get_atom::value, cmd(id, "agent-a"));
  while (sched.prioritize(order))
    sched.run_once(); // the tick: passivate is now behind the get in the engine's mailbox
  while (sched.prioritize(engine))
    sched.run_once(); // the get is forwarded, then passivate is answered
  run_messages_only();
  auto g = take<order_reply>(h);
  CAF_REQUIRE(g);
  CAF_CHECK_EQUAL(g->order.status, "confirmed");
  auto again = get(id);
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(db->loads[id], 0); // the same actor answered both
  // Once it really is idle, it goes; the next get loads the order.
  order = nullptr;
  advance(cfg->orders.idle_timeout);
  auto later = get(id);
  CAF_REQUIRE(later);
  CAF_CHECK_EQUAL(later->order.status, "confirmed");
  CAF_CHECK_EQUAL(db->loads[id], 1);
}

CAF_TEST(a stale outbox row is retired without touching the order) {
  sup->creates = {fails(ec::sold_out)};
  start();
  auto r = create("ref-stale");
  CAF_REQUIRE(r);
  const auto id = r->order.order_id;
  CAF_REQUIRE_EQUAL(stored(id).status, "failed");
  // A row the relay claimed before the failure committed comes back.
  work(id, "book", 1);
  CAF_CHECK_EQUAL(sup->create_calls, 1);
  CAF_CHECK_EQUAL(sup->get_calls, 0);
  CAF_CHECK_EQUAL(stored(id).status, "failed");
  CAF_CHECK_EQUAL(stored(id).status_reason, "sold_out");
  CAF_CHECK_EQUAL(events(id), (strings{"created", "supplier_refused"}));
  CAF_CHECK_EQUAL(db->pending(id), 0u);
  CAF_CHECK_EQUAL(db->credit_of[id].released, net);
}

CAF_TEST(the fake store refuses a transition outside the table) {
  // The check the fixture runs after every test: show that it does catch one.
  put_held("ord_direct", domain::now_us() + hour_us);
  order_change c;
  c.order_id = "ord_direct";
  c.version = 1;
  c.from_status = "held";
  c.to_status = "confirmed";
  c.event = "supplier_confirmed";
  auto store = env->actors->get<order_store_actor>(directory::order_store_name(0));
  auto h = self->request(store, caf::infinite, apply_atom::value, c);
  run_messages_only();
  auto res = take<order_record>(h);
  CAF_CHECK_EQUAL(code(res), ec::conflict);
  CAF_CHECK_EQUAL(db->violations.size(), 1u);
  CAF_CHECK_EQUAL(stored("ord_direct").status, "held");
  db->violations.clear();
}

CAF_TEST_FIXTURE_SCOPE_END()
