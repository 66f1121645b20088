#!/usr/bin/env python3
"""End-to-end test of the trace reports: a real `bedbank` process over HTTP, the `bedbank
trace` and `bedbank archive` commands, PostgreSQL, ClickHouse and a headless Chromium.

Works on its own databases (traces.yaml): PostgreSQL `bedbank_traces` and ClickHouse
`bedbank_e2e_traces`, both dropped and created afresh at the start, because it archives
everything (trace.hot_days 0) and loads 300 000 old spans. The contract (api.md "Traces",
protocols/trace_report.hpp):

 1. one order's full story (search naming the hotel → trial → hold → archive pass → confirm →
    cancel) reported by GET /api/traces/by-order/{id} from both stores, checked against
    PostgreSQL and ClickHouse directly;
 2. agent isolation on every endpoint, the admin API across agents;
 3. by-hotel: what it finds, limit, the window and the validation of every endpoint;
 4. ?format=otlp; 5. ?format=html loaded in headless Chromium (DOM and a screenshot);
 6. `bedbank trace`; 7. `bedbank archive` killed with SIGKILL mid-batch three times over
    300 000 old spans, then run to completion: nothing lost, nothing returned twice;
 8. no agent key or admin token in any report.
Usage: e2e_traces_test.py <bedbank binary> <config>
"""
import datetime
import functools
import hashlib
import html.parser
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/e2e/harness.py)
from harness import ch_str, check, error_code, error_field, instant, lit, parse_instant  # noqa: E402

BIN, CONFIG, PORT, ADMIN_PORT = harness.invocation()
PG_PORT = os.environ["BEDBANK_TEST_PG_PORT"]
CH_PORT = int(os.environ["BEDBANK_TEST_CH_PORT"])
# As traces.yaml has them.
PG_DB, CH_DB = "bedbank_traces", "bedbank_e2e_traces"
AGENT_A, AGENT_B = "traces-a", "traces-b"
KEY_A, KEY_B = "traces-key-a-00000000001", "traces-key-b-00000000001"
ADMIN = "traces-e2e-admin-token-0000001"
SECRETS = (KEY_A, KEY_B, ADMIN, "demo-key-a", "demo-key-b", "demo-admin-token")
NODE_ID = "e2e-traces"
CHROMIUM = "/usr/bin/chromium"
STARTUP_SECONDS = 30
SETTLE_SECONDS = 20
SPAN_WAIT_SECONDS = 15
OLD_SPANS, OLD_SPANS_PER_TRACE = 300_000, 10
OLD_NODE = "e2e-traces-old"   # the `node` of the loaded old spans
RUN = harness.run_id()
HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
SPAN_KEYS = ("span_id", "parent_span_id", "event_type", "service", "related_type", "related_id",
             "request_data", "response_data", "started_at", "duration_ms", "status",
             "error_detail", "node", "children")

# raw_request(method, path, body=None, key=KEY_A, port=PORT, headers=None, timeout=60): body bytes;
# request(…) the same, the body decoded.
raw_request = functools.partial(harness.raw_request, key=KEY_A, port=PORT, timeout=60)
request = functools.partial(harness.request, key=KEY_A, port=PORT, timeout=60)
section = functools.partial(harness.section, timed=True)


def admin(method, path, body=None, timeout=60):
    return request(method, path, body, key=ADMIN, port=ADMIN_PORT, timeout=timeout)


def day(offset):
    """The UTC date `offset` days from today (the API's dates are UTC days)."""
    return harness.day(offset, utc=True)


def short(doc, n=300):
    return str(doc)[:n]


# -- the stores ---------------------------------------------------------------------------


# sql(query, db=PG_DB, timeout=300)
PG = harness.Postgres(PG_PORT, PG_DB, timeout=300, shown=300)
sql, sql_int = PG.sql, PG.sql_int


def ch(query, timeout=120):
    """Rows (tab-separated columns) of a ClickHouse query over its HTTP interface."""
    return harness.clickhouse(query, CH_PORT, timeout)


def fresh_databases():
    """Drops and creates this test's PostgreSQL and ClickHouse databases, then migrates."""
    sql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)", db="postgres")
    sql(f"CREATE DATABASE {PG_DB}", db="postgres")
    ch(f"DROP DATABASE IF EXISTS {CH_DB}")
    mig = harness.migrate(BIN, CONFIG, timeout=120)
    check(mig.returncode == 0, f"migrate {PG_DB} exits 0 ({mig.returncode}: {mig.stderr.strip()})")
    n = sql_int("SELECT count(*) FROM schema_migrations")
    check(n >= 3, f"migrations applied to {PG_DB} ({n})")


def pg_order_spans(oid):
    """{row id: span_id} of the spans in PostgreSQL related to the order."""
    return {int(r[0]): r[1] for r in sql(f"SELECT id, span_id FROM trace_events WHERE related_type = 'order' "
                                         f"AND related_id = {lit(oid)}")}


def ch_order_spans(oid):
    return {int(r[0]): r[1] for r in ch(f"SELECT DISTINCT id, span_id FROM {CH_DB}.trace_events WHERE "
                                        f"related_type = 'order' AND related_id = {ch_str(oid)}")}


def ch_has_table():
    return ch(f"SELECT count() FROM system.tables WHERE database = {ch_str(CH_DB)} "
              f"AND name = 'trace_events'") == [["1"]]


def store_spans_of_traces(trace_ids, agent_id=None):
    """{span_id: (row id, store)} of the traces' spans in both stores (agent-scoped if asked)."""
    if not trace_ids:
        return {}
    out = {}
    agent = f" AND agent_id = {lit(agent_id)}" if agent_id else ""
    for r in sql(f"SELECT id, span_id FROM trace_events WHERE trace_id IN "
                 f"({', '.join(lit(t) for t in trace_ids)}){agent}"):
        out[r[1]] = (int(r[0]), "postgresql")
    if ch_has_table():
        agent = f" AND agent_id = {ch_str(agent_id)}" if agent_id else ""
        for r in ch(f"SELECT DISTINCT id, span_id FROM {CH_DB}.trace_events WHERE trace_id IN "
                    f"({', '.join(ch_str(t) for t in trace_ids)}){agent}"):
            out.setdefault(r[1], (int(r[0]), "clickhouse"))
    return out


# -- reports ------------------------------------------------------------------------------


def walk(spans, out=None, parent=None, problems=None):
    """Flattens a span tree; notes children whose parent_span_id is not their tree parent."""
    out = [] if out is None else out
    for s in spans or []:
        out.append(s)
        if problems is not None and parent is not None and s.get("parent_span_id") != parent:
            problems.append((s.get("span_id"), s.get("parent_span_id"), parent))
        walk(s.get("children", []), out, s.get("span_id"), problems)
    return out


def report_spans(doc):
    """Every span of a JSON report (kind trace, order or hotel)."""
    if not isinstance(doc, dict):
        return []
    if "traces" in doc:
        out = []
        for t in doc.get("traces", []):
            walk(t.get("spans", []), out)
        return out
    return walk(doc.get("spans", []))


def trace_ids_of(doc):
    return [t.get("trace_id") for t in doc.get("traces", [])] if isinstance(doc, dict) else []


def trace_entry(doc, trace_id):
    for t in doc.get("traces", []) if isinstance(doc, dict) else []:
        if t.get("trace_id") == trace_id:
            return t
    return None


def event_types(spans):
    return {s.get("event_type") for s in spans}


def structure_checks(doc, what):
    """What every report of kind order or hotel promises about its traces and spans."""
    spans = report_spans(doc)
    ids = [s.get("span_id") for s in spans]
    check(len(ids) == len(set(ids)), f"{what}: every span id unique ({len(ids)} spans, {len(set(ids))} ids)")
    check(doc.get("span_count") == len(spans), f"{what}: span_count = spans in the trees ({doc.get('span_count')} vs {len(spans)})")
    src = doc.get("sources") or {}
    check(isinstance(src.get("postgresql"), int) and isinstance(src.get("clickhouse"), int)
          and src["postgresql"] + src["clickhouse"] == len(spans),
          f"{what}: sources add up to the spans ({src} vs {len(spans)})")
    check(isinstance(doc.get("truncated"), bool), f"{what}: truncated is a bool ({doc.get('truncated')})")
    missing = [k for s in spans for k in SPAN_KEYS if k not in s]
    check(not missing, f"{what}: every span has every field (missing {sorted(set(missing))})")
    bad_ids = [s.get("span_id") for s in spans if not HEX16.fullmatch(str(s.get("span_id")))]
    check(not bad_ids, f"{what}: span ids are 16 hex digits ({bad_ids[:5]})")
    statuses = {s.get("status") for s in spans}
    check(statuses <= {"success", "error", "timeout"}, f"{what}: span statuses ({statuses})")
    for t in doc.get("traces", []):
        tid = t.get("trace_id")
        problems = []
        ts = walk(t.get("spans", []), problems=problems)
        roots = t.get("spans", [])
        ok = (HEX32.fullmatch(str(tid)) is not None and t.get("span_count") == len(ts)
              and not problems and t.get("root_event") in {r.get("event_type") for r in roots}
              and t.get("status") == ("error" if any(s.get("status") in ("error", "timeout") for s in ts) else "success")
              and isinstance(t.get("duration_ms"), (int, float)))
        try:
            ok = ok and parse_instant(t["ended_at"]) >= parse_instant(t["started_at"]) \
                and parse_instant(t["started_at"]) == min(parse_instant(s["started_at"]) for s in ts)
        except (KeyError, TypeError, ValueError):
            ok = False
        check(ok, f"{what}: trace {tid} is consistent (span_count {t.get('span_count')} vs {len(ts)}, "
                  f"root_event {t.get('root_event')}, status {t.get('status')}, parent links off {problems[:3]}, "
                  f"{t.get('started_at')}..{t.get('ended_at')})")


# -- the order API ----------------------------------------------------------------------


def search_body(check_in, check_out, city=None, hotel_ids=None):
    b = {"check_in": check_in, "check_out": check_out, "rooms": [{"adults": 2, "children_ages": []}],
         "max_results": 50}
    if city:
        b["city"] = city
    if hotel_ids:
        b["hotel_ids"] = hotel_ids
    return b


def guests_rooms():
    return [{"adults": 2, "children_ages": [], "guests": [{"first_name": "San", "last_name": "Zhang"}]}]


def get_order(oid, key=KEY_A):
    st, _, doc = request("GET", f"/api/orders/{oid}", key=key)
    return doc if st == 200 and isinstance(doc, dict) else None


def wait_order(oid, want, key=KEY_A, seconds=SETTLE_SECONDS):
    deadline = time.time() + seconds
    o = None
    while time.time() < deadline:
        o = get_order(oid, key)
        if o is not None and o.get("status") == want:
            return o
        time.sleep(0.2)
    return o


def wait_pg(query, want=lambda n: n > 0, seconds=SPAN_WAIT_SECONDS):
    deadline = time.time() + seconds
    n = None
    while time.time() < deadline:
        n = sql_int(query)
        if want(n):
            return n
        time.sleep(0.2)
    return n


def settled_report(path, want_events, key=KEY_A, port=PORT):
    """The report once it has every wanted event type and stopped growing."""
    deadline = time.time() + SPAN_WAIT_SECONDS
    last, doc = None, None
    while time.time() < deadline:
        st, _, doc = request("GET", path, key=key, port=port)
        if st == 200 and isinstance(doc, dict):
            spans = report_spans(doc)
            n = len(spans)
            if want_events <= event_types(spans) and n == last:
                return st, doc
            last = n
        time.sleep(0.5)
    return st, doc


# -- 1. one order's story ---------------------------------------------------------------


def order_flow(ctx):
    check_in, check_out = day(50), day(52)
    st, _, doc = request("POST", "/api/search", search_body(check_in, check_out, city="SHA"))
    if not check(st == 200 and isinstance(doc, dict) and doc.get("results"),
                 f"city search → 200 with results ({st}: {short(doc)})"):
        raise RuntimeError("no city search")
    hotels = [r for r in doc["results"] if any(x.get("refundable") for x in r.get("rates", []))]
    check(len(hotels) >= 2, f"two hotels with refundable rates ({len(hotels)})")
    hotel, other = hotels[0]["hotel_id"], hotels[1]["hotel_id"]
    ctx["hotel"], ctx["other_hotel"] = hotel, other

    st, h, doc = request("POST", "/api/search", search_body(check_in, check_out, hotel_ids=[hotel, other]))
    if not check(st == 200 and isinstance(doc, dict), f"search with hotel_ids → 200 ({st}: {short(doc)})"):
        raise RuntimeError("no hotel search")
    ctx["search_trace"] = h.get("x-trace-id", "")
    rates = [x for r in doc.get("results", []) if r.get("hotel_id") == hotel for x in r.get("rates", [])
             if x.get("refundable")]
    if not check(rates, f"the hotel search has refundable rates of {hotel}"):
        raise RuntimeError("no rate")
    rate = rates[0]
    # Agent B looks at the same hotel: its trace must never show in A's reports, nor A's in B's.
    st, h, doc = request("POST", "/api/search", search_body(check_in, check_out, hotel_ids=[hotel]), key=KEY_B)
    check(st == 200, f"agent B's search of the hotel → 200 ({st}: {short(doc)})")
    ctx["b_search_trace"] = h.get("x-trace-id", "")

    st, h, t = request("POST", "/api/orders/trial", {"rate_key": rate["rate_key"], "rooms": guests_rooms(),
                                                     "expected_price": rate["price"]})
    if not check(st == 200 and isinstance(t, dict) and t.get("status") == "available",
                 f"trial → 200 available ({st}: {short(t)})"):
        raise RuntimeError("trial failed")
    ctx["trial_trace"] = h.get("x-trace-id", "")
    st, h, doc = request("POST", "/api/orders", {"trial_id": t["trial_id"], "client_reference": f"TR-{RUN}",
                                                 "hold_only": True})
    if not check(st == 201 and isinstance(doc, dict) and doc.get("status") == "held",
                 f"create hold_only → 201 held ({st}: {short(doc)})"):
        raise RuntimeError("create failed")
    oid = doc["order_id"]
    ctx["order"] = oid
    ctx["create_trace"] = h.get("x-trace-id", "")
    print(f"order {oid} at hotel {hotel}; traces: search {ctx['search_trace']} trial {ctx['trial_trace']} "
          f"create {ctx['create_trace']}", flush=True)

    # Everything so far is journalled before it is archived.
    n = wait_pg(f"SELECT count(DISTINCT event_type) FROM trace_events WHERE related_type = 'order' "
                f"AND related_id = {lit(oid)} AND event_type IN ('trial', 'create')", lambda n: n == 2)
    check(n == 2, f"trial and create spans of the order are in PostgreSQL ({n})")
    n = wait_pg(f"SELECT count(*) FROM trace_events WHERE event_type = 'hotel_rates' AND related_type = 'hotel' "
                f"AND related_id = {lit(hotel)} AND trace_id = {lit(ctx['search_trace'])}")
    check(n == 1, f"the hotel search recorded one hotel_rates span for {hotel} ({n})")
    wait_pg(f"SELECT count(*) FROM trace_events WHERE event_type = 'http_request' "
            f"AND trace_id = {lit(ctx['create_trace'])}")
    hot_before = sql_int("SELECT count(*) FROM trace_events")

    # One archive pass now (hot_days 0: everything older than now).
    st, _, arc = admin("POST", "/admin/traces/archive", timeout=600)
    ok = st == 200 and isinstance(arc, dict)
    check(ok and set(arc) >= {"batches", "moved", "inserted", "dropped_partitions", "through", "duration_ms"},
          f"POST /admin/traces/archive → 200 with its figures ({st}: {short(arc)})")
    if ok:
        check(isinstance(arc.get("moved"), int) and arc["moved"] > 0,
              f"the archive pass moved spans ({arc.get('moved')}; {hot_before} were hot just before)")
        check(arc.get("inserted") == arc.get("moved"), f"a first pass inserts what it moves ({arc})")
        check(isinstance(arc.get("batches"), int) and arc["batches"] >= 1, f"at least one batch ({arc})")
        steps = arc.get("steps_ms") or {}
        check(set(steps) == {"pg_read", "pg_delete", "ch_insert", "ch_verify"}
              and all(isinstance(v, int) and v >= 0 for v in steps.values()),
              f"the pass says where its time went ({steps})")
        try:
            through = parse_instant(arc["through"])
            check(abs((datetime.datetime.now(datetime.timezone.utc) - through).total_seconds()) < 120,
                  f"through is about now ({arc['through']})")
        except (KeyError, TypeError, ValueError):
            check(False, f"through is an instant ({arc.get('through')})")
    pg_trial = sql_int(f"SELECT count(*) FROM trace_events WHERE related_id = {lit(oid)} AND event_type = 'trial'")
    ch_trial = int(ch(f"SELECT uniqExact(id) FROM {CH_DB}.trace_events WHERE related_id = {ch_str(oid)} "
                      f"AND event_type = 'trial'")[0][0]) if ch_has_table() else 0
    check(pg_trial == 0 and ch_trial == 1,
          f"the trial span moved from PostgreSQL to ClickHouse (PostgreSQL {pg_trial}, ClickHouse {ch_trial})")
    wm = sql("SELECT archived_through IS NOT NULL, archived_rows FROM trace_archive_state")
    check(wm and wm[0][0] == "t" and int(wm[0][1]) >= (arc or {}).get("moved", 1),
          f"the archive watermark is set ({wm})")

    st, h, cf = request("POST", f"/api/orders/{oid}/confirm", {})
    check(st == 200 and isinstance(cf, dict) and cf.get("status") in ("booking", "confirmed"),
          f"confirm → 200 ({st}: {short(cf)})")
    ctx["confirm_trace"] = h.get("x-trace-id", "")
    o = wait_order(oid, "confirmed")
    check(o and o["status"] == "confirmed", f"the order is confirmed ({o and o.get('status')})")
    st, h, c = request("POST", f"/api/orders/{oid}/cancel", {})
    check(st == 200 and isinstance(c, dict) and c.get("status") == "cancelled",
          f"cancel → 200 cancelled ({st}: {short(c)})")
    ctx["cancel_trace"] = h.get("x-trace-id", "")
    print(f"confirm {ctx['confirm_trace']} cancel {ctx['cancel_trace']}", flush=True)


def order_report(ctx):
    oid = ctx["order"]
    want = {"trial", "create", "confirm", "book", "cancel"}
    st, doc = settled_report(f"/api/traces/by-order/{oid}", want)
    if not check(st == 200 and isinstance(doc, dict), f"GET /api/traces/by-order/{oid} → 200 ({st}: {short(doc)})"):
        raise RuntimeError("no report")
    ctx["report_a"] = doc
    spans = report_spans(doc)
    print(f"report: {len(doc.get('traces', []))} traces, {len(spans)} spans, sources {doc.get('sources')}; "
          f"root events {[t.get('root_event') for t in doc.get('traces', [])]}", flush=True)
    check(doc.get("order_id") == oid, f"report order_id ({doc.get('order_id')})")
    order = doc.get("order") or {}
    got = get_order(oid)
    check(order.get("status") == "cancelled", f"report order.status cancelled ({order.get('status')})")
    check(got is not None and order.get("history") == got.get("history"),
          f"report order.history = GET /api/orders/{{id}} history ({order.get('history')} vs {got and got.get('history')})")
    check(got is not None and order == got, "report order = GET /api/orders/{id}")
    hs = [e.get("status") for e in order.get("history", [])]
    check(hs[-1:] == ["cancelled"] and "held" in hs and "confirmed" in hs,
          f"history: held … confirmed … cancelled ({hs})")
    check(event_types(spans) >= want, f"report has trial, create, confirm, book and cancel spans ({sorted(event_types(spans))})")
    structure_checks(doc, "by-order")

    tids = trace_ids_of(doc)
    named = {"trial": ctx["trial_trace"], "create": ctx["create_trace"], "confirm": ctx["confirm_trace"],
             "cancel": ctx["cancel_trace"]}
    for ev, tid in named.items():
        t = trace_entry(doc, tid)
        check(t is not None and ev in event_types(walk(t.get("spans", []))),
              f"the {ev} request's trace {tid} is in the report with a {ev} span "
              f"({t and sorted(event_types(walk(t.get('spans', []))))})")
    pos = [tids.index(named[e]) if named[e] in tids else -1 for e in ("trial", "create", "confirm", "cancel")]
    check(-1 not in pos and pos == sorted(pos), f"trial, create, confirm, cancel traces in that order ({pos})")
    starts = [t.get("started_at") for t in doc.get("traces", [])]
    try:
        ok = all(parse_instant(a) <= parse_instant(b) for a, b in zip(starts, starts[1:]))
    except (TypeError, ValueError):
        ok = False
    check(ok, f"traces in time order (started_at non-decreasing: {starts})")
    for t in doc.get("traces", []):
        if t.get("trace_id") == ctx["trial_trace"]:
            check(t.get("root_event") in ("http_request", "trial"), f"the trial trace's root event ({t.get('root_event')})")
    src = doc.get("sources") or {}
    check(src.get("postgresql", 0) > 0 and src.get("clickhouse", 0) > 0,
          f"the report spans both stores ({src})")
    for name, store in (("trial", "clickhouse"), ("cancel", "postgresql")):
        tid = ctx[f"{name}_trace"]
        st, _, one = request("GET", f"/api/traces/{tid}")
        entry = trace_entry(doc, tid) or {}
        n = len(report_spans(one)) if st == 200 else -1
        want_src = {"postgresql": 0, "clickhouse": 0}
        want_src[store] = n
        check(st == 200 and one.get("trace_id") == tid and one.get("span_count") == n == entry.get("span_count")
              and one.get("sources") == want_src
              and {x["span_id"] for x in report_spans(one)} == {x["span_id"] for x in walk(entry.get("spans", []))},
              f"GET /api/traces/{{id}} of the {name} trace: its spans, all from {store} "
              f"({st}: span_count {one.get('span_count') if isinstance(one, dict) else one}, {n} spans, "
              f"sources {one.get('sources') if isinstance(one, dict) else None})")

    # The stores themselves: PostgreSQL ∪ ClickHouse spans related to the order.
    pg, chs = pg_order_spans(oid), ch_order_spans(oid)
    both = set(pg) & set(chs)
    check(not both, f"no span row in both stores after a finished pass ({sorted(both)[:5]})")
    union = set(pg.values()) | set(chs.values())
    related = {s["span_id"] for s in spans if s.get("related_type") == "order" and s.get("related_id") == oid}
    check(len(pg) > 0 and len(chs) > 0, f"the order's spans are in both stores (PostgreSQL {len(pg)}, ClickHouse {len(chs)})")
    check(union == related,
          f"the report's spans related to the order = PostgreSQL ∪ ClickHouse ({len(related)} vs "
          f"{len(pg)} + {len(chs)}; only in the stores {sorted(union - related)[:5]}, only in the report "
          f"{sorted(related - union)[:5]})")
    # Every span of the report's traces, agent-scoped, is all the stores hold of them for agent A.
    stored = store_spans_of_traces(tids, AGENT_A)
    ids = {s["span_id"] for s in spans}
    check(set(stored) == ids, f"the report's traces = the stores' spans of agent A in them ({len(ids)} vs "
                              f"{len(stored)}; missing {sorted(set(stored) - ids)[:5]}, extra {sorted(ids - set(stored))[:5]})")
    n_cold = sum(1 for v in stored.values() if v[1] == "clickhouse")
    check(src.get("clickhouse") == n_cold and src.get("postgresql") == len(stored) - n_cold,
          f"sources = where the spans are ({src} vs clickhouse {n_cold}, postgresql {len(stored) - n_cold})")

    # The admin report across agents: the same order, every span of its traces.
    st, adoc = settled_report(f"/admin/traces/by-order/{oid}", want, key=ADMIN, port=ADMIN_PORT)
    ctx["report_admin"] = adoc if st == 200 else None
    check(st == 200 and isinstance(adoc, dict) and adoc.get("order_id") == oid,
          f"admin by-order → 200 ({st}: {short(adoc)})")
    if st == 200:
        structure_checks(adoc, "admin by-order")
        aspans = report_spans(adoc)
        aids = {s["span_id"] for s in aspans}
        check(ids <= aids and set(tids) <= set(trace_ids_of(adoc)),
              f"admin's report holds everything agent A's does ({len(ids)} ⊆ {len(aids)})")
        stored = store_spans_of_traces(trace_ids_of(adoc))
        check(set(stored) == aids, f"admin's report = the stores' spans of its traces ({len(aids)} vs {len(stored)})")
        arel = {s["span_id"] for s in aspans if s.get("related_type") == "order" and s.get("related_id") == oid}
        check(arel == union, f"admin's spans related to the order = PostgreSQL ∪ ClickHouse ({len(arel)} vs {len(union)})")
        check(adoc.get("order") == order, "admin's order object = agent A's")


# -- 2. isolation -----------------------------------------------------------------------


def isolation(ctx):
    oid, hotel = ctx["order"], ctx["hotel"]
    doc = ctx.get("report_a") or {}
    tids = trace_ids_of(doc)
    check(len(tids) >= 4, f"agent A's report has its traces ({len(tids)})")
    st, _, d = request("GET", f"/api/traces/by-order/{oid}", key=KEY_B)
    check(st == 404 and error_code(d) == "not_found", f"agent B: A's order report → 404 not_found ({st}: {short(d)})")
    for fmt in ("html", "otlp"):
        st, _, d = request("GET", f"/api/traces/by-order/{oid}?format={fmt}", key=KEY_B)
        check(st == 404, f"agent B: A's order report as {fmt} → 404 ({st})")
    for tid in tids + [ctx["search_trace"]]:
        st, _, d = request("GET", f"/api/traces/{tid}", key=KEY_B)
        check(st == 404 and error_code(d) == "not_found", f"agent B: A's trace {tid} → 404 ({st}: {short(d)})")
        st, _, d = request("GET", f"/api/traces/{tid}")
        check(st == 200 and d.get("trace_id") == tid and report_spans(d),
              f"agent A: its own trace {tid} → 200 with spans ({st}: {short(d)})")
    st, _, d = request("GET", f"/api/traces/{ctx['b_search_trace']}")
    check(st == 404, f"agent A: B's search trace → 404 ({st})")
    st, _, d = request("GET", f"/api/traces/{ctx['b_search_trace']}", key=KEY_B)
    check(st == 200, f"agent B: its own search trace → 200 ({st}: {short(d)})")

    st, _, bh = request("GET", f"/api/traces/by-hotel/{hotel}", key=KEY_B)
    b_tids = set(trace_ids_of(bh)) if st == 200 else set()
    check(st == 200 and isinstance(bh, dict) and isinstance(bh.get("traces"), list),
          f"agent B: by-hotel → 200 ({st}: {short(bh)})")
    mine = set(tids) | {ctx["search_trace"]}
    check(not (b_tids & mine), f"agent B's by-hotel shows none of A's traces ({sorted(b_tids & mine)})")
    check(ctx["b_search_trace"] in b_tids, f"agent B's by-hotel shows B's own search ({sorted(b_tids)})")
    check(all(s.get("span_id") not in {x.get("span_id") for x in report_spans(doc)} for s in report_spans(bh)),
          "agent B's by-hotel holds none of A's spans")
    st, _, ah = request("GET", f"/api/traces/by-hotel/{hotel}")
    check(st == 200 and ctx["b_search_trace"] not in trace_ids_of(ah),
          f"agent A's by-hotel does not show B's search ({st})")

    # The admin API sees across agents.
    for tid in tids:
        st, _, d = admin("GET", f"/admin/traces/{tid}")
        check(st == 200 and d.get("trace_id") == tid, f"admin: A's trace {tid} → 200 ({st})")
    st, _, d = admin("GET", f"/admin/traces/{ctx['b_search_trace']}")
    check(st == 200, f"admin: B's trace → 200 ({st})")
    st, _, d = admin("GET", f"/admin/traces/by-hotel/{hotel}")
    at = set(trace_ids_of(d)) if st == 200 else set()
    check(st == 200 and mine <= at and ctx["b_search_trace"] in at,
          f"admin: by-hotel shows both agents' traces (A missing {sorted(mine - at)}, B's "
          f"{'in' if ctx['b_search_trace'] in at else 'missing'})")
    admin_doc = ctx.get("report_admin")
    check(admin_doc is not None and set(tids) <= set(trace_ids_of(admin_doc)), "admin: by-order has A's traces")

    # Credentials belong to their port.
    st, _, _ = request("GET", f"/api/traces/by-order/{oid}", key=None)
    check(st == 401, f"by-order without a key → 401 ({st})")
    st, _, _ = request("GET", f"/api/traces/by-order/{oid}", key=ADMIN)
    check(st == 401, f"the admin token on the agent port → 401 ({st})")
    st, _, _ = request("GET", f"/admin/traces/by-order/{oid}", key=KEY_A, port=ADMIN_PORT)
    check(st == 401, f"an agent key on the admin port → 401 ({st})")
    st, _, _ = request("POST", "/admin/traces/archive", key=KEY_A, port=ADMIN_PORT)
    check(st == 401, f"archive with an agent key → 401 ({st})")


# -- 3. by-hotel and validation ---------------------------------------------------------


def by_hotel(ctx):
    hotel = ctx["hotel"]
    st, _, d = request("GET", f"/api/traces/by-hotel/{hotel}")
    if not check(st == 200 and isinstance(d, dict), f"by-hotel → 200 ({st}: {short(d)})"):
        return
    ctx["hotel_report"] = d
    tids = trace_ids_of(d)
    print(f"by-hotel {hotel}: {len(tids)} traces, sources {d.get('sources')}", flush=True)
    check(d.get("hotel_id") == hotel, f"by-hotel hotel_id ({d.get('hotel_id')})")
    try:
        frm, to = parse_instant(d["from"]), parse_instant(d["to"])
        now = datetime.datetime.now(datetime.timezone.utc)
        check(abs((now - to).total_seconds()) < 60 and abs((to - frm).total_seconds() - 7 * 86400) < 1,
              f"default window: the 7 days before now ({d['from']} → {d['to']})")
    except (KeyError, TypeError, ValueError):
        check(False, f"by-hotel from/to are instants ({d.get('from')}, {d.get('to')})")
    st_ = ctx["search_trace"]
    t = trace_entry(d, st_)
    hr = [s for s in walk(t.get("spans", []))] if t else []
    check(t is not None and any(s.get("event_type") == "hotel_rates" and s.get("related_type") == "hotel"
                                and s.get("related_id") == hotel for s in hr),
          f"by-hotel holds the search's trace with its hotel_rates span ({st_} in {tids})")
    want = {ctx["trial_trace"], ctx["create_trace"], ctx["confirm_trace"], ctx["cancel_trace"]}
    check(want <= set(tids), f"by-hotel holds the order's traces (missing {sorted(want - set(tids))})")
    starts = [x.get("started_at") for x in d.get("traces", [])]
    check(starts == sorted(starts, reverse=True), f"by-hotel newest first ({starts})")
    structure_checks(d, "by-hotel")
    src = d.get("sources") or {}
    check(src.get("clickhouse", 0) > 0 and src.get("postgresql", 0) > 0,
          f"by-hotel reads both stores (the search is archived, the cancel is not) ({src})")

    st, _, d2 = request("GET", f"/api/traces/by-hotel/{hotel}?limit=2")
    check(st == 200 and trace_ids_of(d2) == tids[:2] and d2.get("truncated") is True,
          f"limit=2 → the 2 newest, truncated ({st}: {trace_ids_of(d2) if st == 200 else d2} vs {tids[:2]})")
    st, _, d3 = request("GET", f"/api/traces/by-hotel/{hotel}?limit=200")
    check(st == 200 and trace_ids_of(d3) == tids and d3.get("truncated") is False,
          f"limit=200 → all of them, not truncated ({st})")
    q = urllib.parse.urlencode({"from": day(-1), "to": day(1), "limit": 50})
    st, _, d4 = request("GET", f"/api/traces/by-hotel/{hotel}?{q}")
    check(st == 200 and set(trace_ids_of(d4)) == set(tids) and d4.get("from", "").startswith(day(-1)),
          f"from/to as dates → 200, the same traces ({st}: {short(d4)})")
    now = datetime.datetime.now(datetime.timezone.utc)
    q = urllib.parse.urlencode({"from": instant(now - datetime.timedelta(hours=1)),
                                "to": instant(now + datetime.timedelta(minutes=5))})
    st, _, d5 = request("GET", f"/api/traces/by-hotel/{hotel}?{q}")
    check(st == 200 and set(trace_ids_of(d5)) == set(tids), f"from/to as RFC 3339 instants → 200 ({st}: {short(d5)})")
    q = urllib.parse.urlencode({"from": "2020-01-01", "to": "2020-01-02"})
    st, _, d6 = request("GET", f"/api/traces/by-hotel/{hotel}?{q}")
    check(st == 200 and d6.get("traces") == [], f"a window long past → 200, no traces ({st}: {short(d6)})")
    st, _, d8 = request("GET", f"/api/traces/by-hotel/{hotel}?limit=1")
    check(st == 200 and trace_ids_of(d8) == tids[:1], f"limit=1 → the newest trace ({st}: {short(d8)})")
    to = now - datetime.timedelta(days=1)
    st, _, d9 = request("GET", f"/api/traces/by-hotel/{hotel}?" + urllib.parse.urlencode({"to": instant(to)}))
    try:
        ok = st == 200 and d9.get("traces") == [] and \
            abs((parse_instant(d9["to"]) - parse_instant(d9["from"])).total_seconds() - 7 * 86400) < 1
    except (KeyError, TypeError, ValueError, AttributeError):
        ok = False
    check(ok, f"only to (yesterday) → from is 7 days before it, nothing found ({st}: {short(d9)})")
    st, _, d7 = request("GET", f"/api/traces/by-hotel/{ctx['other_hotel']}")
    check(st == 200 and st_ in trace_ids_of(d7) and not (want & set(trace_ids_of(d7))),
          f"the other named hotel has the search but not the order ({st}: {trace_ids_of(d7) if st == 200 else d7})")

    def bad(path, field, what, key=KEY_A, port=PORT, status=400):
        st, _, doc = request("GET", path, key=key, port=port)
        check(st == status and (status != 400 or (error_code(doc) == "invalid_request" and error_field(doc) == field)),
              f"{what} → {status}{' field ' + field if field else ''} ({st}: {short(doc, 200)})")

    h = f"/api/traces/by-hotel/{hotel}"
    for v in ("0", "201", "abc", "-1", "1.5", ""):
        bad(f"{h}?limit={v}", "limit", f"by-hotel limit={v!r}")
    for k in ("from", "to"):
        for v in ("yesterday", "2026-13-01", "2026-01-01T25:00:00Z", ""):
            bad(f"{h}?{k}={urllib.parse.quote(v)}", k, f"by-hotel {k}={v!r}")
    bad(f"{h}?from={day(1)}&to={day(-1)}", "from", "by-hotel from after to")
    bad(f"{h}?banana=1", "banana", "by-hotel unknown parameter banana")
    bad(f"/api/traces/by-order/{ctx['order']}?from={day(-1)}", "from", "by-order with from (by-hotel only)")
    bad(f"/api/traces/by-order/{ctx['order']}?limit=5", "limit", "by-order with limit")
    bad(f"/api/traces/{ctx['trial_trace']}?to={day(1)}", "to", "trace with to")
    bad(f"/api/traces/by-order/{ctx['order']}?verbose=1", "verbose", "by-order unknown parameter")
    for p in ("XYZ", "0" * 32, ctx["trial_trace"].upper(), ctx["trial_trace"][:31], ctx["trial_trace"] + "0"):
        bad(f"/api/traces/{p}", "trace_id", f"trace id {p!r}")
    for kind, field in (("by-order", "order_id"), ("by-hotel", "hotel_id")):
        for p in ("bad.id", "x" * 65, "a%20b"):
            bad(f"/api/traces/{kind}/{p}", field, f"{kind} id {p!r}")
    for path in (f"/api/traces/{ctx['trial_trace']}", f"/api/traces/by-order/{ctx['order']}", h):
        for v in ("xml", "JSON", ""):
            bad(f"{path}?format={v}", "format", f"{path.split('/')[3]} format={v!r}")
    bad("/api/traces/by-hotel/NO-SUCH-HOTEL-0001", None, "unknown hotel", status=404)
    bad("/api/traces/by-order/ORD-no-such-order", None, "unknown order", status=404)
    bad("/api/traces/" + "ab" * 16, None, "unknown trace", status=404)
    # The admin API validates the same way.
    bad(f"/admin/traces/by-hotel/{hotel}?limit=0", "limit", "admin by-hotel limit=0", key=ADMIN, port=ADMIN_PORT)
    bad(f"/admin/traces/by-order/{ctx['order']}?format=pdf", "format", "admin format=pdf", key=ADMIN, port=ADMIN_PORT)
    bad("/admin/traces/nope", "trace_id", "admin bad trace id", key=ADMIN, port=ADMIN_PORT)
    bad("/admin/traces/by-hotel/NO-SUCH-HOTEL-0001", None, "admin unknown hotel", key=ADMIN, port=ADMIN_PORT, status=404)
    bad(f"/admin/traces/by-hotel/{hotel}?x=1", "x", "admin unknown parameter", key=ADMIN, port=ADMIN_PORT)
    # More searches naming the hotel than the default limit (20) shows (dates of their own:
    # each asks the suppliers).
    extra = []
    for i in range(20):
        st, hd, _ = request("POST", "/api/search", search_body(day(100 + i), day(102 + i), hotel_ids=[hotel]))
        if st == 200:
            extra.append(hd.get("x-trace-id"))
    check(len(extra) == 20, f"20 more searches naming the hotel ({len(extra)})")
    wait_pg(f"SELECT count(DISTINCT trace_id) FROM trace_events WHERE event_type = 'hotel_rates' "
            f"AND related_id = {lit(hotel)} AND trace_id IN ({', '.join(lit(t) for t in extra)})", lambda n: n == 20)
    st, _, da = request("GET", f"/api/traces/by-hotel/{hotel}")
    st2, _, dall = request("GET", f"/api/traces/by-hotel/{hotel}?limit=200")
    all_ids = trace_ids_of(dall) if st2 == 200 else []
    check(st == 200 and len(trace_ids_of(da)) == 20 and da.get("truncated") is True and trace_ids_of(da) == all_ids[:20],
          f"default limit: the 20 newest, truncated ({st}: {len(trace_ids_of(da)) if st == 200 else da})")
    check(st2 == 200 and len(all_ids) == len(tids) + 20 and set(all_ids) >= set(tids) | set(extra)
          and dall.get("truncated") is False, f"limit=200: all {len(tids) + 20} traces ({len(all_ids)})")
    check(set(trace_ids_of(da)) == set(extra), "the default 20 are the 20 newest searches")

    # A search naming the hotel answered from the node's own price cache names it too.
    st, hd, doc = request("POST", "/api/search", search_body(day(100), day(102), hotel_ids=[hotel]))
    cached = hd.get("x-trace-id", "")
    check(st == 200 and isinstance(doc, dict) and doc.get("cache") == "hit",
          f"the same search again is a cache hit ({st}: {short(doc, 120)})")
    n = wait_pg(f"SELECT count(*) FROM trace_events WHERE trace_id = {lit(cached)} AND event_type = 'hotel_rates' "
                f"AND related_type = 'hotel' AND related_id = {lit(hotel)}", seconds=5)
    kinds = sorted(r[0] for r in sql(f"SELECT event_type FROM trace_events WHERE trace_id = {lit(cached)}"))
    check(n == 1, f"a search naming the hotel answered from the cache records its hotel_rates span "
                  f"(trace {cached} has {kinds})")
    st, _, dc = request("GET", f"/api/traces/by-hotel/{hotel}?limit=1")
    check(st == 200 and trace_ids_of(dc) == [cached],
          f"by-hotel shows the cached search as the newest trace ({st}: {trace_ids_of(dc) if st == 200 else dc})")
    for fmt in ("json", "html", "otlp"):
        st, hd, _ = raw_request("GET", f"/api/traces/by-hotel/{hotel}?format={fmt}")
        ctype = hd.get("content-type", "")
        check(st == 200 and ("text/html" in ctype if fmt == "html" else "application/json" in ctype),
              f"by-hotel format={fmt} → 200 {ctype}")


# -- 4. OTLP ----------------------------------------------------------------------------


def otlp(ctx):
    oid = ctx["order"]
    st, _, d = request("GET", f"/api/traces/by-order/{oid}?format=otlp")
    if not check(st == 200 and isinstance(d, dict) and isinstance(d.get("resourceSpans"), list) and d["resourceSpans"],
                 f"by-order ?format=otlp → 200 with resourceSpans ({st}: {short(d)})"):
        return
    ctx["otlp_text"] = json.dumps(d)
    report = ctx["report_a"]
    want = {s["span_id"]: s for s in report_spans(report)}
    got, problems = {}, []
    for rs in d["resourceSpans"]:
        attrs = {a.get("key"): a.get("value", {}).get("stringValue") for a in rs.get("resource", {}).get("attributes", [])}
        if not str(attrs.get("service.name", "")).startswith("bedbank"):
            problems.append(f"resource service.name {attrs.get('service.name')}")
        for ss in rs.get("scopeSpans", []):
            if not isinstance(ss.get("scope"), dict) or not ss["scope"].get("name"):
                problems.append(f"scope {ss.get('scope')}")
            for s in ss.get("spans", []):
                sid = s.get("spanId")
                if sid in got:
                    problems.append(f"span {sid} twice")
                got[sid] = s
                if not HEX32.fullmatch(str(s.get("traceId"))) or s.get("traceId") == "0" * 32:
                    problems.append(f"traceId {s.get('traceId')}")
                if not HEX16.fullmatch(str(sid)):
                    problems.append(f"spanId {sid}")
                if "parentSpanId" in s and s["parentSpanId"] and not HEX16.fullmatch(str(s["parentSpanId"])):
                    problems.append(f"parentSpanId {s['parentSpanId']}")
                a, b = s.get("startTimeUnixNano"), s.get("endTimeUnixNano")
                if not (isinstance(a, str) and a.isdigit() and isinstance(b, str) and b.isdigit() and int(b) >= int(a)):
                    problems.append(f"times {a!r}..{b!r}")
                if (s.get("status") or {}).get("code") not in (1, 2):
                    problems.append(f"status {s.get('status')}")
                if not isinstance(s.get("kind"), int) or not isinstance(s.get("attributes"), list) or not s.get("name"):
                    problems.append(f"kind/attributes/name of {sid}")
                r = want.get(sid)
                if r is not None:
                    if s.get("name") != r.get("event_type"):
                        problems.append(f"name {s.get('name')} vs {r.get('event_type')}")
                    if (s.get("parentSpanId") or None) != (r.get("parent_span_id") or None):
                        problems.append(f"parent of {sid}")
                    if (s.get("status") or {}).get("code") != (1 if r.get("status") == "success" else 2):
                        problems.append(f"status of {sid} {s.get('status')} vs {r.get('status')}")
                    start = parse_instant(r["started_at"]).timestamp()
                    if abs(int(a) / 1e9 - start) > 0.002:
                        problems.append(f"start of {sid} {a} vs {r['started_at']}")
    check(not problems, f"OTLP spans are well formed and agree with the JSON report ({problems[:6]})")
    check(set(got) == set(want), f"OTLP has every span of the report ({len(got)} vs {len(want)}; missing "
                                 f"{sorted(set(want) - set(got))[:5]}, extra {sorted(set(got) - set(want))[:5]})")
    tids = {s.get("traceId") for s in got.values()}
    check(tids == set(trace_ids_of(report)), f"OTLP traceIds = the report's traces ({len(tids)})")
    st, _, d = request("GET", f"/api/traces/{ctx['trial_trace']}?format=otlp")
    n = sum(len(ss.get("spans", [])) for rs in d.get("resourceSpans", []) for ss in rs.get("scopeSpans", [])) \
        if st == 200 and isinstance(d, dict) else -1
    tt = trace_entry(report, ctx["trial_trace"])
    check(st == 200 and tt is not None and n == tt.get("span_count"),
          f"one (archived) trace as OTLP has its spans ({st}: {n} vs {tt and tt.get('span_count')})")


# -- 5. HTML in a browser ---------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class SpanDom(html.parser.HTMLParser):
    """The `.span` elements of a page (by data-span-id) and the `.bar`s inside them, the title,
    the h1, and every src/href attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # (tag, span id or None)
        self.spans = {}          # span id -> {"trace", "parent", "bars": [style], "classes"}
        self.dupes = []
        self.links = []
        self.title = ""
        self.h1 = ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        for k in ("src", "href"):
            if a.get(k) is not None:
                self.links.append(a[k])
        sid = None
        if "span" in classes and "data-span-id" in a:
            sid = a["data-span-id"]
            if sid in self.spans:
                self.dupes.append(sid)
            self.spans[sid] = {"trace": a.get("data-trace-id"), "parent": a.get("data-parent-span-id"),
                               "bars": [], "classes": classes}
        if "bar" in classes:
            owner = next((s for _, s in reversed(self.stack) if s is not None), None)
            if owner is not None:
                self.spans[owner]["bars"].append(a.get("style") or "")
        if tag in ("title", "h1"):
            self._in = tag
        if tag not in VOID:
            self.stack.append((tag, sid))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def png_is_picture(data):
    """A PNG signature, an IHDR with a size, and image data that is not one flat colour."""
    if len(data) < 100 or data[:8] != b"\x89PNG\r\n\x1a\n":
        return False, "not a PNG"
    pos, idat, w, h = 8, b"", 0, 0
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    try:
        raw = zlib.decompress(idat)
    except zlib.error as e:
        return False, f"bad image data: {e}"
    distinct = len(set(raw))
    return w > 0 and h > 0 and distinct > 8, f"{w}x{h}, {len(data)} bytes, {distinct} distinct byte values"


def chromium(args, tmp, timeout=120):
    profile = tempfile.mkdtemp(prefix="profile-", dir=tmp)
    return subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
                           "--no-first-run", f"--user-data-dir={profile}"] + args,
                          capture_output=True, timeout=timeout)


def html_page(ctx):
    if not check(os.access(CHROMIUM, os.X_OK),
                 f"headless Chromium is installed at {CHROMIUM} (Debian: apt-get install chromium); "
                 "the HTML report cannot be checked without it"):
        return
    oid = ctx["order"]
    st, hd, page = raw_request("GET", f"/api/traces/by-order/{oid}?format=html")
    if not check(st == 200 and "text/html" in hd.get("content-type", "") and page.lstrip().lower().startswith(b"<!doctype html"),
                 f"by-order ?format=html → 200 text/html page ({st}, {hd.get('content-type')})"):
        return
    text = page.decode("utf-8", errors="replace")
    ctx["html_text"] = text
    raw = SpanDom()
    raw.feed(text)
    external = [u for u in raw.links if re.match(r"\s*(https?:)?//", u, re.I)]
    check(not external, f"no http:// or https:// (or protocol-relative) src/href in the page ({external[:5]})")
    check(not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*[\"']?\s*(https?:)?//", text, re.I),
          "no external script, stylesheet, image or frame")
    report = ctx["report_a"]
    want = {s["span_id"]: s for s in report_spans(report)}
    tmp = tempfile.mkdtemp(prefix="e2e-traces-html-")
    try:
        path = os.path.join(tmp, f"order-{oid}.html")
        with open(path, "wb") as f:
            f.write(page)
        url = "file://" + path
        t0 = time.time()
        r = chromium(["--dump-dom", url], tmp)
        dom_text = r.stdout.decode("utf-8", errors="replace")
        if not check(r.returncode == 0 and "<html" in dom_text.lower(),
                     f"chromium --dump-dom loads the page (exit {r.returncode}, {len(dom_text)} chars; "
                     f"{r.stderr.decode(errors='replace')[-400:]})"):
            return
        print(f"chromium dumped the DOM in {time.time() - t0:.1f} s ({len(dom_text)} chars)", flush=True)
        dom = SpanDom()
        dom.feed(dom_text)
        check(not dom.dupes, f"one .span element per span id ({dom.dupes[:5]} twice)")
        check(set(dom.spans) == set(want), f"the page's .span elements = the JSON report's spans ({len(dom.spans)} vs "
                                           f"{len(want)}; missing {sorted(set(want) - set(dom.spans))[:5]}, extra "
                                           f"{sorted(set(dom.spans) - set(want))[:5]})")
        no_bar, bad_attr = [], []
        for sid, s in dom.spans.items():
            widths = [re.search(r"width\s*:\s*([0-9.]+)%", b) for b in s["bars"]]
            lefts = [re.search(r"left\s*:\s*([0-9.]+)%", b) for b in s["bars"]]
            if not (s["bars"] and all(widths) and all(lefts)
                    and all(0 <= float(m.group(1)) <= 100 for m in widths + lefts)):
                no_bar.append((sid, s["bars"]))
            r_ = want.get(sid)
            if r_ is not None:
                tid = next((t["trace_id"] for t in report.get("traces", []) if sid in
                            {x["span_id"] for x in walk(t.get("spans", []))}), None)
                if s["trace"] != tid or (s["parent"] or None) != (r_.get("parent_span_id") or None):
                    bad_attr.append((sid, s["trace"], s["parent"]))
        check(not no_bar, f"every .span holds a .bar with left and width in % ({no_bar[:3]})")
        check(not bad_attr, f"every .span's data-trace-id and data-parent-span-id match the report ({bad_attr[:3]})")
        check(oid in dom.title and oid in dom.h1, f"title and header name the order ({dom.title!r}, {dom.h1!r})")
        check(all(not re.match(r"\s*(https?:)?//", u, re.I) for u in dom.links), "no external src/href after scripts ran")

        png = os.path.join(tmp, "report.png")
        r = chromium(["--window-size=1280,2000", f"--screenshot={png}", url], tmp)
        data = open(png, "rb").read() if os.path.exists(png) else b""
        ok, why = png_is_picture(data)
        check(r.returncode == 0 and ok, f"chromium renders the page to a screenshot ({r.returncode}: {why})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- 6. the command line ----------------------------------------------------------------


def on_a_terminal(args, timeout=120):
    """Runs `args` with its stdout on a pseudo-terminal: (exit code, what it printed)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(args, stdout=slave, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    finally:
        os.close(slave)
    out = b""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the other side is closed
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        try:
            code = p.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()  # by its own PID
            code = p.wait()
    finally:
        os.close(master)
    return code, out


def trace_json(subject):
    """`bedbank trace <subject> --format json`: (its CompletedProcess, the JSON it printed or None)."""
    r = subprocess.run([BIN, "trace", subject, "--config", CONFIG, "--format", "json"], capture_output=True, timeout=120)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


def cli(ctx):
    oid = ctx["order"]
    adoc = ctx.get("report_admin")
    if not check(adoc is not None, "cli: an admin report to compare with"):
        return
    r = subprocess.run([BIN, "trace", oid, "--config", CONFIG], capture_output=True, timeout=120)
    out = r.stdout.decode("utf-8", errors="replace")
    ctx["cli_text"] = out
    check(r.returncode == 0, f"bedbank trace {oid} exits 0 ({r.returncode}: {r.stderr.decode(errors='replace')[-300:]})")
    check(b"\x1b" not in r.stdout, "bedbank trace piped: no ESC byte (no colours off a terminal)")
    check(oid in out, "the text names the order")
    missing = sorted(e for e in event_types(report_spans(adoc)) if e not in out)
    check(not missing, f"the text mentions every event type of the report (missing {missing})")
    statuses = {e.get("status") for e in adoc["order"].get("history", [])} | {adoc["order"].get("status")}
    missing = sorted(s for s in statuses if s not in out)
    check(not missing, f"the text mentions the order's statuses {sorted(statuses)} (missing {missing})")
    for tid in trace_ids_of(adoc):
        check(tid in out, f"the text names trace {tid}")
    lines = [ln for ln in out.splitlines() if re.search(r"#[0-9a-f]{16}\s*$", ln)]
    check(len(lines) == adoc.get("span_count"), f"one text line per span ({len(lines)} vs {adoc.get('span_count')})")

    code, tty_out = on_a_terminal([BIN, "trace", oid, "--config", CONFIG])
    check(code == 0 and b"\x1b[" in tty_out and oid.encode() in tty_out,
          f"bedbank trace on a terminal: colours ({code}, {len(tty_out)} bytes)")

    r, doc = trace_json(oid)
    check(r.returncode == 0 and isinstance(doc, dict), f"bedbank trace --format json exits 0 with JSON ({r.returncode})")
    if isinstance(doc, dict):
        ctx["cli_json"] = r.stdout.decode(errors="replace")
        a = {s["span_id"] for s in report_spans(adoc)}
        b = {s["span_id"] for s in report_spans(doc)}
        check(a == b, f"the CLI's JSON has the API's span ids ({len(b)} vs {len(a)})")
        check(doc.get("order") == adoc.get("order") and doc.get("sources") == adoc.get("sources"),
              f"the CLI's JSON has the API's order and sources ({doc.get('sources')} vs {adoc.get('sources')})")
    tid = ctx["trial_trace"]
    r, doc = trace_json(tid)
    st, _, api = admin("GET", f"/admin/traces/{tid}")
    check(r.returncode == 0 and isinstance(doc, dict) and doc.get("trace_id") == tid and st == 200
          and {s["span_id"] for s in report_spans(doc)} == {s["span_id"] for s in report_spans(api)},
          f"bedbank trace <archived trace id> --format json = the API's trace ({r.returncode})")
    for fmt, test in (("html", lambda b: b.lstrip().lower().startswith(b"<!doctype html") and oid.encode() in b),
                      ("otlp", lambda b: "resourceSpans" in json.loads(b))):
        r = subprocess.run([BIN, "trace", oid, "--config", CONFIG, "--format", fmt], capture_output=True, timeout=120)
        try:
            ok = r.returncode == 0 and test(r.stdout)
        except ValueError:
            ok = False
        check(ok, f"bedbank trace --format {fmt} exits 0 with a {fmt} report ({r.returncode})")
        ctx[f"cli_{fmt}"] = r.stdout.decode(errors="replace")
    for subject in ("ORD-no-such-order", "ab" * 16):
        r = subprocess.run([BIN, "trace", subject, "--config", CONFIG], capture_output=True, text=True, timeout=120)
        check(r.returncode == 1 and r.stderr.strip() and not r.stdout.strip(),
              f"bedbank trace {subject} (unknown) → exit 1 with a message ({r.returncode}: {r.stderr.strip()!r})")
    r = subprocess.run([BIN, "trace", oid, "--config", CONFIG, "--format", "yaml"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "--format" in r.stderr, f"bad --format → exit 2 naming it ({r.returncode}: {r.stderr.strip()!r})")
    r = subprocess.run([BIN, "trace", "--config", CONFIG], capture_output=True, text=True, timeout=60)
    check(r.returncode == 2, f"bedbank trace without an id → exit 2 ({r.returncode})")


# -- 8. secrets -------------------------------------------------------------------------


def no_secrets(ctx):
    # A request whose body carries credentials: the journal records the body, scrubbed.
    body = search_body(day(50), day(52), city="SHA")
    body.update({"api_key": KEY_A, "token": ADMIN, "password": KEY_B})
    st, h, _ = request("POST", "/api/search", body)
    check(st == 400, f"a search with credentials in its body → 400 ({st})")
    probe = h.get("x-trace-id", "")
    n = wait_pg(f"SELECT count(*) FROM trace_events WHERE trace_id = {lit(probe)}")
    check(n and n > 0, f"the refused search is journalled ({n})")
    st, _, d = request("GET", f"/api/traces/{probe}")
    text = json.dumps(d)
    check(st == 200 and "[redacted]" in text, f"the probe's span shows [redacted] ({st}: {short(d, 500)})")
    reports = {"probe trace": text}
    for fmt in ("html", "otlp"):
        _, _, b = raw_request("GET", f"/api/traces/{probe}?format={fmt}")
        reports[f"probe trace {fmt}"] = b.decode(errors="replace")
    leaked = sql_int("SELECT count(*) FROM trace_events WHERE " + " OR ".join(
        f"request_data::text LIKE {lit('%' + s + '%')} OR response_data::text LIKE {lit('%' + s + '%')}" for s in SECRETS))
    check(leaked == 0, f"no credential in PostgreSQL's spans ({leaked})")
    for k, v in (("order report", ctx.get("report_a")), ("admin order report", ctx.get("report_admin")),
                 ("hotel report", ctx.get("hotel_report"))):
        reports[k] = json.dumps(v)
    for k in ("otlp_text", "html_text", "cli_text", "cli_json", "cli_html", "cli_otlp"):
        reports[k] = ctx.get(k) or ""
    for name, text in reports.items():
        check(text != "" and text != "null", f"secrets: have the {name}")
        found = [s for s in SECRETS if s in text]
        check(not found, f"no agent key or admin token in the {name} ({found})")


# -- 1b. the same report from the archive alone ------------------------------------------


def all_archived(ctx):
    """Answers are the same whether the spans are hot or cold: archive the rest of the order
    (hot_days 0) and compare the reports."""
    oid = ctx["order"]
    st, _, before = request("GET", f"/api/traces/by-order/{oid}")
    _, _, otlp_before = request("GET", f"/api/traces/by-order/{oid}?format=otlp")
    check(st == 200 and (before.get("sources") or {}).get("postgresql", 0) > 0,
          f"before: part of the order is still hot ({st}: {before.get('sources') if isinstance(before, dict) else before})")
    st, _, arc = admin("POST", "/admin/traces/archive", timeout=600)
    check(st == 200 and isinstance(arc, dict) and arc.get("moved", 0) > 0, f"a second archive pass moves the rest ({st}: {arc})")
    left = sql_int(f"SELECT count(*) FROM trace_events WHERE related_type = 'order' AND related_id = {lit(oid)}")
    check(left == 0, f"no span of the order is left in PostgreSQL ({left})")
    st, _, after = request("GET", f"/api/traces/by-order/{oid}")
    if not check(st == 200 and isinstance(after, dict), f"by-order from the archive alone → 200 ({st}: {short(after)})"):
        return
    n = after.get("span_count")
    check(after.get("sources") == {"postgresql": 0, "clickhouse": n} and n == before.get("span_count"),
          f"after: every span from ClickHouse ({after.get('sources')}, {n} vs {before.get('span_count')})")
    a = {k: v for k, v in before.items() if k != "sources"}
    b = {k: v for k, v in after.items() if k != "sources"}
    diff = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
    if "traces" in diff:
        diff += [f"{x.get('trace_id')}" for x, y in zip(a.get("traces", []), b.get("traces", [])) if x != y]
    check(a == b, f"the report is the same from ClickHouse as from both stores, sources aside (differs in {diff[:6]})")
    _, _, otlp_after = request("GET", f"/api/traces/by-order/{oid}?format=otlp")
    check(otlp_before == otlp_after, "the OTLP export is the same from ClickHouse")
    r, doc = trace_json(oid)
    st, _, adoc = admin("GET", f"/admin/traces/by-order/{oid}")
    check(r.returncode == 0 and isinstance(doc, dict) and st == 200 and doc.get("traces") == adoc.get("traces")
          and doc.get("sources") == adoc.get("sources") and adoc["sources"]["postgresql"] == 0,
          f"bedbank trace reads the archived order as the admin API does ({r.returncode}, {st})")


# -- 7. the archiver killed mid-batch ---------------------------------------------------


def load_old_spans():
    """300 000 spans 40 to 43 days old: 30 000 traces of 10 (a root and nine children)."""
    tag = RUN
    t0 = time.time()
    sql(f"""
INSERT INTO trace_events (trace_id, span_id, parent_span_id, event_type, service, related_type, related_id,
                          request_data, response_data, duration_ms, status, error_detail, created_at,
                          started_at, duration_us, agent_id, node)
SELECT md5('{tag}-t-' || (g / {OLD_SPANS_PER_TRACE})),
       substr(md5('{tag}-s-' || g), 1, 16),
       CASE WHEN g % {OLD_SPANS_PER_TRACE} = 0 THEN NULL
            ELSE substr(md5('{tag}-s-' || (g - g % {OLD_SPANS_PER_TRACE})), 1, 16) END,
       (ARRAY['http_request','search','supplier_query','supplier_query','supplier_query','trial',
              'create','book','confirm','settle'])[g % 10 + 1],
       (ARRAY['api_gateway','query_engine','supplier_adapter','supplier_adapter','supplier_adapter',
              'order_engine','order_engine','supplier_adapter','order_engine','order_engine'])[g % 10 + 1],
       'order', 'ORD-OLD-{tag}-' || (g / {OLD_SPANS_PER_TRACE}),
       jsonb_build_object('seq', g, 'trace', g / {OLD_SPANS_PER_TRACE}, 'note', 'loaded by e2e_traces',
                          'pad', repeat('x', 220)),
       jsonb_build_object('ok', true, 'seq', g),
       3, CASE WHEN g % 97 = 0 THEN 'error' ELSE 'success' END,
       CASE WHEN g % 97 = 0 THEN 'loaded error' END,
       base + (g % {OLD_SPANS_PER_TRACE}) * interval '1 millisecond' + interval '3 milliseconds',
       base + (g % {OLD_SPANS_PER_TRACE}) * interval '1 millisecond',
       3000, '{AGENT_A}', '{OLD_NODE}'
FROM generate_series(0, {OLD_SPANS - 1}) AS g,
     LATERAL (SELECT now() - interval '40 days'
                     - interval '3 days' * ((g / {OLD_SPANS_PER_TRACE})::float8 / {OLD_SPANS // OLD_SPANS_PER_TRACE}) AS base) b
""", timeout=600)
    rows = sql(f"SELECT count(*), min(id), max(id), avg(length(request_data::text))::int FROM trace_events "
               f"WHERE node = '{OLD_NODE}'")
    n, lo, hi, avg = (int(x) for x in rows[0])
    print(f"loaded {n} old spans (ids {lo}..{hi}, request_data ~{avg} bytes) in {time.time() - t0:.1f} s", flush=True)
    check(n == OLD_SPANS and hi - lo + 1 == OLD_SPANS, f"{OLD_SPANS} old spans loaded ({n}, ids {lo}..{hi})")
    return tag, lo, hi


def old_left():
    return sql_int("SELECT count(*) FROM trace_events WHERE created_at < now() - interval '30 days'")


def archive_cmd():
    return [BIN, "archive", "--config", CONFIG, "--set", "trace.hot_days=30", "--set", "trace.archive_batch=5000"]


def archive_killed():
    rows_before = sql_int("SELECT archived_rows FROM trace_archive_state")
    tag, lo, hi = load_old_spans()
    kills_mid_work = 0
    # Random delays in 0.3–2.0 s, one from each third of the range (so that the kills spread
    # over the first batches: one takes about a second).
    delays = [random.uniform(0.3 + k * 1.7 / 3, 0.3 + (k + 1) * 1.7 / 3) for k in range(3)]
    random.shuffle(delays)
    for i, delay in enumerate(delays):
        before = old_left()
        p = subprocess.Popen(archive_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        running = p.poll() is None
        if running:
            p.send_signal(signal.SIGKILL)  # by its own PID, as a crash
        out, err = p.communicate(timeout=60)
        after = old_left()
        uniq, total = (int(x) for x in ch(f"SELECT uniqExact(id), count() FROM {CH_DB}.trace_events "
                                          f"WHERE id BETWEEN {lo} AND {hi}")[0])
        print(f"kill {i + 1}: after {delay:.2f} s, {'running' if running else f'already exited {p.returncode}'}; "
              f"old spans in PostgreSQL {before} → {after}; in ClickHouse {uniq} "
              f"({uniq - (OLD_SPANS - after)} in both stores, {total - uniq} duplicate rows)", flush=True)
        if running and p.returncode == -signal.SIGKILL and after > 0:
            kills_mid_work += 1
        # The oldest traces (the first batches) read back whole, whatever state the kill left.
        for k in (OLD_SPANS // OLD_SPANS_PER_TRACE - 1, OLD_SPANS // OLD_SPANS_PER_TRACE - 600):
            tid = hashlib.md5(f"{tag}-t-{k}".encode()).hexdigest()
            st, _, d = admin("GET", f"/admin/traces/{tid}")
            ids = [x.get("span_id") for x in report_spans(d)] if st == 200 else []
            check(len(ids) == OLD_SPANS_PER_TRACE == len(set(ids)),
                  f"after kill {i + 1}: old trace {k} reads back with its 10 spans once ({st}: {len(ids)}, "
                  f"{d.get('sources') if isinstance(d, dict) else d})")
    check(kills_mid_work >= 1, f"at least one kill -9 landed while the archive was at work ({kills_mid_work} of 3)")
    left = old_left()
    t0 = time.time()
    r = subprocess.run(archive_cmd(), capture_output=True, text=True, timeout=540)
    took = time.time() - t0
    print(f"archive to completion ({took:.1f} s): {r.stdout.strip()} {r.stderr.strip()[-300:]}", flush=True)
    lines = r.stdout.strip().splitlines() + ["", ""]
    m = re.fullmatch(r"archive: moved (\d+) spans \((\d+) inserted\) in (\d+) batches, ([0-9.e+-]+) s; "
                     r"dropped (\d+) partitions", lines[0])
    check(re.fullmatch(r"archive: PostgreSQL read [0-9.e+-]+ s and delete [0-9.e+-]+ s, overlapping "
                       r"ClickHouse insert [0-9.e+-]+ s and verify [0-9.e+-]+ s", lines[1]) is not None,
          f"bedbank archive says where its time went ({lines[1]!r})")
    check(r.returncode == 0 and m is not None, f"bedbank archive exits 0 with its summary line ({r.returncode}: {r.stdout!r})")
    if m:
        moved, inserted, batches = int(m.group(1)), int(m.group(2)), int(m.group(3))
        check(moved == left, f"the last run moved what was left ({moved} vs {left})")
        check(inserted <= moved, f"the last run inserted at most what it moved ({inserted} of {moved})")
        check(batches == -(-left // 5000), f"batches of 5000: ceil({left} / 5000) ({batches})")
    check(old_left() == 0, f"PostgreSQL holds no span older than 30 days ({old_left()})")
    check(sql_int(f"SELECT count(*) FROM trace_events WHERE node = '{OLD_NODE}'") == 0,
          "none of the loaded spans is left in PostgreSQL")
    uniq, total = (int(x) for x in ch(f"SELECT uniqExact(id), count() FROM {CH_DB}.trace_events "
                                      f"WHERE id BETWEEN {lo} AND {hi}")[0])
    check(uniq == OLD_SPANS, f"ClickHouse holds every one of the {OLD_SPANS} spans (uniqExact(id) = {uniq})")
    print(f"ClickHouse physical duplicates of the loaded spans: {total - uniq} (count {total})", flush=True)
    n = int(ch(f"SELECT uniqExact(id) FROM {CH_DB}.trace_events WHERE node = '{OLD_NODE}' "
               f"AND (id < {lo} OR id > {hi})")[0][0])
    check(n == 0, f"no stray archived ids ({n})")
    rows_after = sql_int("SELECT archived_rows FROM trace_archive_state")
    check(rows_after - rows_before == OLD_SPANS,
          f"the watermark's archived_rows grew by exactly {OLD_SPANS} ({rows_before} → {rows_after})")
    # Twenty archived traces read back whole, each span once.
    picks = random.sample(range(OLD_SPANS // OLD_SPANS_PER_TRACE), 20)
    bad = []
    for k in picks:
        tid = hashlib.md5(f"{tag}-t-{k}".encode()).hexdigest()
        want = {hashlib.md5(f"{tag}-s-{k * OLD_SPANS_PER_TRACE + j}".encode()).hexdigest()[:16]
                for j in range(OLD_SPANS_PER_TRACE)}
        st, _, d = admin("GET", f"/admin/traces/{tid}")
        spans = report_spans(d) if st == 200 else []
        ids = [s.get("span_id") for s in spans]
        if not (st == 200 and len(ids) == OLD_SPANS_PER_TRACE and set(ids) == want and d.get("span_count") == 10
                and d.get("sources") == {"postgresql": 0, "clickhouse": 10} and len(d.get("spans", [])) == 1):
            bad.append((tid, st, len(ids), len(set(ids)), d.get("sources") if isinstance(d, dict) else d))
    check(not bad, f"20 random archived traces: exactly their 10 spans each, once, from ClickHouse ({bad[:3]})")
    tid = hashlib.md5(f"{tag}-t-{picks[0]}".encode()).hexdigest()
    # What an interrupted run can leave behind, made for sure: every row of one trace twice.
    ch(f"INSERT INTO {CH_DB}.trace_events SELECT * FROM {CH_DB}.trace_events WHERE trace_id = {ch_str(tid)}")
    rows = int(ch(f"SELECT count() FROM {CH_DB}.trace_events WHERE trace_id = {ch_str(tid)}")[0][0])
    st, _, d = admin("GET", f"/admin/traces/{tid}")
    ids = [x.get("span_id") for x in report_spans(d)] if st == 200 else []
    check(rows >= 2 * OLD_SPANS_PER_TRACE and len(ids) == OLD_SPANS_PER_TRACE == len(set(ids))
          and d.get("span_count") == OLD_SPANS_PER_TRACE,
          f"a trace whose rows ClickHouse holds twice reads back once ({rows} rows, {len(ids)} spans)")
    st, _, d = request("GET", f"/api/traces/{tid}")
    check(st == 200 and len(report_spans(d)) == 10, f"agent A reads its archived trace ({st})")
    st, _, d = request("GET", f"/api/traces/{tid}", key=KEY_B)
    check(st == 404, f"agent B cannot read A's archived trace ({st})")


# -- process control --------------------------------------------------------------------


def main():
    t0 = time.time()
    section("fresh databases", fresh_databases)
    if harness.CHECKS.failed:
        return
    log = harness.open_log("e2e-traces-", RUN)
    proc = harness.serve(BIN, CONFIG, "--node-id", NODE_ID, stdout=log)
    try:
        if not check(harness.wait_up(proc, ADMIN_PORT, STARTUP_SECONDS), "bedbank answers /admin/health"):
            return
        ctx = {}
        section("1. an order's story across both stores", order_flow, ctx)
        if "order" not in ctx:
            return
        section("1. the order's report", order_report, ctx)
        if "report_a" not in ctx:
            return
        section("2. agent isolation", isolation, ctx)
        section("3. by-hotel and validation", by_hotel, ctx)
        section("4. OTLP", otlp, ctx)
        section("5. HTML in headless Chromium", html_page, ctx)
        section("6. bedbank trace", cli, ctx)
        section("8. no secrets in reports", no_secrets, ctx)
        section("1b. the order's report from the archive alone", all_archived, ctx)
        section("7. bedbank archive killed mid-batch", archive_killed)
    finally:
        harness.stop_checked(proc, "bedbank")
        harness.check_log(log, "bedbank's log")  # it provokes no warning
        if harness.CHECKS.failed:
            harness.print_log_tail(log)
        print(f"took {time.time() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    harness.finish(main, "e2e_traces: {passed} checks passed, {failed} failed")
