#!/usr/bin/env python3
"""End-to-end test of the search path: a real `bedbank` process over HTTP.

Starts `bedbank migrate` and `bedbank serve` against the test servers (ctest's
`services` fixture), then checks search (miss then hit), traces, auth,
validation, limits, rate limiting, the admin API and graceful shutdown.
Usage: e2e_search_test.py <bedbank binary> <config>
"""
import functools
import http.client
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/e2e/harness.py)
from harness import FORM_TYPE, JSON_TYPE, OVERSIZED_JSON, check, day, error_field  # noqa: E402

BIN, CONFIG, PORT, ADMIN_PORT = harness.invocation()
KEY_A, KEY_B, ADMIN = "demo-key-a", "demo-key-b", "demo-admin-token"
STARTUP_SECONDS = 20
TRACE_WAIT_SECONDS = 10

# request(method, path, body=None, key=KEY_A, port=PORT, headers=None, raw=None, conn=None)
request = functools.partial(harness.request, key=KEY_A, port=PORT, timeout=10)


def search_body(**kw):
    b = {"city": "SHA", "check_in": day(40), "check_out": day(42), "rooms": [{"adults": 2}]}
    b.update(kw)
    return b


def wait_for_trace(trace_id, key, want):
    deadline = time.time() + TRACE_WAIT_SECONDS
    doc = None
    while time.time() < deadline:
        st, _, doc = request("GET", f"/api/traces/{trace_id}", key=key)
        if st == 200 and want(doc):
            return doc
        time.sleep(0.2)
    return doc


def all_spans(doc):
    out = []

    def walk(spans):
        for s in spans:
            out.append(s)
            walk(s.get("children", []))

    walk(doc.get("spans", []) if isinstance(doc, dict) else [])
    return out


def main():
    mig = harness.migrate(BIN, CONFIG)
    check(mig.returncode == 0, f"migrate exits 0 ({mig.stderr.strip()})")
    mig2 = harness.migrate(BIN, CONFIG)
    check(mig2.returncode == 0 and "up to date" in mig2.stdout, "second migrate applies nothing")

    bad = subprocess.run([BIN, "serve", "--config", CONFIG, "--set", "pricing.cache_ttl=banana"],
                         capture_output=True, text=True)
    check(bad.returncode == 2 and "pricing.cache_ttl" in bad.stderr,
          f"a bad --set exits 2 naming the key ({bad.returncode}: {bad.stderr.strip()})")

    log = harness.open_log("e2e-search-", harness.run_id())
    proc = harness.serve(BIN, CONFIG, stdout=log)
    try:
        up = harness.wait_up(proc, ADMIN_PORT, STARTUP_SECONDS, key=ADMIN, ok=(200, 503), timeout=10)
        check(up, "bedbank answers /admin/health")
        if not up:
            return
        run_checks()
    finally:
        harness.stop_checked(proc, "bedbank", the="", must_run=False)
        harness.check_log(log, "bedbank's log")  # it provokes no warning
        if harness.CHECKS.failed:
            harness.print_log_tail(log, 4000)


def run_checks():
    # -- auth ----------------------------------------------------------------
    st, h, doc = request("POST", "/api/search", search_body(), key=None)
    check(st == 401 and doc["error"]["code"] == "unauthorized", f"no key → 401 ({st})")
    check(re.fullmatch(r"[0-9a-f]{32}", h.get("x-trace-id", "")) is not None,
          "401 still carries X-Trace-Id")
    st, _, _ = request("POST", "/api/search", search_body(), key="wrong-key")
    check(st == 401, f"unknown key → 401 ({st})")

    # -- search: miss then hit --------------------------------------------------
    st, h, first = request("POST", "/api/search", search_body())
    check(st == 200, f"search → 200 ({st}: {first})")
    if st != 200:
        return
    check(first["cache"] == "miss", "first search is a cache miss")
    trace_id = h.get("x-trace-id", "")
    check(re.fullmatch(r"[0-9a-f]{32}", trace_id) is not None, "X-Trace-Id is 32 hex")
    check(first["trace_id"] == trace_id, "body trace_id equals X-Trace-Id")
    check(re.fullmatch(r"00-" + trace_id + r"-[0-9a-f]{16}-01", h.get("traceparent", "")) is not None,
          f"traceparent returned ({h.get('traceparent')})")
    for hdr in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        check(hdr in h, f"{hdr} present")
    codes = sorted(s["code"] for s in first["suppliers"])
    check(codes == ["dida", "expedia", "hotelbeds"], f"three suppliers reported ({codes})")
    check(all(s["status"] == "ok" for s in first["suppliers"]), "all suppliers ok")
    results = first["results"]
    check(len(results) > 10, f"SHA has results ({len(results)})")
    cheapest = [float(r["cheapest"]["amount"]) for r in results]
    check(cheapest == sorted(cheapest), "results sorted by cheapest price")
    multi = [r for r in results if len({x["supplier"] for x in r["rates"]}) > 1]
    check(len(multi) > 0, "some hotels grouped across suppliers")
    rate = results[0]["rates"][0]
    check(re.fullmatch(r"\d+\.\d{2}", rate["price"]["amount"]) is not None, "money is a decimal string")
    check(rate["price"]["currency"] == "CNY", "currency CNY")
    check(float(rate["price"]["amount"]) > float(rate["net"]["amount"]), "price includes markup")
    check(rate["rate_type"] in ("bookable", "recheck") and rate["board"] in ("RO", "BB", "HB", "FB", "AI"),
          "rate fields")
    check(float(results[0]["cheapest"]["amount"]) == float(rate["price"]["amount"]),
          "cheapest equals the first rate's price")

    st, h2, second = request("POST", "/api/search", search_body())
    check(st == 200 and second["cache"] == "hit", f"second search is a cache hit ({second.get('cache')})")
    check([r["hotel_id"] for r in second["results"]] == [r["hotel_id"] for r in results],
          "the hit returns the same hotels")
    hit_trace = h2.get("x-trace-id")

    # -- trace context ---------------------------------------------------------------
    incoming = "4bf92f3577b34da6a3ce929d0e0e4736"
    st, h, _ = request("POST", "/api/search", search_body(),
                       headers={"traceparent": f"00-{incoming}-00f067aa0ba902b7-01"})
    check(h.get("x-trace-id") == incoming, "a valid traceparent is continued")
    st, h, _ = request("POST", "/api/search", search_body(), headers={"traceparent": "garbage"})
    check(st == 200 and h.get("x-trace-id") != incoming, "an invalid traceparent is ignored")

    # -- traces ----------------------------------------------------------------
    # Spans arrive in batches: wait until the gateway's own span is in too.
    doc = wait_for_trace(trace_id, KEY_A,
                         lambda d: len([s for s in all_spans(d) if s["event_type"] == "supplier_query"]) >= 3
                         and any(s["service"] == "api_gateway" for s in all_spans(d)))
    spans = all_spans(doc)
    kinds = [s["event_type"] for s in spans]
    check(kinds.count("supplier_query") == 3, f"three supplier_query spans ({kinds})")
    check("search" in kinds, "a search span")
    check(any(s["service"] == "api_gateway" for s in spans), "a gateway span")
    check(all(s["status"] == "success" for s in spans if s["event_type"] == "supplier_query"),
          "supplier spans succeeded")
    check(all(KEY_A not in json.dumps(s) for s in spans), "no API key in spans")
    hit_doc = wait_for_trace(hit_trace, KEY_A,
                             lambda d: any(s["event_type"] == "cache_hit" for s in all_spans(d))
                             and any(s["event_type"] == "http_request" for s in all_spans(d)))
    hit_spans = all_spans(hit_doc)
    check(len(hit_doc.get("spans", [])) == 1 and hit_doc["spans"][0]["event_type"] == "http_request",
          "the hit's spans form one tree under the gateway span")
    check(any(s["event_type"] == "cache_hit" for s in all_spans(hit_doc)), "the hit has a cache_hit span")
    st, _, doc_b = request("GET", f"/api/traces/{trace_id}", key=KEY_B)
    check(st == 404, f"agent B cannot read agent A's trace ({st})")
    st, _, _ = request("GET", "/api/traces/" + "0" * 31 + "1", key=KEY_A)
    check(st == 404, f"unknown trace → 404 ({st})")
    st, _, _ = request("GET", f"/admin/traces/{trace_id}", key=ADMIN, port=ADMIN_PORT)
    check(st == 200, f"the admin reads any agent's trace ({st})")

    # -- validation ----------------------------------------------------------------
    cases = [
        (search_body(check_in=day(-1)), "check_in"),
        (search_body(check_out=day(40)), "check_out"),
        (search_body(check_out=day(80)), "check_out"),
        (search_body(rooms=[]), "rooms"),
        (search_body(rooms=[{"adults": 0}]), "rooms[0].adults"),
        (search_body(rooms=[{"adults": 2, "children_ages": [18]}]), "rooms[0].children_ages[0]"),
        (search_body(currency="XYZ"), "currency"),
        (search_body(max_results=0), "max_results"),
        (search_body(hotel_ids=["H-SHA-0001"]), None),
        ({"check_in": day(40), "check_out": day(42), "rooms": [{"adults": 2}]}, None),
        (search_body(check_in="2026/12/01"), "check_in"),
        (search_body(surprise=1), "surprise"),
    ]
    for body, field in cases:
        st, _, doc = request("POST", "/api/search", body)
        ok = st == 400 and doc["error"]["code"] == "invalid_request"
        if field is not None:
            ok = ok and error_field(doc) == field
        check(ok, f"invalid search {body} → 400 field {field} (got {st} {doc})")
    st, _, doc = request("POST", "/api/search", raw=b"{not json", headers=JSON_TYPE)
    check(st == 400, f"malformed JSON → 400 ({st})")
    st, _, doc = request("POST", "/api/search", raw=b"city=SHA", headers=FORM_TYPE)
    check(st == 415, f"wrong content type → 415 ({st})")
    st, _, doc = request("POST", "/api/search", raw=OVERSIZED_JSON, headers=JSON_TYPE)
    check(st == 413, f"70 KiB body → 413 ({st})")
    st, _, _ = request("GET", "/api/nowhere")
    check(st == 404, f"unknown path → 404 ({st})")

    # -- keep-alive -------------------------------------------------------------------
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    s1, _, _ = request("GET", "/api/hotels?city=SHA&limit=5", conn=conn)
    s2, _, _ = request("GET", "/api/hotels?city=PEK&limit=5", conn=conn)
    conn.close()
    check(s1 == 200 and s2 == 200, "two requests on one keep-alive connection")

    # -- hotels ------------------------------------------------------------------
    st, _, doc = request("GET", "/api/hotels?city=SHA&limit=50")
    check(st == 200 and len(doc["hotels"]) == 40, f"40 SHA hotels ({st})")
    h0 = doc["hotels"][0]
    check(all(k in h0 for k in ("hotel_id", "name", "city", "address", "stars", "lat", "lon", "suppliers")),
          "hotel fields")
    st, _, doc = request("GET", "/api/hotels?city=SHA&limit=0")
    check(st == 400 and error_field(doc) == "limit", "limit=0 → 400 field limit")

    # -- admin --------------------------------------------------------------------
    st, _, _ = request("GET", "/admin/suppliers", key=None, port=ADMIN_PORT)
    check(st == 401, "admin without token → 401")
    st, _, _ = request("GET", "/admin/suppliers", key=KEY_A, port=ADMIN_PORT)
    check(st == 401, "admin with an agent key → 401")
    st, _, doc = request("GET", "/admin/health", key=ADMIN, port=ADMIN_PORT)
    check(st == 200, f"health 200 ({doc})")
    st, _, doc = request("GET", "/admin/suppliers", key=ADMIN, port=ADMIN_PORT)
    check(st == 200 and len(doc["suppliers"]) == 3, f"three suppliers ({doc})")
    st, _, doc = request("POST", "/admin/suppliers/expedia/circuit", {"state": "open"}, key=ADMIN,
                         port=ADMIN_PORT)
    check(st == 200, f"force expedia open ({st} {doc})")
    st, _, doc = request("POST", "/api/search", search_body(check_in=day(50), check_out=day(51)))
    status = {s["code"]: s["status"] for s in doc.get("suppliers", [])}
    check(st == 200 and status.get("expedia") == "circuit_open" and status.get("hotelbeds") == "ok",
          f"an open circuit is reported, the rest answers ({status})")
    st, _, doc = request("POST", "/admin/suppliers/expedia/circuit", {"state": "sideways"}, key=ADMIN,
                         port=ADMIN_PORT)
    check(st == 400 and error_field(doc) == "state", f"bad circuit state → 400 ({st})")
    st, _, _ = request("POST", "/admin/suppliers/nobody/circuit", {"state": "open"}, key=ADMIN,
                       port=ADMIN_PORT)
    check(st == 404, f"unknown supplier → 404 ({st})")
    st, _, doc = request("POST", "/admin/suppliers/expedia/circuit", {"state": "auto"}, key=ADMIN,
                         port=ADMIN_PORT)
    check(st == 200, "hand expedia back")
    st, _, doc = request("GET", "/admin/cluster", key=ADMIN, port=ADMIN_PORT)
    check(st == 200 and "nodes" in doc, f"cluster view ({doc})")
    st, _, text = request("GET", "/metrics", key=None, port=ADMIN_PORT)
    check(st == 200 and isinstance(text, str) and "bedbank_" in text, "metrics in text format")

    # -- rate limit ---------------------------------------------------------------------
    statuses = []
    for _ in range(4):
        st, h, _ = request("GET", "/api/hotels?city=SHA&limit=1", key="limited-key-0000000001")
        statuses.append(st)
    check(statuses == [200, 200, 200, 429], f"4th request of a 3/min agent → 429 ({statuses})")
    check("retry-after" in h and h.get("x-ratelimit-remaining") == "0", "429 has Retry-After")


if __name__ == "__main__":
    harness.finish(main, "{passed} passed, {failed} failed", on_error="raise")
