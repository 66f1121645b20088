#!/usr/bin/env python3
"""`make run-cluster`'s own script (scripts/run-cluster.sh) through the death of its nodes.

The script runs as an operator runs it, in a session of its own, with its knobs pointed at the
test servers of ctest's `services` fixture (which it must find running and leave running) and at
this test's ports; the three nodes (node-1 gateway, engine, journal; node-2 engine, journal;
node-3 engine) are its children, not the test's. Then:

1. The three nodes come up and /admin/cluster shows them.
2. 200 concurrent orders of every kind through the gateway (tests/e2e/order_crash.py), and
   `kill -9` of node-2 once half of the creates are answered: every order reaches a terminal
   state, read through the gateway, with nothing lost or doubled (order_crash.verify).
3. The script says which node died and how, restarts it after its back-off, and says when it is
   back; /admin/cluster shows node-2 up again as a new process.
4. `kill -9` of node-1, the gateway: the script restarts it, the agent API answers again, the
   other nodes find it, and an order made after it is confirmed.
5. Ctrl-C (SIGINT to the script's process group, as a terminal sends it) stops every node and
   the script with exit status 130, and leaves the fixture's servers running.
6. No node logged a warning or error beyond those the kills provoke.
Usage: run_cluster_test.py <bedbank binary> <config>
"""
import functools
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402  (tests/e2e/harness.py)
import order_crash  # noqa: E402  (tests/e2e/order_crash.py)
from harness import check, wait_for  # noqa: E402
from order_crash import TERMINAL  # noqa: E402

BIN, CONFIG, PORT, ADMIN_PORT = harness.invocation()
SCRIPT = os.path.join(os.environ["BEDBANK_SOURCE_DIR"], "scripts", "run-cluster.sh")
CLUSTER_PORT = int(os.environ["BEDBANK_CLUSTER_PORT"])
ADMIN = "demo-admin-token"
AGENTS = {"cluster-a": "cluster-key-a-00000000001", "cluster-b": "cluster-key-b-00000000001"}
NODES = ("node-1", "node-2", "node-3")
STARTUP_SECONDS = 60
SETTLE_SECONDS = 180
RESTART_SECONDS = 60  # a killed node: the back-off, its start and its rejoin
STOP_SECONDS = 60
RUN = harness.run_id()

request = functools.partial(harness.request, port=PORT, timeout=60)
PG = harness.Postgres(os.environ["BEDBANK_TEST_PG_PORT"])
order_crash.configure(request, AGENTS, PG, RUN, "SCRIPT", stop_follow_ups_at_kill=False)

# What the kills of node-2 and node-1 provoke on purpose in the nodes' logs: the others take the
# killed node as down and cannot reach its cluster port until it is back.
PROVOKED = [
    (r"warn cluster: member down (address=\S+ )?member=node-[12] reason=",
     "kill -9 of node-2, then of node-1: the others see it go"),
    (rf"warn cluster: cannot reach peer \(will retry\) .*peer=127\.0\.0\.1:({CLUSTER_PORT}|{CLUSTER_PORT + 1})$",
     "until the killed node is back, its cluster port refuses"),
]


def script_env():
    env = dict(os.environ)
    env.update({
        "BEDBANK_RUN_DIR": os.environ["BEDBANK_TEST_RUN_DIR"],
        "BEDBANK_SERVICE_PORTS": " ".join(os.environ[k] for k in (
            "BEDBANK_TEST_PG_PORT", "BEDBANK_TEST_REDIS_PORT", "BEDBANK_TEST_CH_PORT")),
        "BEDBANK_CLUSTER_PORTS": " ".join(str(CLUSTER_PORT + i) for i in range(3)),
        "BEDBANK_ADMIN_URL": f"http://127.0.0.1:{ADMIN_PORT}",
        "BEDBANK_RESTART_DELAY": "1",
    })
    return env


def cluster_view(timeout=10):
    try:
        st, _, doc = request("GET", "/admin/cluster", key=ADMIN, port=ADMIN_PORT, timeout=timeout)
    except OSError:
        return None
    return doc if st == 200 and isinstance(doc, dict) else None


def nodes_of(view):
    return {n["id"]: n for n in (view or {}).get("nodes", [])}


def all_up(exclude_pids=()):
    """The view once every node is up (none of them with a pid in exclude_pids), else None."""
    view = cluster_view()
    n = nodes_of(view)
    ok = all(n.get(x, {}).get("state") == "up" and n[x].get("pid") not in exclude_pids for x in NODES)
    return view if ok else None


def script_says(log, pattern, seconds):
    """The first match of `pattern` in the script's output within `seconds`, else None."""
    def find():
        log.flush()
        with open(log.name, errors="replace") as f:
            return re.search(pattern, f.read(), re.M)
    return wait_for(find, seconds, 0.2)


def come_up():
    view = wait_for(all_up, STARTUP_SECONDS)
    check(view is not None, f"the script's three nodes are up ({ {k: v.get('state') for k, v in nodes_of(cluster_view()).items()} })")
    if view:
        check(sorted(view["ring"]["engines"]) == list(NODES), f"the ring holds the three engines: {view['ring']}")
    return view


def gateway_states(orders):
    """Each order's status read through the gateway (its agent's key)."""
    out = {}
    for o in orders:
        if o.order_id is None:
            continue
        st, _, doc = request("GET", f"/api/orders/{o.order_id}", key=o.key)
        out[o.order_id] = doc.get("status") if st == 200 and isinstance(doc, dict) else f"HTTP {st}"
    return out


def kill_engine_during_bookings(view, log):
    victim = nodes_of(view)["node-2"]["pid"]
    rates = order_crash.gather_rates()
    orders = order_crash.plan(rates)
    killed, in_flight, took = order_crash.phase_one(
        orders, lambda: os.kill(victim, signal.SIGKILL), order_crash.ORDERS // 2)
    print(f"phase one: {took:.1f} s, kill of node-2 (pid {victim}) with {in_flight} creates in flight",
          flush=True)
    check(killed, "node-2 was killed during the bookings")
    said = script_says(log, rf"node-2 \(pid {victim}\) died: killed by SIGKILL \(exit status 137\)", 10)
    check(said is not None, "the script says node-2 died, killed by SIGKILL (exit status 137)")
    for o in orders:
        o.errors = [e for e in o.errors if not e.startswith("trial attempt")]
    order_crash.phase_two(orders)
    order_crash.wait_terminal(orders, SETTLE_SECONDS)
    states = gateway_states(orders)
    not_terminal = {k: v for k, v in states.items() if v not in TERMINAL}
    check(len(states) == len(orders), f"every order has an id ({len(states)}/{len(orders)})")
    check(not not_terminal, f"every order is terminal through the gateway (not: {dict(list(not_terminal.items())[:10])})")
    counts, n_bookings, duplicates, reserved, mismatched = order_crash.verify(orders)
    print(f"{len(orders)} orders: {dict(counts)}; bookings {n_bookings} ({duplicates} duplicates); "
          f"reserved {reserved}", flush=True)
    return victim


def rejoin(log, victim):
    said = script_says(log, r"node-2 restarted \(pid (\d+), restart 1\)", RESTART_SECONDS)
    if not check(said is not None, "the script says it restarted node-2"):
        return
    new_pid = int(said.group(1))
    back = script_says(log, rf"node-2 is back in the cluster \(pid {new_pid},", RESTART_SECONDS)
    check(back is not None, "the script says when node-2 is back in the cluster")
    view = wait_for(lambda: all_up(exclude_pids=(victim,)), RESTART_SECONDS)
    n2 = nodes_of(view).get("node-2", {})
    check(n2.get("pid") == new_pid and new_pid != victim,
          f"/admin/cluster shows node-2 up as the new process ({n2.get('pid')}, was {victim})")


def book_one(ref):
    """One order with scenario ok through the gateway; its status once terminal."""
    rates = order_crash.gather_rates()["cluster-a"]
    rate = rates[0]
    body = {"rate_key": rate["rate_key"],
            "rooms": [{"adults": 2, "children_ages": [], "guests": [{"first_name": "After", "last_name": "Kill"}]}],
            "expected_price": rate["price"]}
    st, _, t = request("POST", "/api/orders/trial", body, key=AGENTS["cluster-a"])
    if not check(st == 200 and t.get("status") == "available", f"a trial after the kill ({st} {str(t)[:200]})"):
        return None
    st, _, o = request("POST", "/api/orders", {"trial_id": t["trial_id"], "client_reference": ref},
                       key=AGENTS["cluster-a"], headers={"Test": "ok"})
    if not check(st == 201, f"a create after the kill ({st} {str(o)[:200]})"):
        return None

    def terminal():
        s, _, d = request("GET", f"/api/orders/{o['order_id']}", key=AGENTS["cluster-a"])
        return d.get("status") if s == 200 and d.get("status") in TERMINAL else None
    return wait_for(terminal, 60, 0.5)


def kill_gateway(log):
    view = cluster_view()
    victim = nodes_of(view).get("node-1", {}).get("pid")
    if not check(isinstance(victim, int), f"node-1's pid in /admin/cluster ({victim})"):
        return
    os.kill(victim, signal.SIGKILL)
    said = script_says(log, rf"node-1 \(pid {victim}\) died: killed by SIGKILL", 10)
    check(said is not None, "the script says node-1 died")
    restarted = script_says(log, r"node-1 restarted \(pid (\d+), restart 1\)", RESTART_SECONDS)
    check(restarted is not None, "the script restarts node-1")
    view = wait_for(lambda: all_up(exclude_pids=(victim,)), RESTART_SECONDS)
    check(view is not None, f"node-1 is back and sees the other two up ({ {k: v.get('state') for k, v in nodes_of(cluster_view()).items()} })")
    if view:
        check(sorted(view["ring"]["engines"]) == list(NODES), f"the ring holds the three engines again: {view['ring']}")
    status = book_one(f"SCRIPT-{RUN}-after-gateway")
    check(status == "confirmed", f"an order made after the gateway's restart is confirmed ({status})")


def pids_alive(pids):
    return [p for p in pids if os.path.exists(f"/proc/{p}") and
            open(f"/proc/{p}/stat").read().split(")")[-1].split()[0] != "Z"]


def ctrl_c(proc, log):
    pids = [n.get("pid") for n in nodes_of(cluster_view()).values() if isinstance(n.get("pid"), int)]
    os.killpg(proc.pid, signal.SIGINT)  # the script's own process group: it and its children
    try:
        proc.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        check(False, f"Ctrl-C stops the script within {STOP_SECONDS} s")
        return
    check(proc.returncode == 130, f"the script exits 130 after Ctrl-C ({proc.returncode})")
    # The nodes, started in the background, ignore the terminal's SIGINT: the script stops them.
    check(script_says(log, r"run-cluster: stopping the nodes$", 0) is not None, "the script says it stops the nodes")
    log.flush()
    with open(log.name, errors="replace") as f:
        signals = re.findall(r"^\[(node-\d)\] \S+ info main: signal received, stopping signal=(\d+)$", f.read(), re.M)
    last = dict(signals)  # each node's last stop, the one of the Ctrl-C
    check(sorted(last) == list(NODES) and set(last.values()) == {"15"},
          f"the three nodes stop on the script's SIGTERM, not the terminal's SIGINT ({last})")
    check(len(pids) == 3 and not pids_alive(pids), f"every node stopped ({pids}, alive {pids_alive(pids)})")
    r = subprocess.run([os.path.join(os.environ["BEDBANK_SOURCE_DIR"], "scripts", "services.sh"), "status",
                        os.environ["BEDBANK_TEST_RUN_DIR"]], capture_output=True, text=True)
    check(r.returncode == 0, f"the fixture's servers it found running are still running ({r.stdout.strip()})")


def main():
    log = harness.open_log("run-cluster-", RUN)
    proc = subprocess.Popen([SCRIPT, BIN, CONFIG, "--set", "inventory.hold_ttl=40s"], stdout=log,
                            stderr=subprocess.STDOUT, env=script_env(), start_new_session=True)
    try:
        view = harness.section("three nodes come up", come_up)
        if not view:
            return
        victim = harness.section("kill -9 of node-2 during 200 bookings", kill_engine_during_bookings,
                                 view, log, timed=True)
        if victim:
            harness.section("node-2 restarted and back", rejoin, log, victim, timed=True)
        harness.section("kill -9 of node-1, the gateway", kill_gateway, log, timed=True)
        harness.section("Ctrl-C", ctrl_c, proc, log)
    finally:
        if proc.poll() is None:  # our own child's session: the script and the nodes it started
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        harness.check_log(log, "the nodes' logs", PROVOKED)
        if harness.CHECKS.failed:
            harness.print_log_tail(log, 12000)


if __name__ == "__main__":
    harness.finish(main, "run_cluster: {passed} passed, {failed} failed", on_error="fail")
