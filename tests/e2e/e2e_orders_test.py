#!/usr/bin/env python3
"""End-to-end test of the order path: a real `bedbank` process over HTTP.

Starts `bedbank migrate` and `bedbank serve` against the test servers (ctest's
`services` fixture), then walks the order contract (api.md, docs/openapi.yaml):
search → trial → create (idempotent, also when racing) → get/list → confirm/cancel,
the development `Test` scenarios of the mock suppliers (price_changed, sold_out,
booking_error, slow_booking, answer_lost, cancel_refused), holds and their expiry,
credit lines, the operator view and the orders' traces. What the answers claim is checked against
PostgreSQL (orders, order_events, inventory_holds, outbox, credit_ledger, agents,
mock_bookings, trace_events). Last, a production-mode process must refuse the `Test`
header.
Usage: e2e_orders_test.py <bedbank binary> <config>
"""
import datetime
import decimal
import functools
import json
import os
import re
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/e2e/harness.py)
from harness import (FORM_TYPE, JSON_TYPE, OVERSIZED_JSON, check, day, error_code, error_field,  # noqa: E402
                     lit, parse_instant)

BIN, CONFIG, PORT, ADMIN_PORT = harness.invocation()
PG_PORT = os.environ["BEDBANK_TEST_PG_PORT"]
KEY_A, KEY_B, ADMIN = "demo-key-a", "demo-key-b", "demo-admin-token"
KEY_CREDIT, KEY_TINY = "e2e-credit-key-0000000001", "e2e-tiny-key-00000000001"
NODE_ID = "e2e-orders"
STARTUP_SECONDS = 30
SETTLE_SECONDS = 20   # booking retries, answer_lost resolution, sweeps
TRACE_WAIT_SECONDS = 10
HOLD_TTL = 3.0        # inventory.hold_ttl in orders.yaml
RUN = harness.run_id()
START = time.time()
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
TERMINAL = {"confirmed", "failed", "cancelled", "closed"}

# request(method, path, body=None, key=KEY_A, port=PORT, headers=None, raw=None, timeout=30)
request = functools.partial(harness.request, key=KEY_A, port=PORT, timeout=30)
section = harness.section


def minor(money):
    """Minor units of a CNY money object (exponent 2)."""
    return int(decimal.Decimal(money["amount"]) * 100)


def test_header(scenario):
    return {"Test": scenario} if scenario else {}


# -- PostgreSQL -------------------------------------------------------------------------


PG = harness.Postgres(PG_PORT)
sql, sql_int = PG.sql, PG.sql_int


def credit_of(agent):
    rows = sql(f"SELECT credit_limit, credit_reserved, credit_captured FROM agents "
               f"WHERE agent_id = {lit(agent)}")
    return tuple(int(x) for x in rows[0]) if rows else None


def ledger_of(order_id):
    """{kind: summed amount} of the order's credit ledger rows."""
    out = {}
    for kind, amount in sql(f"SELECT kind, sum(amount_minor) FROM credit_ledger "
                            f"WHERE order_id = {lit(order_id)} GROUP BY kind"):
        out[kind] = int(amount)
    return out


def bookings_of(order_id):
    """[(supplier, status)] of the mock suppliers' bookings made for the order."""
    return [tuple(r) for r in sql(f"SELECT supplier, status FROM mock_bookings "
                                  f"WHERE idempotency_key = {lit(order_id)} ORDER BY id")]


def pending_outbox(order_id):
    return sql_int(f"SELECT count(*) FROM outbox WHERE order_id = {lit(order_id)} "
                   f"AND status = 'pending'")


def span_kinds(order_id):
    return {r[0] for r in sql(f"SELECT DISTINCT event_type FROM trace_events "
                              f"WHERE related_type = 'order' AND related_id = {lit(order_id)}")}


def wait_span_kinds(order_id, want):
    deadline = time.time() + TRACE_WAIT_SECONDS
    kinds = set()
    while time.time() < deadline:
        kinds = span_kinds(order_id)
        if want <= kinds:
            break
        time.sleep(0.2)
    return kinds


# -- the order API ----------------------------------------------------------------------


class Rates:
    """Rates of one search, by what the tests need of them."""

    def __init__(self, doc, check_in, check_out):
        self.check_in, self.check_out = check_in, check_out
        self.all = []  # (hotel_id, rate)
        for r in doc.get("results", []):
            for rate in r.get("rates", []):
                self.all.append((r["hotel_id"], rate))
        self.used = set()

    def take(self, refundable=None, supplier=None):
        """A rate not handed out before (so tests do not share one), or any if all are used."""
        for hotel_id, rate in self.all:
            if refundable is not None and rate.get("refundable") != refundable:
                continue
            if supplier is not None and rate.get("supplier") != supplier:
                continue
            if rate["rate_key"] in self.used:
                continue
            self.used.add(rate["rate_key"])
            return hotel_id, rate
        for hotel_id, rate in self.all:
            if refundable is None or rate.get("refundable") == refundable:
                return hotel_id, rate
        raise RuntimeError(f"no rate with refundable={refundable}")


def search(check_in, check_out, key=KEY_A):
    body = {"city": "SHA", "check_in": check_in, "check_out": check_out,
            "rooms": [{"adults": 2, "children_ages": []}], "max_results": 50}
    st, _, doc = request("POST", "/api/search", body, key=key)
    if not check(st == 200, f"search {check_in}..{check_out} → 200 ({st}: {str(doc)[:300]})"):
        raise RuntimeError("search failed")
    return Rates(doc, check_in, check_out)


def guests_rooms(adults=2, children=None, guests=None):
    return [{"adults": adults, "children_ages": children or [],
             "guests": guests if guests is not None else [{"first_name": "San", "last_name": "Zhang"}]}]


def trial_body(rate, **kw):
    b = {"rate_key": rate["rate_key"], "rooms": guests_rooms(), "expected_price": rate["price"]}
    b.update(kw)
    return b


def trial(rate, key=KEY_A, scenario=None, **kw):
    return request("POST", "/api/orders/trial", trial_body(rate, **kw), key=key,
                   headers=test_header(scenario))


def create_body(trial_id, ref, hold_only=False, **kw):
    b = {"trial_id": trial_id, "client_reference": ref, "hold_only": hold_only,
         "contact": {"email": "ops@example.com", "phone": "+86 21 5555 0000"}}
    b.update(kw)
    return b


def create(trial_id, ref, key=KEY_A, hold_only=False, scenario=None, **kw):
    return request("POST", "/api/orders", create_body(trial_id, ref, hold_only, **kw), key=key,
                   headers=test_header(scenario))


def ref(name):
    return f"E2E-{RUN}-{name}"


def get_order(order_id, key=KEY_A):
    st, _, doc = request("GET", f"/api/orders/{order_id}", key=key)
    return doc if st == 200 and isinstance(doc, dict) else None


def wait_order(order_id, key=KEY_A, until=lambda o: o["status"] in TERMINAL, seconds=SETTLE_SECONDS):
    deadline = time.time() + seconds
    o = None
    while time.time() < deadline:
        o = get_order(order_id, key)
        if o is not None and until(o):
            return o
        time.sleep(0.2)
    return o


def history_statuses(order):
    out = []
    for e in order.get("history", []) if isinstance(order, dict) else []:
        out.append(e.get("to_status", e.get("status")))
    return out


def book(rate, name, key=KEY_A, hold_only=False, scenario=None, trial_scenario=None):
    """Trial then create; answers (trial doc, create status, create headers, create doc)."""
    st, _, t = trial(rate, key=key, scenario=trial_scenario)
    if not check(st == 200 and isinstance(t, dict) and t.get("trial_id"),
                 f"{name}: trial → 200 ({st}: {str(t)[:300]})"):
        raise RuntimeError(f"{name}: trial failed")
    st, h, doc = create(t["trial_id"], ref(name), key=key, hold_only=hold_only, scenario=scenario)
    return t, st, h, doc


def book_ok(rate, name, key=KEY_A, hold_only=False, scenario=None):
    """As book, and the create must answer 201 with an order id."""
    t, st, h, doc = book(rate, name, key, hold_only, scenario)
    if not check(st == 201 and isinstance(doc, dict) and doc.get("order_id"),
                 f"{name}: create → 201 ({st}: {str(doc)[:300]})"):
        raise RuntimeError(f"{name}: create failed")
    return t, h, doc


def policy_penalty(order, now_us):
    """The penalty the order's cancellation policies put in force at now_us (minor units)."""
    price = minor(order["price"])
    penalty = 0
    best = None
    for p in order.get("cancellation_policies", []):
        frm = parse_instant(p["from"]).timestamp() * 1e6
        if frm <= now_us and (best is None or frm >= best):
            best, penalty = frm, minor(p["penalty"])
    return min(penalty, price)


# -- the checks -------------------------------------------------------------------------


def trial_checks(rates):
    hotel_id, rate = rates.take(refundable=True)
    st, h, t = trial(rate)
    check(st == 200, f"trial → 200 ({st}: {t})")
    if st != 200:
        return
    check(t.get("status") == "available", f"trial status available ({t.get('status')})")
    check(t.get("price") == rate["price"],
          f"trial price equals the searched one ({t.get('price')} vs {rate['price']})")
    check(isinstance(t.get("trial_id"), str) and len(t["trial_id"]) > 0, "trial_id present")
    check(isinstance(t.get("order_id"), str) and len(t["order_id"]) > 0, "trial order_id present")
    check(INSTANT.fullmatch(t.get("expires_at", "")) is not None,
          f"expires_at is RFC 3339 ms UTC ({t.get('expires_at')})")
    if INSTANT.fullmatch(t.get("expires_at", "")):
        exp = parse_instant(t["expires_at"]).timestamp()
        check(abs(exp - (time.time() + HOLD_TTL)) < 2.0,
              f"trial expires after inventory.hold_ttl ({t['expires_at']})")
    check(re.fullmatch(r"[0-9a-f]{32}", h.get("x-trace-id", "")) is not None, "trial carries X-Trace-Id")

    # price_changed: about 10 % more, and an order from it is refused.
    st, _, pc = trial(rate, scenario="price_changed")
    check(st == 200 and pc.get("status") == "price_changed",
          f"Test: price_changed → status price_changed ({st}: {pc})")
    if st == 200 and isinstance(pc.get("price"), dict):
        ratio = minor(pc["price"]) / max(1, minor(rate["price"]))
        check(1.05 <= ratio <= 1.15, f"price_changed price about 10 % higher ({pc['price']} vs {rate['price']})")
        check(pc["price"]["currency"] == rate["price"]["currency"], "price_changed keeps the currency")
        st, _, doc = create(pc["trial_id"], ref("from-price-changed"))
        check(st == 409 and error_code(doc) == "price_changed",
              f"create from a price_changed trial → 409 price_changed ({st}: {doc})")
    st, _, so = trial(rate, scenario="sold_out")
    check(st == 200 and so.get("status") == "sold_out", f"Test: sold_out → status sold_out ({st}: {so})")
    if st == 200 and so.get("trial_id"):
        st, _, doc = create(so["trial_id"], ref("from-sold-out"))
        check(st == 409 and error_code(doc) == "sold_out",
              f"create from a sold_out trial → 409 sold_out ({st}: {doc})")
    for name in ("from-price-changed", "from-sold-out"):
        n = sql_int(f"SELECT count(*) FROM orders WHERE client_reference = {lit(ref(name))}")
        check(n == 0, f"no order row for a refused create ({name}: {n})")

    # The price check itself (risk.price_tolerance_bps = 100): an expected price 10 % under the
    # supplier's is a change, one 0.5 % under is not.
    def scaled(money, factor):
        return {"amount": str((decimal.Decimal(money["amount"]) * decimal.Decimal(factor)).quantize(decimal.Decimal("0.01"))),
                "currency": money["currency"]}
    st, _, low = trial(rate, expected_price=scaled(rate["price"], "0.9"))
    check(st == 200 and low.get("status") == "price_changed" and low.get("price") == rate["price"],
          f"expected 10 % under the price → price_changed with the current price ({st}: {low})")
    st, _, near = trial(rate, expected_price=scaled(rate["price"], "0.995"))
    check(st == 200 and near.get("status") == "available",
          f"expected 0.5 % under the price → available ({st}: {near})")

    # Validation: 400 with the field at fault.
    st, _, doc = trial(rate, scenario="banana")
    check(st == 400 and error_field(doc) == "Test", f"unknown Test scenario → 400 field Test ({st}: {doc})")
    cases = [
        (trial_body(rate, rate_key="garbage"), "rate_key"),
        (trial_body(rate, rate_key=""), "rate_key"),
        ({k: v for k, v in trial_body(rate).items() if k != "rate_key"}, "rate_key"),
        (trial_body(rate, rooms=guests_rooms(adults=3)), "rooms"),
        (trial_body(rate, rooms=guests_rooms(children=[5])), "rooms"),
        (trial_body(rate, rooms=guests_rooms() * 2), "rooms"),
        (trial_body(rate, rooms=[]), "rooms"),
        (trial_body(rate, rooms=guests_rooms(guests=[])), "rooms[0].guests"),
        (trial_body(rate, rooms=guests_rooms(guests=[{"first_name": "A", "last_name": "B"}] * 3)), "rooms[0].guests"),
        (trial_body(rate, rooms=guests_rooms(guests=[{"first_name": "", "last_name": "Zhang"}])),
         "rooms[0].guests[0].first_name"),
        (trial_body(rate, rooms=guests_rooms(guests=[{"first_name": "San"}])),
         "rooms[0].guests[0].last_name"),
        ({k: v for k, v in trial_body(rate).items() if k != "expected_price"}, "expected_price"),
        (trial_body(rate, expected_price={"amount": "abc", "currency": "CNY"}), "expected_price"),
        (trial_body(rate, expected_price={"amount": "100.00", "currency": "XYZ"}), "expected_price"),
        (trial_body(rate, surprise=1), "surprise"),
    ]
    for body, field in cases:
        st, _, doc = request("POST", "/api/orders/trial", body)
        got = error_field(doc) or ""
        check(st == 400 and error_code(doc) == "invalid_request" and got.startswith(field),
              f"invalid trial {json.dumps(body)[:160]} → 400 field {field}… (got {st} {doc})")
    st, _, doc = request("POST", "/api/orders/trial", raw=b"{nope", headers=JSON_TYPE)
    check(st == 400, f"malformed trial JSON → 400 ({st})")
    st, _, doc = request("POST", "/api/orders/trial", trial_body(rate), key=None)
    check(st == 401, f"trial without a key → 401 ({st})")


def basic_flow(rates, ctx):
    hotel_id, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "basic")
    oid = doc["order_id"]
    ctx["basic"] = oid
    ctx["basic_trial"] = t["trial_id"]
    check(oid == t.get("order_id"), f"the order id is the trial's ({oid} vs {t.get('order_id')})")
    check(doc.get("status") == "confirmed", f"quick supplier: create answers confirmed ({doc.get('status')})")
    create_trace = h.get("x-trace-id")
    check(doc.get("trace_id") == create_trace,
          f"create trace_id equals X-Trace-Id ({doc.get('trace_id')} vs {create_trace})")
    ctx["basic_trace"] = create_trace

    o = get_order(oid)
    check(o is not None, "GET the order → 200")
    if o is None:
        return
    for k in ("order_id", "status", "status_reason", "supplier", "supplier_booking_ref", "hotel_id",
              "check_in", "check_out", "rooms", "price", "net", "cancellation_policies", "history",
              "trace_ids", "client_reference"):
        check(k in o, f"order has {k}")
    check(o.get("status") == "confirmed", f"order confirmed ({o.get('status')})")
    check(o.get("supplier") == rate["supplier"], f"order supplier is the rate's ({o.get('supplier')})")
    check(bool(o.get("supplier_booking_ref")), "confirmed order has a supplier_booking_ref")
    check(o.get("hotel_id") == hotel_id, f"order hotel_id ({o.get('hotel_id')} vs {hotel_id})")
    check(o.get("check_in") == rates.check_in and o.get("check_out") == rates.check_out,
          f"order dates ({o.get('check_in')}..{o.get('check_out')})")
    check(o.get("price") == rate["price"], f"order price is the trial's ({o.get('price')} vs {rate['price']})")
    net = o.get("net") or {}
    if net.get("currency") == rate["net"]["currency"]:
        check(net == rate["net"], f"order net is the rate's ({net} vs {rate['net']})")
    else:  # the order may keep the supplier's own currency
        print(f"note: order net {net} is in another currency than the searched {rate['net']}")
    check(o.get("client_reference") == ref("basic"), "order client_reference")
    check(o.get("contact") == {"email": "ops@example.com", "phone": "+86 21 5555 0000"},
          f"order contact ({o.get('contact')})")
    check(o.get("hold_only") is False and o.get("refundable") is True, "order hold_only false, refundable true")
    rooms = o.get("rooms") or [{}]
    check(len(rooms) == 1 and rooms[0].get("adults") == 2, f"order rooms ({rooms})")
    check(isinstance(o.get("cancellation_policies"), list) and len(o["cancellation_policies"]) > 0,
          "refundable order has cancellation policies")
    hs = history_statuses(o)
    check(hs and hs[-1] == "confirmed" and "booking" in hs, f"history ends in confirmed via booking ({hs})")
    check(all(INSTANT.fullmatch(str(e.get("at", e.get("time", e.get("created_at", ""))))) for e in o.get("history", [])),
          f"every history entry has an RFC 3339 instant ({o.get('history')})")
    check(create_trace in (o.get("trace_ids") or []), f"trace_ids include the create's ({o.get('trace_ids')})")

    # PostgreSQL agrees.
    rows = sql(f"SELECT status, supplier_ref, agent_id, credit_minor, price_minor FROM orders WHERE order_id = {lit(oid)}")
    check(len(rows) == 1 and rows[0][0] == "confirmed" and rows[0][1] == o.get("supplier_booking_ref")
          and rows[0][2] == "demo-a", f"orders row ({rows})")
    n_events = sql_int(f"SELECT count(*) FROM order_events WHERE order_id = {lit(oid)}")
    check(n_events == len(o.get("history", [])),
          f"order_events rows = history entries ({n_events} vs {len(o.get('history', []))})")
    check(bookings_of(oid) == [(rate["supplier"], "confirmed")],
          f"one confirmed mock booking ({bookings_of(oid)})")
    check(pending_outbox(oid) == 0, "no pending outbox row for a confirmed order")
    led = ledger_of(oid)
    check(led.get("reserve", 0) > 0 and led.get("reserve") == led.get("capture"),
          f"ledger: reserve then capture ({led})")
    holds = sql(f"SELECT status FROM inventory_holds WHERE order_id = {lit(oid)}")
    check(all(r[0] != "active" for r in holds), f"no active hold after confirmation ({holds})")

    # Idempotency and conflicts.
    st, h2, again = create(t["trial_id"], ref("basic"))
    check(st == 200 and h2.get("idempotent-replay") == "true",
          f"same client_reference → 200 Idempotent-Replay ({st} {h2.get('idempotent-replay')})")
    check(isinstance(again, dict) and again.get("order_id") == oid, f"replay answers the same order ({again})")
    st, _, doc = create(t["trial_id"], ref("basic-other"))
    check(st == 409 and error_code(doc) == "conflict",
          f"same trial, another client_reference → 409 conflict ({st}: {doc})")
    check(sql_int(f"SELECT count(*) FROM orders WHERE client_reference = {lit(ref('basic-other'))}") == 0,
          "no order for the conflicting client_reference")
    st, _, doc = create(t["trial_id"], ref("basic-b"), key=KEY_B)
    check(st == 404 and error_field(doc) == "trial_id",
          f"another agent's trial → 404 field trial_id ({st}: {doc})")

    # Other agents see nothing.
    st, _, doc = request("GET", f"/api/orders/{oid}", key=KEY_B)
    check(st == 404, f"agent B reads agent A's order → 404 ({st})")
    st, _, doc = request("GET", "/api/orders/ORD-does-not-exist", key=KEY_A)
    check(st == 404, f"unknown order → 404 ({st})")
    st, _, doc = request("GET", f"/api/orders/{oid}", key=None)
    check(st == 401, f"order without a key → 401 ({st})")
    st, _, doc = request("POST", f"/api/orders/{oid}/cancel", {}, key=KEY_B)
    check(st == 404, f"agent B cancels agent A's order → 404 ({st})")
    check(get_order(oid)["status"] == "confirmed", "… and it stays confirmed")


def create_validation(rates):
    _, rate = rates.take(refundable=True)
    st, _, doc = create("no-such-trial", ref("unknown-trial"))
    check(st == 404 and error_field(doc) == "trial_id", f"unknown trial → 404 field trial_id ({st}: {doc})")
    st, _, t = trial(rate)
    if not check(st == 200, f"trial → 200 ({st})"):
        return
    tid = t["trial_id"]
    cases = [
        ({"client_reference": ref("no-trial"), "hold_only": False}, "trial_id"),
        ({"trial_id": tid, "hold_only": False}, "client_reference"),
        (create_body(tid, ""), "client_reference"),
        (create_body(tid, "X" * 65), "client_reference"),
        (create_body(tid, ref("bad-hold"), hold_only="yes"), "hold_only"),
        (create_body(tid, ref("bad-contact"), contact="nope"), "contact"),
        (create_body(tid, ref("surprise"), surprise=True), "surprise"),
    ]
    for body, field in cases:
        st, _, doc = request("POST", "/api/orders", body)
        check(st == 400 and (error_field(doc) or "").startswith(field),
              f"invalid create {json.dumps(body)[:140]} → 400 field {field} ({st}: {doc})")
    n = sql_int(f"SELECT count(*) FROM orders WHERE order_id = {lit(t.get('order_id', ''))}")
    check(n == 0, f"refused creates wrote nothing ({n})")
    st, _, doc = create(tid, ref("bad-test"), scenario="banana")
    check(st == 400 and error_field(doc) == "Test",
          f"create with an unknown Test scenario → 400 field Test ({st}: {doc})")


def expired_trial(rates):
    _, rate = rates.take(refundable=True)
    st, _, t = trial(rate)
    if not check(st == 200, f"trial → 200 ({st})"):
        return
    time.sleep(HOLD_TTL + 1.0)
    st, _, doc = create(t["trial_id"], ref("expired-trial"))
    check(st == 404 and error_field(doc) == "trial_id", f"expired trial → 404 field trial_id ({st}: {doc})")
    check(sql_int(f"SELECT count(*) FROM orders WHERE client_reference = {lit(ref('expired-trial'))}") == 0,
          "no order from an expired trial")


def scenarios(rates, ctx):
    # Each: trial without a header, create with `Test: <scenario>`.
    started = {}
    for name in ("ok", "slow_booking", "booking_error", "sold_out", "answer_lost"):
        _, rate = rates.take(refundable=True)
        t0 = time.time()
        t, st, h, doc = book(rate, f"scn-{name}", scenario=name)
        took = time.time() - t0
        if not check(st == 201 and isinstance(doc, dict), f"Test: {name} create → 201 ({st}: {doc})"):
            continue
        started[name] = (doc["order_id"], doc.get("status"), took, rate)
    if "ok" in started:
        check(started["ok"][1] == "confirmed", f"ok → confirmed at once ({started['ok'][1]})")
    if "slow_booking" in started:
        oid, status, took, _ = started["slow_booking"]
        check(status == "confirmed", f"slow_booking (< create_wait) → confirmed at once ({status})")
        check(took >= 0.4, f"slow_booking create took the supplier's delay ({took:.2f} s)")
    if "answer_lost" in started:
        oid, status, took, _ = started["answer_lost"]
        check(status in ("unknown", "booking"),
              f"answer_lost: create answers unknown (the supplier timed out) ({status})")
    if "booking_error" in started:
        check(started["booking_error"][1] in ("booking", "failed"),
              f"booking_error: create answers booking (retrying) or failed ({started['booking_error'][1]})")

    final = {}
    for name, (oid, _, _, _) in started.items():
        final[name] = wait_order(oid)
    for name, o in final.items():
        check(o is not None and o.get("status") in TERMINAL, f"{name}: order settles ({o and o.get('status')})")
    o = final.get("ok")
    if o:
        check(o["status"] == "confirmed" and o.get("supplier_booking_ref"), "ok: confirmed with a supplier ref")
        check(len(bookings_of(o["order_id"])) == 1, f"ok: one mock booking ({bookings_of(o['order_id'])})")
    o = final.get("slow_booking")
    if o:
        check(o["status"] == "confirmed" and len(bookings_of(o["order_id"])) == 1,
              f"slow_booking: confirmed, one booking ({o['status']}, {bookings_of(o['order_id'])})")
    o = final.get("booking_error")
    if o:
        oid = o["order_id"]
        check(o["status"] == "failed",
              f"booking_error: failed after the retries ({o['status']} {o.get('status_reason')})")
        check(bool(o.get("status_reason")), f"booking_error: a status_reason ({o.get('status_reason')!r})")
        db = sql(f"SELECT status, status_reason FROM orders WHERE order_id = {lit(oid)}")
        check(db and db[0][0] == "failed", f"booking_error: failed in PostgreSQL ({db})")
        check(db and db[0][0] == o["status"],
              f"booking_error: GET agrees with PostgreSQL (GET {o['status']}, db {db})")
        # One outbox row per attempt (each attempt claims the next one) or one row re-armed.
        rows = sql(f"SELECT attempts, max_attempts, status FROM outbox WHERE order_id = {lit(oid)} AND kind = 'book'")
        check(rows and max(int(r[0]) for r in rows) == 3 and all(r[1] == "3" and r[2] == "done" for r in rows),
              f"booking_error: suppliers.<code>.booking.max_attempts = 3 attempts, all done ({rows})")
        spans = sql(f"SELECT count(*) FROM trace_events WHERE related_type = 'order' AND related_id = {lit(oid)} "
                    f"AND event_type = 'book'")
        check(spans and int(spans[0][0]) == 3, f"booking_error: three book spans ({spans})")
        check(bookings_of(oid) == [], f"booking_error: nothing booked ({bookings_of(oid)})")
        led = ledger_of(oid)
        check(led.get("reserve", 0) > 0 and led.get("release") == led.get("reserve") and "capture" not in led,
              f"booking_error: credit reserved then released ({led})")
        check(pending_outbox(oid) == 0, "booking_error: no pending outbox row")
    o = final.get("sold_out")
    if o:
        check(o["status"] == "failed" and o.get("status_reason") == "sold_out",
              f"sold_out: failed, reason sold_out ({o['status']} {o.get('status_reason')})")
        check(bookings_of(o["order_id"]) == [], "sold_out: nothing booked")
    o = final.get("answer_lost")
    if o:
        oid = o["order_id"]
        hs = history_statuses(o)
        check(o["status"] == "confirmed",
              f"answer_lost: resolved to confirmed ({o['status']} {o.get('status_reason')})")
        check("unknown" in hs, f"answer_lost: history passes through unknown ({hs})")
        check(bool(o.get("supplier_booking_ref")), "answer_lost: the supplier ref found by GetBooking")
        bk = bookings_of(oid)
        check(len(bk) == 1 and bk[0][1] == "confirmed", f"answer_lost: exactly one booking at the supplier ({bk})")
        rows = sql(f"SELECT supplier_ref FROM mock_bookings WHERE idempotency_key = {lit(oid)}")
        check(rows and rows[0][0] == o.get("supplier_booking_ref"),
              f"answer_lost: the order's ref is the booking's ({rows})")
        ctx["answer_lost"] = oid
    ctx["scenario_orders"] = {n: o["order_id"] for n, o in final.items() if o}


def concurrently(n, fn):
    """Runs fn(i) for i < n in n threads started together; answers their results."""
    out = [None] * n
    gate = threading.Barrier(n)

    def go(i):
        try:
            gate.wait()
            out[i] = fn(i)
        except Exception as e:  # an error answer is one of the results
            out[i] = (0, {}, f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


def race(rates):
    _, rate = rates.take(refundable=True)
    st, _, t = trial(rate)
    if not check(st == 200, f"race: trial → 200 ({st})"):
        return
    answers = concurrently(20, lambda i: create(t["trial_id"], ref("race")))
    statuses = sorted(a[0] for a in answers)
    created = [a for a in answers if a[0] == 201]
    replays = [a for a in answers if a[0] == 200 and a[1].get("idempotent-replay") == "true"]
    check(len(created) == 1 and len(replays) == 19, f"20 racing creates: one 201, 19 replays ({statuses})")
    ids = {a[2].get("order_id") for a in answers if isinstance(a[2], dict)}
    check(len(ids) == 1, f"racing creates answer one order id ({ids})")
    n = sql_int(f"SELECT count(*) FROM orders WHERE agent_id = 'demo-a' AND client_reference = {lit(ref('race'))}")
    check(n == 1, f"one order row for the raced client_reference ({n})")
    if len(ids) == 1:
        oid = ids.pop()
        o = wait_order(oid)
        check(o and o["status"] == "confirmed", f"raced order confirmed ({o and o['status']})")
        check(len(bookings_of(oid)) == 1, f"raced order booked once ({bookings_of(oid)})")
        led = ledger_of(oid)
        check(led.get("reserve") == minor(rate["price"]) and led.get("capture") == led.get("reserve"),
              f"raced order reserved credit once ({led})")


def credit_flow(rates, ctx):
    agent = "e2e-credit"
    key = KEY_CREDIT
    before = credit_of(agent)
    if not check(before is not None, "the configured agent e2e-credit has a credit line in `agents`"):
        return
    check(before[0] == 100000000, f"e2e-credit limit is 1000000.00 CNY ({before[0]})")
    check(before[1] == 0, f"e2e-credit reserves nothing at rest ({before[1]})")

    # A confirmed order captures its price.
    hotel_id, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "credit-confirm", key=key)
    oid = doc["order_id"]
    price = minor(rate["price"])
    o = wait_order(oid, key)
    check(o and o["status"] == "confirmed", f"credit: order confirmed ({o and o['status']})")
    after = credit_of(agent)
    check(after[1] == before[1] and after[2] == before[2] + price,
          f"credit: confirmed order captured its price {price} (reserved {before[1]}→{after[1]}, captured {before[2]}→{after[2]})")
    check(ledger_of(oid) == {"reserve": price, "capture": price},
          f"credit: ledger reserve+capture ({ledger_of(oid)})")

    # Cancel it: free cancellation still (refundable rate, check-in 40 days ahead).
    before = after
    now_us = time.time() * 1e6
    st, h, c = request("POST", f"/api/orders/{oid}/cancel", {}, key=key)
    check(st == 200 and isinstance(c, dict) and c.get("status") == "cancelled",
          f"cancel confirmed → 200 cancelled ({st}: {c})")
    if st == 200 and isinstance(c, dict) and isinstance(c.get("penalty"), dict) and isinstance(c.get("refund"), dict):
        pen, refd = minor(c["penalty"]), minor(c["refund"])
        want_pen = policy_penalty(o, now_us)
        check(pen == want_pen, f"cancel penalty per the policies in force ({c['penalty']}, want {want_pen})")
        check(pen + refd == price, f"penalty + refund = price ({pen} + {refd} vs {price})")
        check(pen == 0, f"refundable order 40 days ahead cancels free ({c['penalty']})")
        check(c["penalty"]["currency"] == rate["price"]["currency"], "penalty currency")
        after = credit_of(agent)
        check(after[2] == before[2] - refd and after[1] == before[1],
              f"credit: cancel returned the refund {refd} (captured {before[2]}→{after[2]}, reserved {before[1]}→{after[1]})")
        led = ledger_of(oid)
        check(led.get("refund", 0) == refd, f"credit: ledger has the refund ({led})")
        st, _, c2 = request("POST", f"/api/orders/{oid}/cancel", {}, key=key)
        check(st == 200 and c2.get("status") == "cancelled" and c2.get("penalty") == c["penalty"]
              and c2.get("refund") == c["refund"], f"cancel again → 200, same result ({st}: {c2})")
        check(credit_of(agent) == after, "credit: a repeated cancel moves nothing")
        check(bookings_of(oid) == [(rate["supplier"], "cancelled")],
              f"the mock booking is cancelled ({bookings_of(oid)})")
        ctx["cancel_trace"] = h.get("x-trace-id")
        o2 = get_order(oid, key)
        check(o2 and h.get("x-trace-id") in (o2.get("trace_ids") or []),
              f"trace_ids include the cancel's ({o2 and o2.get('trace_ids')})")
        check(o2 and o2.get("status") == "cancelled", f"GET shows cancelled ({o2 and o2.get('status')})")
    ctx["credit_cancelled"] = oid
    kinds = wait_span_kinds(oid, {"trial", "book", "cancel"})
    check({"trial", "book", "cancel"} <= kinds,
          f"spans of the cancelled order include trial, book, cancel ({sorted(kinds)})")

    def held(name):
        """A hold_only order of the agent's: (its credit line before, the price, the create's answer)."""
        before = credit_of(agent)
        _, rate = rates.take(refundable=True)
        _, _, doc = book_ok(rate, name, key=key, hold_only=True)
        return before, minor(rate["price"]), doc

    # hold_only, then confirm: reserved while held, captured when confirmed; confirm is idempotent.
    before, price, doc = held("credit-hold-confirm")
    oid = doc["order_id"]
    ctx["hold_confirmed"] = oid
    check(doc.get("status") == "held", f"hold_only → held ({doc.get('status')})")
    mid = credit_of(agent)
    check(mid[1] == before[1] + price, f"credit: a held order reserves its price ({before[1]}→{mid[1]}, {price})")
    holds = sql(f"SELECT status, expires_at > now() FROM inventory_holds WHERE order_id = {lit(oid)}")
    check(holds == [["active", "t"]], f"an active inventory hold ({holds})")
    check(bookings_of(oid) == [], "nothing booked while held")
    st, h, cf = request("POST", f"/api/orders/{oid}/confirm", {}, key=key)
    check(st == 200 and isinstance(cf, dict) and cf.get("status") in ("booking", "confirmed"),
          f"confirm → 200 booking/confirmed ({st}: {cf})")
    if isinstance(cf, dict):
        check(cf.get("status") == "confirmed",
              f"confirm of a quick supplier answers confirmed ({cf.get('status')})")
    o = wait_order(oid, key)
    check(o and o["status"] == "confirmed" and o.get("supplier_booking_ref"),
          f"held → confirmed ({o and o['status']})")
    if o and o["status"] == "confirmed":
        st, _, cf2 = request("POST", f"/api/orders/{oid}/confirm", {}, key=key)
        check(st == 200 and cf2.get("status") == "confirmed" and cf2.get("supplier_booking_ref") == o["supplier_booking_ref"],
              f"confirm again → 200 unchanged ({st}: {cf2})")
        o2 = get_order(oid, key)
        check(len(o2.get("history", [])) == len(o.get("history", [])), "a repeated confirm adds no history")
        check(len(bookings_of(oid)) == 1, f"confirmed once at the supplier ({bookings_of(oid)})")
        after = credit_of(agent)
        check(after[1] == before[1] and after[2] == before[2] + price,
              f"credit: confirm captured the reservation (reserved {before[1]}→{after[1]}, captured {before[2]}→{after[2]})")
        hold = sql(f"SELECT status FROM inventory_holds WHERE order_id = {lit(oid)}")
        check(hold and hold[0][0] != "active", f"the hold is no longer active ({hold})")
        kinds = wait_span_kinds(oid, {"trial", "confirm"})
        check({"trial", "confirm"} <= kinds,
              f"spans of the held-then-confirmed order include trial, confirm ({sorted(kinds)})")

    # hold_only, then cancel: nothing to cancel at the supplier, credit released.
    before, price, doc = held("credit-hold-cancel")
    oid = doc["order_id"]
    st, _, c = request("POST", f"/api/orders/{oid}/cancel", {}, key=key)
    check(st == 200 and isinstance(c, dict) and c.get("status") == "cancelled",
          f"cancel held → 200 cancelled ({st}: {c})")
    if isinstance(c, dict) and isinstance(c.get("penalty"), dict):
        check(minor(c["penalty"]) == 0, f"cancelling a hold costs nothing ({c['penalty']})")
    after = credit_of(agent)
    check(after == before, f"credit: a cancelled hold released its reservation ({before} → {after})")
    led = ledger_of(oid)
    check(led == {"reserve": price, "release": price}, f"credit: ledger reserve+release ({led})")
    check(bookings_of(oid) == [], "cancelled hold: nothing booked")
    hold = sql(f"SELECT status FROM inventory_holds WHERE order_id = {lit(oid)}")
    check(hold and hold[0][0] != "active", f"cancelled hold: the hold is released ({hold})")
    st, _, doc = request("POST", f"/api/orders/{oid}/confirm", {}, key=key)
    check(st == 409 and error_code(doc) == "conflict", f"confirm a cancelled order → 409 conflict ({st}: {doc})")

    # hold_only, left alone: the hold expires, the order closes, the credit comes back.
    before, price, doc = held("credit-hold-expire")
    oid = doc["order_id"]
    check(credit_of(agent)[1] == before[1] + price, "credit: reserved while held")
    # Watch through the database, not GET (a read may close an expired order itself): the
    # sweep (inventory.cleanup_interval) must close it on its own.
    deadline = time.time() + HOLD_TTL + SETTLE_SECONDS
    status = None
    while time.time() < deadline:
        rows = sql(f"SELECT status, status_reason FROM orders WHERE order_id = {lit(oid)}")
        status = rows[0] if rows else None
        if status and status[0] == "closed":
            break
        time.sleep(0.3)
    check(status == ["closed", "hold_expired"],
          f"the sweep closes an expired hold, reason hold_expired ({status})")
    o = get_order(oid, key)
    check(o and o["status"] == "closed" and o.get("status_reason") == "hold_expired",
          f"GET shows closed/hold_expired ({o and (o['status'], o.get('status_reason'))})")
    after = credit_of(agent)
    check(after == before, f"credit: the expired hold's reservation is released ({before} → {after})")
    check(ledger_of(oid) == {"reserve": price, "release": price},
          f"credit: ledger reserve+release ({ledger_of(oid)})")
    hold = sql(f"SELECT status FROM inventory_holds WHERE order_id = {lit(oid)}")
    check(hold and hold[0][0] == "expired", f"the hold row is expired ({hold})")
    st, _, doc = request("POST", f"/api/orders/{oid}/confirm", {}, key=key)
    check(st == 409 and error_code(doc) == "conflict", f"confirm a closed order → 409 conflict ({st}: {doc})")
    check(bookings_of(oid) == [], "closed order: nothing booked")
    check(credit_of(agent)[1] == 0, f"e2e-credit reserves nothing at the end ({credit_of(agent)})")

    # Not enough credit: 402 and nothing written.
    _, rate = rates.take(refundable=True)
    st, _, t = trial(rate, key=KEY_TINY)
    check(st == 200, f"tiny agent: trial → 200 ({st}: {t})")
    if st == 200:
        st, _, doc = create(t["trial_id"], ref("tiny"), key=KEY_TINY)
        check(st == 402 and error_code(doc) == "insufficient_credit",
              f"not enough credit → 402 insufficient_credit ({st}: {doc})")
        n = sql_int(f"SELECT count(*) FROM orders WHERE agent_id = 'e2e-tiny' AND client_reference = {lit(ref('tiny'))}")
        check(n == 0, f"402: no order row ({n})")
        oid = t.get("order_id", "")
        for table in ("credit_ledger", "outbox", "inventory_holds", "order_events"):
            n = sql_int(f"SELECT count(*) FROM {table} WHERE order_id = {lit(oid)}")
            check(n == 0, f"402: nothing in {table} ({n})")
        tiny = credit_of("e2e-tiny")
        check(tiny is not None and tiny[0] == 1000 and tiny[1] == 0 and tiny[2] == 0,
              f"tiny credit line untouched ({tiny})")
        st, _, doc = create(t["trial_id"], ref("tiny"), key=KEY_TINY)
        check(st == 402, f"a retried create still answers 402 ({st})")


def cancel_penalties(ctx):
    # Check-in tomorrow: refundable rates are past their free period (arrival - 3 days).
    rates = search(day(1), day(3))
    _, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "penalty-refundable")
    oid = doc["order_id"]
    o = wait_order(oid)
    if check(o and o["status"] == "confirmed", f"penalty order confirmed ({o and o['status']})"):
        now_us = time.time() * 1e6
        st, _, c = request("POST", f"/api/orders/{oid}/cancel", {})
        check(st == 200 and c.get("status") == "cancelled", f"cancel → 200 cancelled ({st}: {c})")
        if st == 200 and isinstance(c.get("penalty"), dict):
            pen, refd, price = minor(c["penalty"]), minor(c["refund"]), minor(o["price"])
            want = policy_penalty(o, now_us)
            check(pen == want and pen > 0,
                  f"inside the penalty period: penalty per policy ({c['penalty']}, want {want})")
            check(pen + refd == price, f"penalty + refund = price ({pen}+{refd} vs {price})")
    # A non-refundable rate costs everything.
    rates = search(day(40), day(42))
    try:
        _, rate = rates.take(refundable=False)
    except RuntimeError:
        check(False, "a non-refundable rate in the search")
        return
    t, h, doc = book_ok(rate, "penalty-nonref")
    oid = doc["order_id"]
    o = wait_order(oid)
    if check(o and o["status"] == "confirmed", f"non-refundable order confirmed ({o and o['status']})"):
        st, _, c = request("POST", f"/api/orders/{oid}/cancel", {})
        check(st == 200 and c.get("status") == "cancelled", f"cancel non-refundable → 200 cancelled ({st}: {c})")
        if st == 200 and isinstance(c.get("penalty"), dict):
            check(minor(c["penalty"]) == policy_penalty(o, time.time() * 1e6) and minor(c["refund"]) == minor(o["price"]) - minor(c["penalty"]),
                  f"non-refundable: penalty per policy ({c['penalty']}, refund {c['refund']}, price {o['price']})")


def cancel_refused(rates):
    _, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "cancel-refused")
    oid = doc["order_id"]
    o = wait_order(oid)
    if not check(o and o["status"] == "confirmed", f"order confirmed ({o and o['status']})"):
        return
    st, _, c = request("POST", f"/api/orders/{oid}/cancel", {}, headers={"Test": "cancel_refused"})
    check(st == 409 and error_code(c) == "conflict", f"cancel_refused → 409 conflict ({st}: {c})")
    o = wait_order(oid, until=lambda o: o["status"] != "cancelling")
    check(o and o["status"] == "confirmed", f"refused cancel: the order stays confirmed ({o and o['status']})")
    check(bookings_of(oid) == [(rate["supplier"], "confirmed")],
          f"refused cancel: the booking stands ({bookings_of(oid)})")
    led = ledger_of(oid)
    check("refund" not in led, f"refused cancel: no refund ({led})")
    check(pending_outbox(oid) == 0, "refused cancel: no pending outbox row")


def edges(rates):
    demo = credit_of("demo-a")
    check(demo is not None and demo[0] == 100000000, f"demo-a's credit line is 1000000.00 CNY ({demo})")

    # One trial, ten client references at once: one order, the rest 409 conflict.
    _, rate = rates.take(refundable=True)
    st, _, t = trial(rate)
    if check(st == 200, f"trial → 200 ({st})"):
        answers = concurrently(10, lambda i: create(t["trial_id"], ref(f"one-trial-{i}")))
        codes = sorted(a[0] for a in answers)
        check(codes == [201] + [409] * 9 and all(error_code(a[2]) == "conflict" for a in answers if a[0] == 409),
              f"one trial, ten client references at once: one 201, nine 409 conflict ({codes})")
        n = sql_int(f"SELECT count(*) FROM orders WHERE order_id = {lit(t['order_id'])}")
        check(n == 1, f"one order row for the trial ({n})")
        winner = [a for a in answers if a[0] == 201]
        if winner:
            check(winner[0][1].get("idempotent-replay") in (None, "false"),
                  "a first create is not marked as a replay")

    # A direct order is confirmed: confirm again changes nothing.
    _, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "confirm-confirmed")
    oid = doc["order_id"]
    o = wait_order(oid)
    if check(o and o["status"] == "confirmed", f"order confirmed ({o and o['status']})"):
        st, _, cf = request("POST", f"/api/orders/{oid}/confirm", {})
        check(st == 200 and cf.get("status") == "confirmed",
              f"confirm a confirmed order → 200 unchanged ({st}: {cf})")
        check(len(get_order(oid).get("history", [])) == len(o.get("history", [])), "… and adds no history")
        # Ten cancels at once: all 200 with one result, one cancellation at the supplier.
        answers = concurrently(10, lambda i: request("POST", f"/api/orders/{oid}/cancel", {}))
        codes = sorted(a[0] for a in answers)
        check(codes == [200] * 10,
              f"ten cancels at once → all 200 ({codes}: {[a[2] for a in answers if a[0] != 200][:2]})")
        results = {json.dumps([a[2].get("status"), a[2].get("penalty"), a[2].get("refund")])
                   for a in answers if a[0] == 200 and isinstance(a[2], dict)}
        check(len(results) == 1 and '"cancelled"' in next(iter(results), ""),
              f"ten cancels answer one result, cancelled ({results})")
        led = ledger_of(oid)
        check(led.get("refund") == minor(o["price"]), f"one refund in the ledger ({led})")
        check(bookings_of(oid) == [(rate["supplier"], "cancelled")], f"one cancelled booking ({bookings_of(oid)})")
        st, h2, again = create(t["trial_id"], ref("confirm-confirmed"))
        check(st == 200 and h2.get("idempotent-replay") == "true" and again.get("order_id") == oid
              and again.get("status") == "cancelled",
              f"replaying the create of a cancelled order shows it cancelled ({st}: {again})")
        st, _, cf = request("POST", f"/api/orders/{oid}/confirm", {})
        check(st == 409 and error_code(cf) == "conflict", f"confirm a cancelled order → 409 conflict ({st}: {cf})")

    # A held order, ten confirms at once: one booking.
    _, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "confirm-race", hold_only=True)
    oid = doc["order_id"]
    answers = concurrently(10, lambda i: request("POST", f"/api/orders/{oid}/confirm", {}))
    codes = sorted(a[0] for a in answers)
    check(codes == [200] * 10,
          f"ten confirms at once → all 200 ({codes}: {[a[2] for a in answers if a[0] != 200][:2]})")
    o = wait_order(oid)
    check(o and o["status"] == "confirmed", f"raced confirms: confirmed ({o and o['status']})")
    check(len(bookings_of(oid)) == 1, f"raced confirms: one booking ({bookings_of(oid)})")
    led = ledger_of(oid)
    check(led.get("capture") == led.get("reserve") and "release" not in led,
          f"raced confirms: captured once ({led})")

    # The scenario chosen at create plays when a held order is confirmed.
    _, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "held-sold-out", hold_only=True, scenario="sold_out")
    oid = doc["order_id"]
    check(doc.get("status") == "held", f"hold_only with Test: sold_out → held ({doc.get('status')})")
    st, _, cf = request("POST", f"/api/orders/{oid}/confirm", {})
    check(st in (200, 409), f"confirming it answers 200 or 409 ({st}: {cf})")
    o = wait_order(oid)
    check(o and o["status"] == "failed" and o.get("status_reason") == "sold_out",
          f"held, confirmed, supplier sold out → failed/sold_out ({o and (o['status'], o.get('status_reason'))})")
    check(bookings_of(oid) == [], "held-sold-out: nothing booked")
    led = ledger_of(oid)
    check(led.get("release") == led.get("reserve") and "capture" not in led,
          f"held-sold-out: credit released ({led})")

    # price_changed at booking time (the trial was fine): the order fails, nothing is booked.
    _, rate = rates.take(refundable=True)
    t, st, h, doc = book(rate, "book-price-changed", scenario="price_changed")
    if check(st == 201, f"create with Test: price_changed → 201 ({st}: {doc})"):
        o = wait_order(doc["order_id"])
        check(o and o["status"] == "failed" and o.get("status_reason") == "price_changed",
              f"supplier price changed at booking → failed/price_changed ({o and (o['status'], o.get('status_reason'))})")
        check(bookings_of(doc["order_id"]) == [], "book-price-changed: nothing booked")
        st, _, c = request("POST", f"/api/orders/{doc['order_id']}/cancel", {})
        check(st == 409 and error_code(c) == "conflict", f"cancel a failed order → 409 conflict ({st}: {c})")

    st, _, doc = request("GET", "/api/orders?limit=0")
    check(st == 400 and error_field(doc) == "limit", f"list limit=0 → 400 field limit ({st}: {doc})")


def multi_room():
    rooms = [{"adults": 2, "children_ages": []}, {"adults": 1, "children_ages": [5]}]
    body = {"city": "SHA", "check_in": day(45), "check_out": day(46), "rooms": rooms}
    st, _, doc = request("POST", "/api/search", body)
    if not check(st == 200 and doc.get("results"), f"two-room search → 200 ({st})"):
        return
    rate = doc["results"][0]["rates"][0]
    with_guests = [
        {"adults": 2, "children_ages": [], "guests": [{"first_name": "三", "last_name": "张"},
                                                      {"first_name": "Zoë", "last_name": "Müller"}]},
        {"adults": 1, "children_ages": [5], "guests": [{"first_name": "Li", "last_name": "Si"}]},
    ]
    st, _, t = request("POST", "/api/orders/trial", {"rate_key": rate["rate_key"], "rooms": with_guests,
                                                      "expected_price": rate["price"]})
    if not check(st == 200 and t.get("status") == "available", f"two-room trial → available ({st}: {t})"):
        return
    st, _, bad = request("POST", "/api/orders/trial", {"rate_key": rate["rate_key"], "rooms": with_guests[:1],
                                                        "expected_price": rate["price"]})
    check(st == 400 and (error_field(bad) or "").startswith("rooms"),
          f"one room for a two-room rate → 400 rooms ({st}: {bad})")
    st, _, doc = create(t["trial_id"], ref("two-rooms"))
    if not check(st == 201, f"two-room create → 201 ({st}: {doc})"):
        return
    o = wait_order(doc["order_id"])
    check(o and o["status"] == "confirmed", f"two-room order confirmed ({o and o['status']})")
    got = [{"adults": r.get("adults"), "children_ages": r.get("children_ages"), "guests": r.get("guests")}
           for r in (o or {}).get("rooms", [])]
    check(got == with_guests, f"two-room order keeps rooms and guest names, UTF-8 intact ({got})")


def late_replay_and_http(ctx, rates):
    # The basic order's trial expired long ago: its create re-sent must still replay the order
    # (the client reference is the idempotency key, not the trial).
    basic, basic_trial = ctx.get("basic"), ctx.get("basic_trial")
    if basic and basic_trial:
        st, h, doc = create(basic_trial, ref("basic"))
        check(st == 200 and h.get("idempotent-replay") == "true" and isinstance(doc, dict)
              and doc.get("order_id") == basic,
              f"create re-sent after its trial expired → 200 replay of the order ({st}: {doc})")
        # An agent who got that 404 and starts over (new trial, same client reference) must
        # get the existing order back, not a second one.
        _, rate = rates.take(refundable=True)
        st, _, t = trial(rate)
        if check(st == 200, f"trial → 200 ({st})"):
            st, h, doc = create(t["trial_id"], ref("basic"))
            check(st == 200 and h.get("idempotent-replay") == "true" and isinstance(doc, dict)
                  and doc.get("order_id") == basic,
                  f"a new trial with a used client_reference → 200 replay of the first order ({st}: {doc})")
            n = sql_int(f"SELECT count(*) FROM orders WHERE agent_id = 'demo-a' AND client_reference = {lit(ref('basic'))}")
            check(n == 1, f"still one order for the client reference ({n})")
    # Client references are per agent: agent B may use A's.
    _, rate = rates.take(refundable=True)
    st, _, t = trial(rate, key=KEY_B)
    if check(st == 200, f"agent B trial → 200 ({st})"):
        st, _, doc = create(t["trial_id"], ref("basic"), key=KEY_B)
        check(st == 201 and isinstance(doc, dict) and doc.get("order_id") not in (None, basic),
              f"agent B's create with agent A's client_reference → 201, another order ({st}: {doc})")
    # HTTP edges on the order routes: never a 5xx.
    st, _, _ = request("POST", "/api/orders", raw=b"trial_id=x", headers=FORM_TYPE)
    check(st == 415, f"create with a form body → 415 ({st})")
    st, _, _ = request("POST", "/api/orders/trial", raw=OVERSIZED_JSON, headers=JSON_TYPE)
    check(st == 413, f"70 KiB trial body → 413 ({st})")
    for path in ("/api/orders/" + "a" * 300, "/api/orders/ord_%00x", "/api/orders/ord_'%3B--",
                 "/api/orders/%E4%B8%AD"):
        st, _, doc = request("GET", path)
        check(st in (400, 404), f"GET {path[:60]} → 400/404 ({st}: {str(doc)[:120]})")
    if basic:
        st, _, doc = request("POST", f"/api/orders/{basic}/explode", {})
        check(st == 404, f"unknown order action → 404 ({st}: {doc})")
    # Bad input is a 4xx and changes nothing (api.md conventions), also on the action routes.
    _, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "malformed-cancel")
    oid = doc["order_id"]
    o = wait_order(oid)
    if check(o and o["status"] == "confirmed", f"order confirmed ({o and o['status']})"):
        st, _, doc = request("POST", f"/api/orders/{oid}/cancel", raw=b"{nope", headers=JSON_TYPE)
        after = get_order(oid)
        check(st == 400 and after and after["status"] == "confirmed",
              f"cancel with a malformed JSON body → 400, order unchanged ({st}: {doc}; now "
              f"{after and after['status']})")


def lists(ctx):
    basic = ctx.get("basic")
    if basic:
        q = urllib.parse.urlencode({"client_reference": ref("basic")})
        st, _, doc = request("GET", f"/api/orders?{q}")
        got = [o.get("order_id") for o in doc.get("orders", [])] if st == 200 else None
        check(got == [basic], f"list by client_reference → the order ({st}: {got})")
        st, _, doc = request("GET", f"/api/orders?{q}", key=KEY_B)
        check(st == 200 and doc.get("orders") == [],
              f"agent B's list by A's client_reference is empty ({st}: {doc})")
        now = datetime.datetime.now(datetime.timezone.utc)
        past = (now - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        future = (now + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        st, _, doc = request("GET", "/api/orders?" + urllib.parse.urlencode(
            {"client_reference": ref("basic"), "from": past, "to": future}))
        check(st == 200 and [o.get("order_id") for o in doc.get("orders", [])] == [basic],
              f"list from two hours ago to two hours ahead holds it ({st}: {doc})")
        st, _, doc = request("GET", "/api/orders?" + urllib.parse.urlencode(
            {"client_reference": ref("basic"), "from": future}))
        check(st == 200 and doc.get("orders") == [], f"list from the future is empty ({st}: {doc})")
        st, _, doc = request("GET", "/api/orders?" + urllib.parse.urlencode(
            {"client_reference": ref("basic"), "to": past}))
        check(st == 200 and doc.get("orders") == [], f"list up to two hours ago is empty ({st}: {doc})")
    st, _, doc = request("GET", "/api/orders?status=confirmed")
    orders = doc.get("orders", []) if st == 200 and isinstance(doc, dict) else None
    check(orders is not None and len(orders) > 0 and all(o.get("status") == "confirmed" for o in orders),
          f"list status=confirmed → only confirmed ({st}: {[o.get('status') for o in orders or []]})")
    if orders:
        ids = [o["order_id"] for o in orders]
        mine = {r[0] for r in sql("SELECT order_id FROM orders WHERE agent_id = 'demo-a'")}
        check(all(i in mine for i in ids), "list shows only the caller's orders")
    st, _, doc = request("GET", "/api/orders?status=banana")
    check(st == 400 and error_field(doc) == "status", f"list status=banana → 400 field status ({st}: {doc})")
    st, _, doc = request("GET", "/api/orders?from=yesterday")
    check(st == 400 and error_field(doc) == "from", f"list from=yesterday → 400 field from ({st}: {doc})")


def admin_view(rates, ctx):
    _, rate = rates.take(refundable=True)
    t, h, doc = book_ok(rate, "agent-b", key=KEY_B)
    b_order = doc["order_id"]
    wait_order(b_order, KEY_B)
    # An order the platform cannot settle while its supplier is unreachable: force dida's
    # breaker open after the trial; the booking cannot be made or looked up, the order waits
    # (booking or unknown, never failed) and the operator sees it; closing the breaker lets
    # the relay finish it with exactly one booking.
    _, rate = rates.take(supplier="dida")
    st, _, t = trial(rate, key=KEY_B)
    stuck = None
    if check(st == 200, f"dida trial → 200 ({st}: {t})"):
        st, _, doc = request("POST", "/admin/suppliers/dida/circuit", {"state": "open"}, key=ADMIN, port=ADMIN_PORT)
        check(st == 200, f"force dida's breaker open ({st}: {doc})")
        try:
            st, _, doc = create(t["trial_id"], ref("breaker-open"), key=KEY_B)
            check(st == 201 and doc.get("status") in ("booking", "unknown"),
                  f"create while the supplier's breaker is open → 201 booking/unknown ({st}: {doc})")
            if st == 201:
                stuck = doc["order_id"]
                time.sleep(2.5)  # the relay has had a go (lease 1 s, backoff 300 ms)
                o = get_order(stuck, KEY_B)
                check(o and o["status"] in ("booking", "unknown"),
                      f"breaker open: the order waits, not failed ({o and (o['status'], o.get('status_reason'))})")
                status = o["status"] if o else "unknown"
                st, _, doc = request("GET", f"/admin/orders?status={status}", key=ADMIN, port=ADMIN_PORT)
                ids = [x.get("order_id") for x in doc.get("orders", [])] if st == 200 and isinstance(doc, dict) else []
                check(stuck in ids and all(x.get("status") == status for x in doc.get("orders", [])),
                      f"admin: orders?status={status} shows agent B's waiting order ({st}: {str(doc)[:300]})")
                check(bookings_of(stuck) == [], f"breaker open: nothing booked yet ({bookings_of(stuck)})")
        finally:
            request("POST", "/admin/suppliers/dida/circuit", {"state": "auto"}, key=ADMIN, port=ADMIN_PORT)
        if stuck:
            o = wait_order(stuck, KEY_B, seconds=30)
            check(o and o["status"] == "confirmed",
                  f"breaker closed: the waiting order is confirmed ({o and (o['status'], o.get('status_reason'))})")
            check(len(bookings_of(stuck)) == 1, f"breaker closed: exactly one booking ({bookings_of(stuck)})")
    st, _, doc = request("GET", "/admin/orders?status=unknown", key=ADMIN, port=ADMIN_PORT)
    check(st == 200 and isinstance(doc, dict) and isinstance(doc.get("orders"), list)
          and all(o.get("status") == "unknown" for o in doc["orders"]),
          f"admin: orders?status=unknown → only unknown ones ({st}: {str(doc)[:300]})")
    since = datetime.datetime.fromtimestamp(START - 60, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    q = urllib.parse.urlencode({"status": "confirmed", "from": since, "limit": 500})
    st, _, doc = request("GET", f"/admin/orders?{q}", key=ADMIN, port=ADMIN_PORT)
    ids = {o.get("order_id") for o in doc.get("orders", [])} if st == 200 and isinstance(doc, dict) else set()
    check(b_order in ids and ctx.get("basic") in ids,
          f"admin: confirmed orders of both agents ({st}, {len(ids)} orders; B's {b_order} "
          f"{'in' if b_order in ids else 'missing'}, A's {ctx.get('basic')} "
          f"{'in' if ctx.get('basic') in ids else 'missing'})")
    check(all(o.get("status") == "confirmed" for o in doc.get("orders", [])) if st == 200 else False,
          "admin: status=confirmed lists only confirmed orders")
    st, _, doc = request("GET", "/admin/orders?" + urllib.parse.urlencode({"client_reference": ref("agent-b")}),
                         key=ADMIN, port=ADMIN_PORT)
    check(st == 200 and [o.get("order_id") for o in doc.get("orders", [])] == [b_order],
          f"admin: by client_reference finds agent B's order ({st}: {str(doc)[:200]})")

    st, _, _ = request("GET", "/admin/orders?status=unknown", key=None, port=ADMIN_PORT)
    check(st == 401, f"admin orders without a token → 401 ({st})")
    st, _, _ = request("GET", "/admin/orders?status=unknown", key=KEY_A, port=ADMIN_PORT)
    check(st == 401, f"admin orders with an agent key → 401 ({st})")
    st, _, doc = request("GET", "/admin/orders?status=banana", key=ADMIN, port=ADMIN_PORT)
    check(st == 400 and error_field(doc) == "status", f"admin orders status=banana → 400 ({st}: {doc})")


def traces(ctx):
    oid, trace_id = ctx.get("basic"), ctx.get("basic_trace")
    if not oid or not trace_id:
        check(False, "traces: no basic order to look at")
        return
    kinds = wait_span_kinds(oid, {"trial", "book"})
    check({"trial", "book"} <= kinds, f"spans related to the order include trial and book ({sorted(kinds)})")
    deadline = time.time() + TRACE_WAIT_SECONDS
    spans = []
    while time.time() < deadline:
        st, _, doc = request("GET", f"/api/traces/{trace_id}")
        spans = []

        def walk(ss):
            for s in ss:
                spans.append(s)
                walk(s.get("children", []))

        if st == 200 and isinstance(doc, dict):
            walk(doc.get("spans", []))
        if any(s.get("related_type") == "order" and s.get("related_id") == oid for s in spans):
            break
        time.sleep(0.2)
    check(len(spans) > 0, "the create's trace has spans")
    check(any(s.get("related_type") == "order" and s.get("related_id") == oid for s in spans),
          f"the create's trace has spans related to the order ({[(s.get('event_type'), s.get('related_type'), s.get('related_id')) for s in spans]})")
    check(any(s.get("event_type") == "book" for s in spans),
          f"the create's trace has a book span ({[s.get('event_type') for s in spans]})")
    check(all(KEY_A not in json.dumps(s) for s in spans), "no API key in the spans")
    st, _, _ = request("GET", f"/api/traces/{trace_id}", key=KEY_B)
    check(st == 404, f"agent B cannot read the create's trace ({st})")
    # The order's report (GET /api/traces/by-order/{id}): the owner's, another agent's, the admin's.
    def order_report(order_id, key, want, port=PORT):
        """(status, report, its spans) once the report holds the wanted event types."""
        deadline = time.time() + TRACE_WAIT_SECONDS
        while True:
            st, _, doc = request("GET", f"{'/admin' if port == ADMIN_PORT else '/api'}/traces/by-order/{order_id}",
                                 key=key, port=port)
            if not isinstance(doc, dict):
                doc = {}
            found, todo = [], [s for t in doc.get("traces", []) for s in t.get("spans", [])]
            while todo:
                s = todo.pop()
                found.append(s)
                todo.extend(s.get("children", []))
            if want <= {s.get("event_type") for s in found} or time.time() > deadline:
                return st, doc, found
            time.sleep(0.2)

    st, doc, found = order_report(oid, KEY_A, {"trial", "create", "book"})
    kinds = {s.get("event_type") for s in found}
    ids = {s.get("span_id") for s in found}
    check(st == 200 and doc.get("order_id") == oid and (doc.get("order") or {}).get("status") == "confirmed"
          and trace_id in [t.get("trace_id") for t in doc.get("traces", [])],
          f"by-order: the owner's report of the order, with the create's trace ({st}: {str(doc)[:300]})")
    check({"trial", "create", "book"} <= kinds, f"by-order: trial, create and book spans ({sorted(kinds)})")
    check(doc.get("span_count") == len(found) == len(ids),
          f"by-order: span_count = unique spans in the trees ({doc.get('span_count')}, {len(found)}, {len(ids)})")
    st, _, d = request("GET", f"/api/traces/by-order/{oid}", key=KEY_B)
    check(st == 404 and error_code(d) == "not_found", f"by-order: agent B gets 404 for A's order ({st}: {d})")
    st, _, afound = order_report(oid, ADMIN, kinds, port=ADMIN_PORT)
    check(st == 200 and ids <= {s.get("span_id") for s in afound},
          f"by-order: the admin sees agent A's order report ({st}: {len(afound)} spans vs {len(ids)})")
    held = ctx.get("hold_confirmed")
    if held:
        st, _, found = order_report(held, KEY_CREDIT, {"trial", "create", "confirm", "book"})
        kinds = {s.get("event_type") for s in found}
        check(st == 200 and {"trial", "create", "confirm", "book"} <= kinds,
              f"by-order: a held-then-confirmed order has trial, create, confirm and book spans ({st}: {sorted(kinds)})")
        st, _, _ = request("GET", f"/api/traces/by-order/{held}", key=KEY_A)
        check(st == 404, f"by-order: agent A gets 404 for e2e-credit's order ({st})")
    lost = ctx.get("answer_lost")
    if lost:
        kinds = wait_span_kinds(lost, {"trial", "book"})
        check({"trial", "book"} <= kinds, f"answer_lost order's spans include trial, book ({sorted(kinds)})")


def production_refuses_test_header(log):
    """A production-mode node (same database) must refuse the development `Test` header."""
    proc = harness.serve(BIN, CONFIG, "--node-id", NODE_ID + "-prod", "--set", "server.mode=production",
                         "--set", "server.admin_token=orders-e2e-admin-token-000001", stdout=log)
    try:
        if not check(wait_up(proc), "a production-mode node starts"):
            return
        rates = search(day(41), day(43), key=KEY_CREDIT)
        _, rate = rates.take()
        st, _, doc = trial(rate, key=KEY_CREDIT, scenario="sold_out")
        check(st == 400 and error_field(doc) == "Test",
              f"production: Test header on trial → 400 field Test ({st}: {doc})")
        st, _, t = trial(rate, key=KEY_CREDIT)
        check(st == 200 and t.get("status") == "available", f"production: trial without Test → 200 ({st}: {t})")
        if st == 200:
            st, _, doc = create(t["trial_id"], ref("prod"), key=KEY_CREDIT, scenario="booking_error")
            check(st == 400 and error_field(doc) == "Test",
                  f"production: Test header on create → 400 field Test ({st}: {doc})")
            n = sql_int(f"SELECT count(*) FROM orders WHERE client_reference = {lit(ref('prod'))}")
            check(n == 0, "production: the refused create wrote nothing")
        st, _, _ = request("GET", "/api/orders?status=confirmed", key=KEY_A)
        check(st == 401, f"production: no demo agents ({st})")
    finally:
        harness.stop_checked(proc, "production node")


def release_credit():
    """Best effort: cancel this run's orders still confirmed, so that the demo credit lines of a
    long-lived test database are not used up run after run (the checks are done by now)."""
    for key in (KEY_A, KEY_B, KEY_CREDIT):
        st, _, doc = request("GET", "/api/orders?status=confirmed&limit=500", key=key)
        if st != 200 or not isinstance(doc, dict):
            continue
        for o in doc.get("orders", []):
            if str(o.get("client_reference", "")).startswith(f"E2E-{RUN}-"):
                request("POST", f"/api/orders/{o['order_id']}/cancel", {}, key=key)


# -- process control --------------------------------------------------------------------


def wait_up(proc):
    return harness.wait_up(proc, ADMIN_PORT, STARTUP_SECONDS)


def main():
    mig = harness.migrate(BIN, CONFIG)
    check(mig.returncode == 0, f"migrate exits 0 ({mig.stderr.strip()})")
    log = harness.open_log("e2e-orders-", RUN)
    proc = harness.serve(BIN, CONFIG, "--node-id", NODE_ID, stdout=log)
    try:
        if not check(wait_up(proc), "bedbank answers /admin/health"):
            return
        ctx = {}
        rates = section("search", search, day(40), day(42))
        if rates is None:
            return
        check(len(rates.all) > 40, f"enough rates to book ({len(rates.all)})")
        section("trial", trial_checks, rates)
        section("basic flow", basic_flow, rates, ctx)
        section("create validation", create_validation, rates)
        section("create scenarios", scenarios, rates, ctx)
        section("idempotency race", race, rates)
        section("credit, holds, cancel", credit_flow, rates, ctx)
        section("cancel penalties", cancel_penalties, ctx)
        section("cancel refused", cancel_refused, rates)
        section("expired trial", expired_trial, rates)
        section("races and edges", edges, rates)
        section("two rooms", multi_room)
        section("lists", lists, ctx)
        section("admin orders", admin_view, rates, ctx)
        section("traces", traces, ctx)
        section("late replay, HTTP edges", late_replay_and_http, ctx, rates)
        try:
            release_credit()
        except Exception as e:  # only tidying up
            print(f"note: releasing this run's credit: {e}")
    finally:
        harness.stop_checked(proc, "bedbank")
        if harness.CHECKS.failed:
            harness.print_log_tail(log)
    section("production mode", production_refuses_test_header, log)
    harness.check_log(log, "bedbank's log")  # it provokes no warning


if __name__ == "__main__":
    harness.finish(main, "e2e_orders: {passed} passed, {failed} failed")
