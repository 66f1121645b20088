#!/usr/bin/env python3
"""Three real bedbank nodes on loopback, one of them killed, hung, drained and refused.

Node a has the gateway, engine and journal roles (the agent and admin APIs), b engine and
journal, c engine only (its spans go to a journal node's writer). They join through a, and
the test then checks, in order:

1. Membership: /admin/cluster lists the three nodes up with their roles, pids, heartbeats,
   actors per kind and mailbox backlogs; the ring holds three engines; /admin/suppliers sums
   the breakers of three engine nodes; a circuit override reaches every engine node.
2. Failover: 200 concurrent orders of every kind (tests/e2e/order_crash.py) through the
   gateway while searches run in the background; `kill -9` of node c once half of the creates
   are answered. Every order ends terminal, each confirmed order is booked exactly once at the
   supplier, credit balances, nothing is left pending; searches kept answering.
3. Rejoin: node c restarted with the same id while orders and searches run rejoins (a new
   incarnation: new pid, up since) and takes shards again; no request fails.
4. A hung node (SIGSTOP) is down within cluster.failure_timeout and /admin/cluster still
   answers within its deadline; resumed (SIGCONT), it is up again.
5. Drain: POST /admin/nodes/b/drain while orders and searches run: no request fails, new
   orders go to a and c only, and b's order and hold actors go to zero.
6. A node of another wire version is refused with a clear log line and never joins.
7. SIGTERM stops every node with exit 0.
Usage: cluster_test.py <bedbank binary> <config>
"""
import collections
import functools
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402  (tests/e2e/harness.py)
import order_crash  # noqa: E402  (tests/e2e/order_crash.py)
from harness import check, day, lit, wait_for  # noqa: E402
from order_crash import TERMINAL  # noqa: E402

BIN, CONFIG, PORT, ADMIN_PORT = harness.invocation()
CLUSTER_PORT = int(os.environ["BEDBANK_CLUSTER_PORT"])  # a's; b, c and the stranger follow
PG_PORT = os.environ["BEDBANK_TEST_PG_PORT"]
ADMIN = "demo-admin-token"
AGENTS = {"cluster-a": "cluster-key-a-00000000001", "cluster-b": "cluster-key-b-00000000001"}
ROLES = {"a": "gateway,engine,journal", "b": "engine,journal", "c": "engine"}
PORTS = {"a": CLUSTER_PORT, "b": CLUSTER_PORT + 1, "c": CLUSTER_PORT + 2, "stranger": CLUSTER_PORT + 3}
OVERRIDES = ["--set", "inventory.hold_ttl=40s"]
STARTUP_SECONDS = 30
SETTLE_SECONDS = 180
FAILURE_SECONDS = 1.5  # cluster.failure_timeout of cluster.yaml
KILL_AFTER = order_crash.ORDERS // 2
DRAIN_ORDERS = 40
JOIN_ORDERS = 40
RUN = harness.run_id()


def _peer(name):
    return rf"peer=127\.0\.0\.1:{PORTS[name]}$"


# What each node's log holds on purpose (harness.check_log): the kill of c (failover), the hang
# of b (SIGSTOP: the others take it as down; resumed, it finds its peers silent and its joins
# timed out), the node of another wire version. Nodes stopped with SIGTERM at the end leave
# without a warning.
PROVOKED = {
    "a": [(r"warn cluster: member down member=cluster-c reason=exit_reason\(remote_link_unreachable\)",
           "failover: kill -9 of c"),
          (r"warn cluster: cannot reach peer \(will retry\) .*" + _peer("c"), "failover: c is dead until the rejoin"),
          (r"warn cluster: member down address=\S+ member=cluster-b reason=no heartbeat", "hung node: b stopped"),
          (r"warn cluster: cannot reach peer \(will retry\) .*" + _peer("b"), "hung node: b stopped"),
          (r"error cluster: refused a node of another wire version", "the stranger")],
    "b": [(r"warn cluster: member down (address=\S+ )?member=cluster-[ac] reason=(no heartbeat|"
           r"exit_reason\(remote_link_unreachable\))", "hung node: b, resumed, finds its peers silent"),
          (r"warn cluster: (join failed|cannot reach peer \(will retry\)) .*(" + _peer("a") + "|" + _peer("c") + ")",
           "hung node: b's calls timed out while it was stopped")],
    "c": [(r"warn cluster: member down address=\S+ member=cluster-b reason=no heartbeat", "hung node: b stopped"),
          (r"warn cluster: (join failed|cannot reach peer \(will retry\)) .*" + _peer("b"), "hung node: b stopped")],
    "stranger": [(r"error cluster: peer refused: it runs another wire version", "another wire version")],
}

request = functools.partial(harness.request, port=PORT, timeout=60)
PG = harness.Postgres(PG_PORT)
sql, sql_one = PG.sql, PG.sql_one
order_crash.configure(request, AGENTS, PG, RUN, "CLUSTER", stop_follow_ups_at_kill=False)


def node_id(name):
    return f"cluster-{name}"


def start(name, log, env=None, seeds=None):
    seeds = seeds if seeds is not None else ([] if name == "a" else [f"127.0.0.1:{PORTS['a']}"])
    args = ["--role", ROLES.get(name, "engine"), "--node-id", node_id(name),
            "--set", f"cluster.port={PORTS[name]}", *OVERRIDES]
    if seeds:
        args += ["--set", "cluster.seeds=" + ",".join(seeds)]
    return subprocess.Popen([BIN, "serve", "--config", CONFIG, *args], stdout=log,
                            stderr=subprocess.STDOUT, env=env)


def cluster_view(timeout=10):
    st, _, doc = request("GET", "/admin/cluster", key=ADMIN, port=ADMIN_PORT, timeout=timeout)
    return doc if st == 200 and isinstance(doc, dict) else None


def states(view):
    return {n["id"]: n["state"] for n in (view or {}).get("nodes", [])}


def wait_states(want, seconds):
    """Waits until /admin/cluster shows every node of `want` (id → state); answers the view."""
    last = [None]

    def ok():
        last[0] = cluster_view()
        s = states(last[0])
        return all(s.get(node_id(k)) == v for k, v in want.items())

    wait_for(ok, seconds, 0.2)
    return last[0]


class Searches:
    """Searches in the background, one after another, counting the answers by status."""

    def __init__(self, key):
        self.key, self.stop_flag, self.counts = key, threading.Event(), collections.Counter()
        self.partial = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            body = {"city": "SHA", "check_in": day(70 + i % 5), "check_out": day(72 + i % 5),
                    "rooms": [{"adults": 1 + i % 3}], "max_results": 10}
            i += 1
            try:
                st, _, doc = request("POST", "/api/search", body, key=self.key, timeout=20)
            except OSError as e:
                self.counts[f"socket: {e}"] += 1
                continue
            self.counts[st] += 1
            if st == 200 and any(s["status"] != "ok" for s in doc.get("suppliers", [])):
                self.partial += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(timeout=30)


# -- the steps -------------------------------------------------------------------------------


def check_membership():
    view = wait_states({"a": "up", "b": "up", "c": "up"}, STARTUP_SECONDS)
    if not check(view is not None, "/admin/cluster answers"):
        return False
    s = states(view)
    if not check(all(s.get(node_id(n)) == "up" for n in "abc"), f"three nodes up: {s}"):
        return False
    check(sorted(view["ring"]["engines"]) == [node_id(n) for n in "abc"],
          f"the ring holds the three engines: {view['ring']}")
    by_id = {n["id"]: n for n in view["nodes"]}
    for name, roles in ROLES.items():
        n = by_id[node_id(name)]
        check(sorted(n["roles"]) == sorted(roles.split(",")), f"{name}: roles {n['roles']}")
        check(n.get("answered") is True, f"{name} answered the status question")
        check(isinstance(n.get("pid"), int) and n["pid"] > 0, f"{name}: pid {n.get('pid')}")
        check(n.get("address") == f"127.0.0.1:{PORTS[name]}", f"{name}: address {n.get('address')}")
        check(bool(n.get("up_since")) and bool(n.get("last_heartbeat")), f"{name}: up_since, last_heartbeat")
        actors = n.get("actors", {})
        check(actors.get("order_engine") == 1 and actors.get("query_engine") == 1,
              f"{name}: engine actors {actors}")
        check(actors.get("span_writer", 0) == (0 if name == "c" else 1), f"{name}: span writer {actors}")
        check(isinstance(n.get("mailbox_backlog"), dict) and "order_engine" in n["mailbox_backlog"],
              f"{name}: mailbox backlog {n.get('mailbox_backlog')}")
        check(n.get("shards", {}).get("points", 0) > 0, f"{name}: shard points {n.get('shards')}")
    st, _, doc = request("GET", "/admin/suppliers", key=ADMIN, port=ADMIN_PORT)
    check(st == 200 and sorted(doc.get("nodes", [])) == [node_id(n) for n in "abc"],
          f"/admin/suppliers asks the three engine nodes ({st} {str(doc)[:200]})")
    if st == 200:
        for s in doc["suppliers"]:
            check(len(s.get("nodes", [])) == 3, f"{s['code']}: a breaker per engine node")
    st, _, doc = request("POST", "/admin/suppliers/dida/circuit", {"state": "open"}, key=ADMIN,
                         port=ADMIN_PORT)
    check(st == 200 and doc.get("mode") == "forced_open" and len(doc.get("nodes", [])) == 3,
          f"a forced breaker reaches every engine node ({st} {str(doc)[:200]})")
    st, _, doc = request("POST", "/admin/suppliers/dida/circuit", {"state": "auto"}, key=ADMIN,
                         port=ADMIN_PORT)
    check(st == 200 and doc.get("mode") == "auto", f"and is handed back ({st})")
    st, _, doc = request("POST", "/admin/nodes/nobody/drain", key=ADMIN, port=ADMIN_PORT)
    check(st == 404, f"draining an unknown node → 404 ({st})")
    return True


def failover(procs, logs):
    rates = order_crash.gather_rates()
    orders = order_crash.plan(rates)
    victim = procs["c"]

    def kill():
        os.kill(victim.pid, signal.SIGKILL)  # our own child, by PID

    with Searches(AGENTS["cluster-a"]) as searches:
        killed, in_flight, took = order_crash.phase_one(orders, kill, KILL_AFTER)
        victim.wait()
        down = wait_states({"c": "down"}, FAILURE_SECONDS * 4)
        check(states(down).get(node_id("c")) == "down", f"the killed engine shows as down: {states(down)}")
        view = cluster_view()
        if view:
            check(sorted(view["ring"]["engines"]) == [node_id("a"), node_id("b")],
                  f"its shards moved: the ring is {view['ring']}")
        lost = collections.Counter(x for o in orders for x in o.lost)
        answered = sum(1 for o in orders if o.create_status)
        print(f"phase one: {took:.1f} s, {answered} creates answered, {in_flight} in flight at the "
              f"kill; lost answers {dict(lost)}", flush=True)
        check(killed and in_flight > 0, f"the kill happened with creates in flight ({in_flight})")
        for o in orders:
            o.errors = [e for e in o.errors if not e.startswith("trial attempt")]
        order_crash.phase_two(orders)
        rows = order_crash.wait_terminal(orders, SETTLE_SECONDS)
        settled = sum(1 for r in rows if r[1] in TERMINAL)
        print(f"settled {settled}/{len(orders)}", flush=True)
    counts, n_bookings, duplicates, reserved, mismatched = order_crash.verify(orders)
    print(f"failover: {len(orders)} orders, {counts['confirmed']} confirmed, {counts['failed']} failed, "
          f"{counts['cancelled']} cancelled, {counts['closed']} closed; bookings {n_bookings} "
          f"({duplicates} duplicates); reserved {reserved}", flush=True)
    if mismatched:
        print(f"orders not in their scenario's status, by kind: {dict(mismatched)}", flush=True)
    refs = ",".join(lit(o.ref) for o in orders)
    owners = dict(sql(f"SELECT node, count(DISTINCT related_id) FROM trace_events WHERE event_type = 'create' "
                      f"AND related_id IN (SELECT order_id FROM orders WHERE client_reference IN ({refs})) "
                      f"GROUP BY node"))
    print(f"creates by node: {owners}; searches during the failover {dict(searches.counts)} "
          f"({searches.partial} with a supplier missing)", flush=True)
    check(len(owners) >= 2, f"orders ran on several engine nodes: {owners}")
    check(searches.counts[200] > 0, f"searches answered during the failover: {dict(searches.counts)}")
    failed = {k: v for k, v in searches.counts.items() if k != 200}
    check(sum(failed.values()) <= 2, f"searches kept answering through the kill: {failed}")
    return orders


def rejoin(procs, logs):
    """Node c comes back while orders and searches run: none of them fails."""
    old = {n["id"]: n for n in (cluster_view() or {}).get("nodes", [])}.get(node_id("c"), {})
    seen = {}

    def restart():
        procs["c"] = start("c", logs["c"])
        seen["view"] = wait_states({"c": "up"}, STARTUP_SECONDS)

    with Searches(AGENTS["cluster-a"]) as searches:
        errors, made = book_orders("cluster-a", "REJOIN", JOIN_ORDERS, restart)
    view = seen.get("view")
    now = {n["id"]: n for n in (view or {}).get("nodes", [])}.get(node_id("c"), {})
    check(now.get("state") == "up", f"the restarted node rejoins: {now.get('state')}")
    check(now.get("pid") == procs["c"].pid and now.get("up_since") != old.get("up_since"),
          f"as a new incarnation (pid {now.get('pid')} vs {procs['c'].pid}, up since {now.get('up_since')})")
    check(view is not None and len(view["ring"]["engines"]) == 3, "and takes shards again")
    for e in errors:
        check(False, f"while the node rejoined: {e}")
    failed = {k: v for k, v in searches.counts.items() if k != 200}
    check(not failed, f"no search failed while the node rejoined: {dict(searches.counts)}")
    check(len(made) == JOIN_ORDERS, f"every order made while the node rejoined ({len(made)})")
    settled = wait_confirmed("REJOIN", JOIN_ORDERS)
    check(settled == JOIN_ORDERS, f"and every one of them is confirmed ({settled}/{JOIN_ORDERS})")


def hung_node(procs):
    victim = procs["b"]
    os.kill(victim.pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        view = wait_states({"b": "down"}, FAILURE_SECONDS * 4)
        took = time.time() - t0
        check(states(view).get(node_id("b")) == "down", f"a hung node is taken as down ({states(view)})")
        check(took <= FAILURE_SECONDS * 3, f"within the failure timeout ({took:.1f} s)")
        t0 = time.time()
        view = cluster_view(timeout=10)
        check(view is not None and time.time() - t0 < 5,
              f"/admin/cluster answers while a node hangs ({time.time() - t0:.1f} s)")
    finally:
        os.kill(victim.pid, signal.SIGCONT)
    view = wait_states({"b": "up"}, FAILURE_SECONDS * 6)
    check(states(view).get(node_id("b")) == "up", f"resumed, it is up again ({states(view)})")


def book_orders(agent, prefix, n, midway):
    """n orders (trial, create with scenario ok, read) from threads started 50 ms apart;
    `midway()` runs in between, after half of them started. Answers (errors, [(i, order id)])."""
    rates = order_crash.gather_rates()[agent]
    errors, made = [], []
    lock = threading.Lock()

    def book(i):
        rate = rates[(i * 5) % len(rates)]
        body = {"rate_key": rate["rate_key"],
                "rooms": [{"adults": 2, "children_ages": [],
                           "guests": [{"first_name": prefix.title(), "last_name": f"Guest{i}"}]}],
                "expected_price": rate["price"]}
        st, _, t = request("POST", "/api/orders/trial", body, key=AGENTS[agent])
        if st != 200 or t.get("status") != "available":
            with lock:
                errors.append(f"trial {i}: {st} {str(t)[:150]}")
            return
        st, _, o = request("POST", "/api/orders", {"trial_id": t["trial_id"],
                                                  "client_reference": f"{prefix}-{RUN}-{i:03d}"},
                           key=AGENTS[agent], headers={"Test": "ok"})
        if st != 201:
            with lock:
                errors.append(f"create {i}: {st} {str(o)[:150]}")
            return
        with lock:
            made.append((i, o["order_id"]))
        st, _, g = request("GET", f"/api/orders/{o['order_id']}", key=AGENTS[agent])
        if st != 200:
            with lock:
                errors.append(f"read {i}: {st} {str(g)[:150]}")

    threads = []
    for i in range(n):
        if i == n // 2:
            midway()
        t = threading.Thread(target=book, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.05)
    for t in threads:
        t.join()
    return errors, sorted(made)


def wait_confirmed(prefix, n):
    """Orders of `prefix` confirmed once every one of them is terminal (within 60 s)."""
    refs = ",".join(lit(f"{prefix}-{RUN}-{i:03d}") for i in range(n))

    def statuses():
        return collections.Counter(r[0] for r in sql(f"SELECT status FROM orders WHERE client_reference IN ({refs})"))

    wait_for(lambda: all(k in TERMINAL for k in statuses()), 60, 0.5)
    return statuses().get("confirmed", 0)


def drain(procs):
    """POST /admin/nodes/b/drain while orders and searches run: none of them fails."""
    marks = {}

    def drain_b():
        st, _, doc = request("POST", f"/admin/nodes/{node_id('b')}/drain", key=ADMIN, port=ADMIN_PORT)
        check(st == 200 and doc.get("state") == "draining", f"drain answers ({st} {doc})")
        marks["at"] = time.time()

    with Searches(AGENTS["cluster-b"]) as searches:
        errors, made = book_orders("cluster-b", "DRAIN", DRAIN_ORDERS, drain_b)
    for e in errors:
        check(False, f"during the drain: {e}")
    failed = {k: v for k, v in searches.counts.items() if k != 200}
    check(not failed, f"no search failed during the drain: {dict(searches.counts)}")
    check(len(made) == DRAIN_ORDERS, f"every order of the drain was made ({len(made)})")
    view = cluster_view()
    by_id = {n["id"]: n for n in (view or {}).get("nodes", [])}
    b = by_id.get(node_id("b"), {})
    check(b.get("state") == "draining", f"b shows as draining ({b.get('state')})")
    check(b.get("shards", {}).get("points") == 0, f"b owns no shard ({b.get('shards')})")
    check(view is not None and node_id("b") not in view["ring"]["engines"], "b left the ring")
    # Orders created after the drain answered ran on a and c only.
    if "at" in marks:
        late = sql("SELECT node, count(*) FROM trace_events WHERE event_type = 'create' AND related_id IN ("
                   "SELECT order_id FROM orders WHERE client_reference LIKE " + lit(f"DRAIN-{RUN}-%") +
                   f") AND started_at > to_timestamp({marks['at']}) GROUP BY node")
        check(late and node_id("b") not in dict(late), f"orders created after the drain avoid b: {late}")

    def idle():
        v = cluster_view()
        n = {x["id"]: x for x in (v or {}).get("nodes", [])}.get(node_id("b"), {})
        acts = n.get("actors", {})
        return acts.get("order") == 0 and acts.get("hold") == 0 and n.get("answered")

    check(wait_for(idle, 20, 0.5), "b's order and hold actors went to zero")
    settled = wait_confirmed("DRAIN", DRAIN_ORDERS)
    check(settled == DRAIN_ORDERS, f"every drain order is confirmed ({settled}/{DRAIN_ORDERS})")


def stranger(logs):
    env = dict(os.environ, BEDBANK_WIRE_VERSION="bedbank/0.0.0 wire/0 types/0000000000000000")
    proc = start("stranger", logs["stranger"], env=env)
    try:
        def refused():
            logs["stranger"].flush()
            with open(logs["stranger"].name, errors="replace") as f:
                return "another wire version" in f.read()

        check(wait_for(refused, 15, 0.2), "a node of another wire version logs that it was refused")
        view = cluster_view()
        check(node_id("stranger") not in states(view), f"and never joins: {states(view)}")
    finally:
        harness.stop(proc)


def main():
    mig = harness.migrate(BIN, CONFIG)
    check(mig.returncode == 0, f"migrate exits 0 ({mig.stderr.strip()})")
    logs = {n: harness.open_log(f"cluster-{n}-", RUN) for n in ("a", "b", "c", "stranger")}
    procs = {}
    try:
        procs["a"] = start("a", logs["a"])
        if not check(harness.wait_up(procs["a"], ADMIN_PORT, STARTUP_SECONDS), "node a answers /admin/health"):
            return
        procs["b"] = start("b", logs["b"])
        procs["c"] = start("c", logs["c"])
        if not harness.section("membership", check_membership):
            return
        harness.section("failover", failover, procs, logs, timed=True)
        harness.section("rejoin", rejoin, procs, logs, timed=True)
        harness.section("hung node", hung_node, procs, timed=True)
        harness.section("drain", drain, procs, timed=True)
        harness.section("another wire version", stranger, logs, timed=True)
        for name in ("c", "b", "a"):
            harness.stop_checked(procs[name], f"node {name}")
    finally:
        for p in procs.values():
            harness.stop(p)
        for name, log in logs.items():
            harness.check_log(log, f"node {name}'s log", PROVOKED.get(name, []))
        if harness.CHECKS.failed:
            for name, log in logs.items():
                print(f"=== node {name}")
                harness.print_log_tail(log, 4000)


if __name__ == "__main__":
    harness.finish(main, "cluster: {passed} passed, {failed} failed", on_error="fail")
