"""200 concurrent orders of every kind with a failure in the middle, and the proof that nothing
was lost or doubled. Shared by tests/e2e/crash_orders_test.py (one node killed with SIGKILL and
restarted) and tests/cluster/cluster_test.py (one engine node of three killed).

Each order: a trial, then a create with a unique client_reference and a mock scenario in the
development `Test` header (ok, slow_booking, answer_lost, booking_error, sold_out; some
hold_only then confirmed, some hold_only left to expire, some cancelled once confirmed).
Phase one fires them all at once and calls the test's kill once half of the creates are
answered; phase two re-sends every create, confirm and cancel whose answer was lost (same
client_reference: the existing order or a new one, never a second); then every order must be
terminal and PostgreSQL must hold one order per client reference in the status its scenario
leads to, exactly one supplier booking per confirmed order and none for failed or closed
ones, balanced credit, no pending outbox rows and no active holds.

A script calls configure() once, then uses the phases.
"""
import collections
import http.client
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import harness
from harness import check, day, lit

ORDERS = 200
TERMINAL = {"confirmed", "failed", "cancelled", "closed"}
# kind → (how many, Test header on create, hold_only, final status, final reason or None)
MIX = {
    "ok": (45, "ok", False, "confirmed", None),
    "slow_booking": (30, "slow_booking", False, "confirmed", None),
    "answer_lost": (25, "answer_lost", False, "confirmed", None),
    "booking_error": (25, "booking_error", False, "failed", None),
    "sold_out": (20, "sold_out", False, "failed", "sold_out"),
    "hold_confirm": (20, None, True, "confirmed", None),
    "hold_expire": (15, None, True, "closed", "hold_expired"),
    "cancel": (15, "ok", False, "cancelled", None),
    "hold_cancel": (5, None, True, "cancelled", None),
}
assert sum(v[0] for v in MIX.values()) == ORDERS


lock = threading.Lock()  # the phases' shared counters

# Set by configure().
request = None
AGENTS = {}
RUN = ""
REF_PREFIX = "CRASH"
STOP_FOLLOW_UPS = True
sql = sql_one = None


def configure(request_fn, agents, pg, run, ref_prefix, stop_follow_ups_at_kill=True):
    """request_fn(method, path, body=None, key=..., headers=...) → (status, headers, doc);
    agents: agent id → API key (two agents, used by this run only); pg: harness.Postgres;
    ref_prefix: the client references' prefix. stop_follow_ups_at_kill: confirms and cancels
    not yet sent at the kill wait for phase two (the node answering them is gone)."""
    global request, AGENTS, RUN, REF_PREFIX, STOP_FOLLOW_UPS, sql, sql_one
    request, AGENTS, RUN, REF_PREFIX = request_fn, agents, run, ref_prefix
    STOP_FOLLOW_UPS = stop_follow_ups_at_kill
    sql, sql_one = pg.sql, pg.sql_one
    # Violations printed one by one; the rest are only counted.
    harness.CHECKS.max_printed = 200


violation = harness.fail


# -- one order -------------------------------------------------------------------------------


class Order:
    def __init__(self, i, kind, agent, rate):
        self.i, self.kind, self.agent = i, kind, agent
        self.key = AGENTS[agent]
        self.rate = rate
        self.ref = f"{REF_PREFIX}-{RUN}-{i:03d}"
        self.scenario, self.hold_only, self.want, self.want_reason = MIX[kind][1:]
        self.trial = None          # the trial answer
        self.order_id = None       # from the first create answer we got
        self.create_status = None  # HTTP status of the answered create
        self.created_status = None  # order status in the create answer
        self.lost = []             # what lost its answer: "trial", "create", "confirm", "cancel"
        self.replays = []          # (HTTP status, replay header, order id) of re-sent creates
        self.errors = []           # unexpected answers

    def headers(self):
        return {"Test": self.scenario} if self.scenario else {}

    def do_trial(self):
        body = {"rate_key": self.rate["rate_key"],
                "rooms": [{"adults": 2, "children_ages": [],
                           "guests": [{"first_name": "Crash", "last_name": f"Guest{self.i}"}]}],
                "expected_price": self.rate["price"]}
        for attempt in range(3):
            st, _, doc = request("POST", "/api/orders/trial", body, key=self.key)
            if st == 200 and isinstance(doc, dict) and doc.get("status") == "available":
                self.trial = doc
                return True
            self.errors.append(f"trial attempt {attempt + 1}: {st} {str(doc)[:200]}")
            time.sleep(0.2)
        return False

    def do_create(self):
        body = {"trial_id": self.trial["trial_id"], "client_reference": self.ref,
                "hold_only": self.hold_only, "contact": {"email": "crash@example.com"}}
        return request("POST", "/api/orders", body, key=self.key, headers=self.headers())

    def follow_up(self):
        """Confirm a held order, cancel a confirmed one (kinds hold_confirm, cancel, hold_cancel)."""
        if self.kind == "hold_confirm":
            st, _, doc = request("POST", f"/api/orders/{self.order_id}/confirm", {}, key=self.key)
            if st != 200:
                self.errors.append(f"confirm: {st} {str(doc)[:200]}")
        elif self.kind == "hold_cancel":
            st, _, doc = request("POST", f"/api/orders/{self.order_id}/cancel", {}, key=self.key)
            if st != 200:
                self.errors.append(f"cancel held: {st} {str(doc)[:200]}")
        elif self.kind == "cancel":
            deadline = time.time() + 60
            while time.time() < deadline:
                st, _, doc = request("GET", f"/api/orders/{self.order_id}", key=self.key)
                if st == 200 and doc.get("status") in TERMINAL:
                    break
                time.sleep(0.3)
            st, _, doc = request("POST", f"/api/orders/{self.order_id}/cancel", {}, key=self.key)
            if st != 200:
                self.errors.append(f"cancel: {st} {str(doc)[:200]}")


# -- phases ----------------------------------------------------------------------------------


def gather_rates():
    """Rates of a few searches, one list per agent's view (markups may differ per agent)."""
    out = {}
    for agent, key in AGENTS.items():
        rates = []
        for ci, co in ((day(60), day(62)), (day(61), day(63))):
            body = {"city": "SHA", "check_in": ci, "check_out": co,
                    "rooms": [{"adults": 2, "children_ages": []}], "max_results": 50}
            st, _, doc = request("POST", "/api/search", body, key=key)
            if st != 200:
                raise RuntimeError(f"search for {agent}: {st} {str(doc)[:300]}")
            for r in doc["results"]:
                rates.extend(r["rates"])
        out[agent] = rates
    return out


def plan(rates):
    rnd = random.Random(RUN)
    kinds = [k for k, v in MIX.items() for _ in range(v[0])]
    rnd.shuffle(kinds)
    orders = []
    for i, kind in enumerate(kinds):
        names = list(AGENTS)
        agent = names[i % 2]
        pool = rates[agent]
        orders.append(Order(i, kind, agent, pool[(i * 7) % len(pool)]))
    return orders


def phase_one(orders, kill, kill_after):
    """All orders at once; `kill()` (once) when `kill_after` creates have been answered, or at
    the end if fewer were. A 503 (node_unavailable: the node running the call went down) is a
    lost answer, re-sent in phase two like one lost with its connection."""
    answered = [0]
    killed = threading.Event()
    in_flight_at_kill = [0]
    active = [0]

    def run(o):
        try:
            if not o.do_trial():
                return
        except (OSError, http.client.HTTPException):
            o.lost.append("trial")
            return
        try:
            with lock:
                active[0] += 1
            try:
                st, h, doc = o.do_create()
            finally:
                with lock:
                    active[0] -= 1
        except (OSError, http.client.HTTPException):
            o.lost.append("create")
            return
        if st in (200, 201) and isinstance(doc, dict):
            o.create_status, o.order_id, o.created_status = st, doc.get("order_id"), doc.get("status")
        elif st == 503:
            o.lost.append("create")
            return
        else:
            o.errors.append(f"create: {st} {str(doc)[:200]}")
            return
        with lock:
            answered[0] += 1
            if answered[0] >= kill_after and not killed.is_set():
                in_flight_at_kill[0] = active[0]
                kill()
                killed.set()
        if o.kind not in ("hold_confirm", "cancel", "hold_cancel"):
            return
        if killed.is_set() and STOP_FOLLOW_UPS:
            o.lost.append("follow_up")
            return
        try:
            o.follow_up()
        except (OSError, http.client.HTTPException):
            o.lost.append("follow_up")

    def guarded(o):
        try:
            run(o)
        except Exception as e:
            o.errors.append(f"phase one: {type(e).__name__}: {e}")

    t0 = time.time()
    with ThreadPoolExecutor(max_workers=ORDERS) as pool:
        list(pool.map(guarded, orders))
    if not killed.is_set():  # everything answered before the threshold was met
        kill()
    return killed.is_set(), in_flight_at_kill[0], time.time() - t0


def phase_two(orders):
    """After the restart: re-send lost creates, replay answered ones, finish follow-ups."""

    def run(o):
        try:
            if o.trial is None and not o.do_trial():
                o.errors.append("no trial after the restart")
                return
            st, h, doc = o.do_create()
            if st == 404 and isinstance(doc, dict) and doc.get("error", {}).get("field") == "trial_id":
                # The trial did not survive; only an order that never was may be made anew.
                if o.order_id is not None:
                    o.errors.append(f"re-sent create of an answered order → 404 trial_id: {doc}")
                    return
                if not o.do_trial():
                    o.errors.append("no fresh trial after the restart")
                    return
                st, h, doc = o.do_create()
            if st not in (200, 201) or not isinstance(doc, dict):
                o.errors.append(f"re-sent create: {st} {str(doc)[:200]}")
                return
            replay = h.get("idempotent-replay")
            o.replays.append((st, replay, doc.get("order_id")))
            if o.order_id is None:
                o.order_id = doc.get("order_id")
            elif doc.get("order_id") != o.order_id:
                o.errors.append(f"re-sent create answered another order {doc.get('order_id')} (was {o.order_id})")
            if o.create_status is not None and not (st == 200 and replay == "true"):
                o.errors.append(f"re-sent create of an answered order: {st}, Idempotent-Replay {replay}")
            if o.kind in ("hold_confirm", "cancel", "hold_cancel"):
                o.follow_up()  # idempotent: again for those that did it before the kill
        except Exception as e:
            o.errors.append(f"phase two: {type(e).__name__}: {e}")

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(run, orders))


def wait_terminal(orders, seconds):
    refs = ",".join(lit(o.ref) for o in orders)
    deadline = time.time() + seconds
    rows = []
    while time.time() < deadline:
        rows = sql(f"SELECT order_id, status FROM orders WHERE client_reference IN ({refs})")
        pending = [r for r in rows if r[1] not in TERMINAL]
        if not pending:  # after phase two no further order can appear
            break
        time.sleep(1.0)
    return rows


# -- verification ---------------------------------------------------------------------------


def verify(orders):
    refs = ",".join(lit(o.ref) for o in orders)
    agents = ",".join(lit(a) for a in AGENTS)
    rows = sql(f"SELECT agent_id, client_reference, order_id, status, status_reason, supplier_ref, "
               f"hold_only, credit_minor, penalty_minor, refund_minor FROM orders "
               f"WHERE client_reference IN ({refs})")
    by_ref = collections.defaultdict(list)
    for r in rows:
        by_ref[(r[0], r[1])].append(r)
    bookings = collections.defaultdict(list)
    for key, status, ref in sql(
            f"SELECT m.idempotency_key, m.status, m.supplier_ref FROM mock_bookings m "
            f"JOIN orders o ON o.order_id = m.idempotency_key WHERE o.client_reference IN ({refs})"):
        bookings[key].append((status, ref))
    ledger = collections.defaultdict(lambda: collections.Counter())
    for oid, kind, amount in sql(
            f"SELECT l.order_id, l.kind, sum(l.amount_minor) FROM credit_ledger l "
            f"JOIN orders o ON o.order_id = l.order_id WHERE o.client_reference IN ({refs}) "
            f"GROUP BY l.order_id, l.kind"):
        ledger[oid][kind] += int(amount)
    pending = {r[0]: int(r[1]) for r in sql(
        f"SELECT x.order_id, count(*) FROM outbox x JOIN orders o ON o.order_id = x.order_id "
        f"WHERE o.client_reference IN ({refs}) AND x.status = 'pending' GROUP BY x.order_id")}
    active_holds = {r[0] for r in sql(
        f"SELECT h.order_id FROM inventory_holds h JOIN orders o ON o.order_id = h.order_id "
        f"WHERE o.client_reference IN ({refs}) AND h.status = 'active'")}
    last_event = {r[0]: r[1] for r in sql(
        f"SELECT DISTINCT ON (e.order_id) e.order_id, e.to_status FROM order_events e "
        f"JOIN orders o ON o.order_id = e.order_id WHERE o.client_reference IN ({refs}) "
        f"ORDER BY e.order_id, e.id DESC")}

    counts = collections.Counter()
    n_bookings = 0
    duplicates = 0
    mismatched = collections.Counter()
    for o in orders:
        for e in o.errors:
            violation(f"{o.ref} ({o.kind}): {e}")
        found = by_ref.get((o.agent, o.ref), [])
        if not check(len(found) == 1, f"{o.ref} ({o.kind}): {len(found)} orders for the client reference"):
            continue
        _, _, oid, status, reason, supplier_ref, hold_only, credit, penalty, refund = found[0]
        counts[status] += 1
        if o.order_id is not None:
            check(oid == o.order_id, f"{o.ref}: the answers named {o.order_id}, the database holds {oid}")
        check(status in TERMINAL, f"{o.ref} ({o.kind}) {oid}: not terminal ({status})")
        if status != o.want or (o.want_reason and reason != o.want_reason):
            mismatched[o.kind] += 1
            violation(f"{o.ref} ({o.kind}, lost {o.lost}) {oid}: {status}/{reason}, want {o.want}"
                      f"{'/' + o.want_reason if o.want_reason else ''}")
        check(last_event.get(oid) == status, f"{oid}: last order_event to {last_event.get(oid)}, order {status}")
        bk = bookings.get(oid, [])
        n_bookings += len(bk)
        if len(bk) > 1:
            duplicates += 1
            violation(f"{oid} ({o.kind}, lost {o.lost}): {len(bk)} bookings at the supplier {bk}")
        if status == "confirmed":
            check(len(bk) == 1 and bk[0][0] == "confirmed", f"{oid} confirmed: bookings {bk}")
            check(len(bk) == 1 and bk[0][1] == supplier_ref,
                  f"{oid} confirmed: supplier_ref {supplier_ref!r} vs {bk}")
        elif status == "cancelled":
            if o.hold_only and o.kind == "hold_cancel":
                check(bk == [], f"{oid} cancelled while held: bookings {bk}")
            else:
                check(len(bk) == 1 and bk[0][0] == "cancelled", f"{oid} cancelled: bookings {bk}")
        elif status in ("failed", "closed"):
            check(bk == [], f"{oid} {status}: bookings {bk}")
        led = ledger.get(oid, collections.Counter())
        credit = int(credit)
        check(led["reserve"] == credit and credit > 0, f"{oid}: reserved {led['reserve']}, order credit {credit}")
        check(led["reserve"] == led["capture"] + led["release"],
              f"{oid} ({status}): reserve {led['reserve']} ≠ capture {led['capture']} + release {led['release']}")
        if status == "confirmed":
            check(led["capture"] == credit and led["refund"] == 0, f"{oid} confirmed: ledger {dict(led)}")
        elif status in ("failed", "closed"):
            check(led["release"] == credit and led["capture"] == 0, f"{oid} {status}: ledger {dict(led)}")
        elif status == "cancelled":
            if led["capture"]:
                check(led["refund"] == int(refund) and int(penalty) + int(refund) == led["capture"],
                      f"{oid} cancelled: ledger {dict(led)}, penalty {penalty}, refund {refund}")
            else:
                check(led["release"] == credit, f"{oid} cancelled hold: ledger {dict(led)}")
        check(pending.get(oid, 0) == 0, f"{oid} ({status}): {pending.get(oid)} pending outbox rows")
        check(oid not in active_holds, f"{oid} ({status}): its hold is still active")

    # No platform order with two bookings anywhere (also outside this run). Keys that are not
    # order ids belong to the mock ledger's own tests, which book twice on purpose.
    dup_keys = sql("SELECT idempotency_key, count(*) FROM mock_bookings "
                   "WHERE idempotency_key IN (SELECT order_id FROM orders) "
                   "GROUP BY idempotency_key HAVING count(*) > 1")
    check(not dup_keys, f"idempotency keys with more than one mock booking: {dup_keys[:10]}")
    dup_refs = sql(f"SELECT agent_id, client_reference, count(*) FROM orders WHERE agent_id IN ({agents}) "
                   f"GROUP BY agent_id, client_reference HAVING count(*) > 1")
    check(not dup_refs, f"client references with two orders: {dup_refs}")

    # Credit lines: nothing reserved; the sums match the ledger of every order of the agents.
    reserved_total = 0
    for agent in AGENTS:
        row = sql(f"SELECT credit_reserved, credit_captured FROM agents WHERE agent_id = {lit(agent)}")
        if not check(row, f"{agent}: no credit line"):
            continue
        reserved, captured = int(row[0][0]), int(row[0][1])
        reserved_total += reserved
        sums = {k: int(v) for k, v in sql(
            f"SELECT kind, sum(amount_minor) FROM credit_ledger WHERE agent_id = {lit(agent)} GROUP BY kind")}
        want_reserved = sums.get("reserve", 0) - sums.get("capture", 0) - sums.get("release", 0)
        want_captured = sums.get("capture", 0) - sums.get("refund", 0)
        check(reserved == want_reserved, f"{agent}: credit_reserved {reserved}, ledger says {want_reserved}")
        check(captured == want_captured, f"{agent}: credit_captured {captured}, ledger says {want_captured}")
        live = sql(f"SELECT count(*) FROM orders WHERE agent_id = {lit(agent)} "
                   f"AND status NOT IN ('confirmed','failed','cancelled','closed')")
        check(reserved == 0, f"{agent}: credit_reserved {reserved} at rest "
                             f"({live[0][0]} of its orders not terminal, also from earlier runs)")
    went_unknown = sql_one(f"SELECT count(DISTINCT e.order_id) FROM order_events e JOIN orders o "
                           f"ON o.order_id = e.order_id WHERE o.client_reference IN ({refs}) "
                           f"AND e.to_status = 'unknown'")
    retried = sql_one(f"SELECT count(*) FROM (SELECT x.order_id FROM outbox x JOIN orders o "
                      f"ON o.order_id = x.order_id WHERE o.client_reference IN ({refs}) "
                      f"AND x.kind = 'book' GROUP BY x.order_id HAVING max(x.attempts) > 1) r")
    print(f"orders that went through unknown: {went_unknown}; booked in more than one attempt: {retried}",
          flush=True)
    return counts, n_bookings, duplicates, reserved_total, mismatched
