"""DP-SGD accounting side by side: privrobust against dp-accounting, Opacus and prv-accountant.

    PYTHONPATH=. python benchmarks/accounting.py [--repeats 3] [--quick] [--timeout 60] [--out FILE [--force]]

On the five DP-SGD points of REFERENCES.md §1 and the small-ε series (σ = 1, q = 1e-3, T = 1e2 … 1e6), all at
δ = 1e-5 (Poisson sampling, add/remove adjacency): ε lower / upper and the median wall time of one query
(built from scratch: accountant, composition, ε) for every method; then the calibration point (ε = 1,
δ = 1e-5, q = 0.004, T = 1e4, tight σ* = 1.659475). Prints Markdown tables; ``--out`` also writes them.

Each method runs in its own forked process, so a peer that takes longer than ``--timeout`` seconds for one
call, or crashes (even with a segfault), is reported as such and the run goes on. Imports happen before the
clock starts. The methods are called in rounds (one call each, rotating order), so that load from other work
on the machine falls on all of them alike; the ratios are taken from the same rounds.
The peers (the ``bench`` extra) are imported only here, inside their factories.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
import warnings

DELTA = 1e-5
#: REFERENCES §1: (σ, q, T) -> best known certified upper bound (dp-accounting PLD at grid 1e-5)
GRID = {(1.1, 256 / 60000, 14062): 2.3815978093522916, (1.0, 0.01, 10000): 6.187712729101813,
        (0.8, 0.001, 100000): 2.5749652294084395, (2.0, 0.1, 1000): 8.27929121228081,
        (0.5, 0.01, 1000): 13.360824005399717}
SERIES = [(1.0, 1e-3, 10 ** k) for k in range(2, 7)]
CALIBRATION = dict(epsilon=1.0, delta=1e-5, sample_rate=0.004, steps=10_000)
SIGMA_STAR = 1.659475
TIGHT = 1e-3          # "equal tightness": upper <= best known upper + TIGHT
OURS = "privrobust"   # the bracket; the method the targets are about


# --- methods: each factory imports (untimed) and returns query(σ, q, T, δ) -> (lower | None, upper | None) ---

def privrobust_bracket():
    from bounds.accountant import dpsgd_epsilon

    def query(sigma, q, steps, delta):
        b = dpsgd_epsilon(sigma, q, steps, delta)
        return b.lower, b.upper
    return query


def privrobust_rdp():
    from bounds.rdp import rdp_epsilon
    from mechanisms import dpsgd
    return lambda sigma, q, steps, delta: (None, rdp_epsilon(dpsgd(sigma, q, steps), delta).epsilon)


def _dp_event(sigma, q, steps):
    import dp_accounting
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)


def dpacc_rdp():
    from dp_accounting.rdp import RdpAccountant   # improved (Balle et al. 2020) conversion by default

    def query(sigma, q, steps, delta):
        return None, RdpAccountant().compose(_dp_event(sigma, q, steps)).get_epsilon(delta)
    return query


def dpacc_pld():
    from dp_accounting.pld import PLDAccountant   # pessimistic estimate: dp-accounting's upper bound

    def query(sigma, q, steps, delta):
        acc = PLDAccountant(value_discretization_interval=1e-4)
        return None, acc.compose(_dp_event(sigma, q, steps)).get_epsilon(delta)
    return query


def dpacc_pld_optimistic():
    # PLDAccountant has no switch for it; build the same PLD as it does, with pessimistic_estimate=False.
    # Connect-the-dots has no optimistic variant, so dp-accounting uses privacy buckets (a looser lower bound).
    from dp_accounting.pld import privacy_loss_distribution as pld

    def query(sigma, q, steps, delta):
        one = pld.from_gaussian_mechanism(sigma, pessimistic_estimate=False, sampling_prob=q,
                                          value_discretization_interval=1e-4, use_connect_dots=False)
        return one.self_compose(steps).get_epsilon_for_delta(delta), None
    return query


def opacus_rdp():
    from opacus.accountants import RDPAccountant

    def query(sigma, q, steps, delta):
        acc = RDPAccountant()
        acc.history = [(sigma, q, steps)]
        return None, acc.get_epsilon(delta)
    return query


def opacus_prv():
    from opacus.accountants import PRVAccountant

    def query(sigma, q, steps, delta, eps_error=0.01):
        # PRVAccountant.get_epsilon returns only the upper end of the bracket its discrete PRV computes;
        # this is its body with the whole (lower, estimate, upper) kept (same cost, private helper).
        acc = PRVAccountant()
        acc.history = [(sigma, q, steps)]
        lower, _, upper = acc._get_dprv(eps_error=eps_error, delta_error=delta / 1000).compute_epsilon(
            delta, delta / 1000, eps_error)
        return lower, upper
    return query


def prv_accountant():
    from prv_accountant import PoissonSubsampledGaussianMechanism, PRVAccountant

    def query(sigma, q, steps, delta):
        acc = PRVAccountant(prvs=[PoissonSubsampledGaussianMechanism(noise_multiplier=sigma,
                                                                      sampling_probability=q)],
                            eps_error=0.01, delta_error=delta / 1000, max_self_compositions=[steps])
        lower, _, upper = acc.compute_epsilon(delta, [steps])
        return lower, upper
    return query


METHODS = {OURS: privrobust_bracket, "privrobust RDP": privrobust_rdp,
           "dp-accounting RDP": dpacc_rdp, "dp-accounting PLD": dpacc_pld,
           "dp-accounting PLD optimistic": dpacc_pld_optimistic,
           "Opacus RDP": opacus_rdp, "Opacus PRV": opacus_prv, "prv-accountant": prv_accountant}
PEERS = [name for name in METHODS if not name.startswith("privrobust")]


def privrobust_calibrate():
    from bounds.calibrate import calibrate_noise
    return lambda epsilon, delta, sample_rate, steps: calibrate_noise(epsilon, delta, sample_rate, steps)


def opacus_calibrate(kind):
    def factory():
        from opacus.accountants.utils import get_noise_multiplier
        return lambda epsilon, delta, sample_rate, steps: get_noise_multiplier(
            target_epsilon=epsilon, target_delta=delta, sample_rate=sample_rate, steps=steps, accountant=kind)
    return factory


CALIBRATORS = {"privrobust calibrate_noise": privrobust_calibrate,
               "Opacus get_noise_multiplier (prv)": opacus_calibrate("prv"),
               "Opacus get_noise_multiplier (rdp)": opacus_calibrate("rdp")}


# --- harness ---

def _server(conn, factory, args):
    """One method in its own forked process: set up (untimed), then time one call per request."""
    warnings.simplefilter("ignore")
    try:
        query = factory()
    except BaseException as exc:  # noqa: BLE001 - a peer's failure is a result here
        conn.send(("error", f"{type(exc).__name__}: {exc}"[:80], None))
        return
    conn.send(("ready", None, None))
    while conn.recv() is not None:
        try:
            start = time.perf_counter()
            value = query(*args)
            conn.send(("ok", value, time.perf_counter() - start))
        except BaseException as exc:  # noqa: BLE001
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:80], None))
            return


def measure(factories: dict, args, repeats, timeout) -> dict:
    """{name: (value, median seconds, None) or (None, None, why)}: every method in its own forked process,
    called in rounds (one call each per round, the order rotating) so that load from other work on the
    machine falls on all methods alike; a call slower than ``timeout`` s, an error or a crash ends that
    method's run and is reported."""
    context = mp.get_context("fork")
    servers, why, times, values = {}, {}, {name: [] for name in factories}, {}

    def ask(name, message):
        conn, proc = servers[name]
        if message is not None:
            conn.send(message)
        if not conn.poll(timeout):
            return None, f"> {timeout:g} s"
        try:
            status, value, seconds = conn.recv()
        except EOFError:
            proc.join(5)
            return None, f"crashed (exit {proc.exitcode})"
        return (status, value, seconds), None if status != "error" else f"error: {value}"

    for name, factory in factories.items():
        parent, child = context.Pipe()
        proc = context.Process(target=_server, args=(child, factory, args))
        proc.start()
        child.close()
        servers[name] = (parent, proc)
        _, why[name] = ask(name, None)
    names = list(factories)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if why[name] is None:
                reply, why[name] = ask(name, "go")
                if why[name] is None:
                    values[name] = reply[1]
                    times[name].append(reply[2])
    for name, (conn, proc) in servers.items():
        if why[name] is None:
            conn.send(None)
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return {name: (values[name], statistics.median(times[name]), None) if why[name] is None else
            (None, None, why[name]) for name in factories}


def fmt(x, digits=6):
    return "—" if x is None else f"{x:.{digits}f}"


def accounting_tables(points, repeats, timeout, log):
    rows, summary = [], []
    for sigma, q, steps in points:
        log(f"  σ={sigma} q={q:.6g} T={steps} ...")
        results = measure(METHODS, (sigma, q, steps, DELTA), repeats, timeout)
        uppers = [v[1] for v, _, _ in results.values() if v is not None and v[1] is not None]
        best = min(uppers + ([GRID[(sigma, q, steps)]] if (sigma, q, steps) in GRID else []))
        ours_value, ours_time, _ = results[OURS]
        point = f"σ={sigma} q={q:.6g} T={steps}"
        for name, (value, seconds, why) in results.items():
            lower, upper = value if value is not None else (None, None)
            ratio = f"{ours_time / seconds:.3g}" if seconds and ours_time and name != OURS else "—"
            rows.append(f"| {point} | {name} | {fmt(lower)} | {fmt(upper)} | "
                        f"{'—' if upper is None else f'{upper - best:+.2e}'} | "
                        f"{why or f'{1e3 * seconds:.1f}'} | {ratio} |")
        tight = [(s, n) for n in PEERS for v, s, _ in [results[n]]
                 if v is not None and v[1] is not None and v[1] <= best + TIGHT]
        peer_seconds, peer = min(tight) if tight else (None, "none")
        if ours_value is None:
            summary.append(f"| {point} | {best:.6f} | privrobust failed: {results[OURS][2]} |||||||")
            continue
        lower, upper = ours_value
        speedup = f"{peer_seconds / ours_time:.2f}×" if peer_seconds else "—"
        summary.append(f"| {point} | {best:.6f} | {upper - best:+.2e} | {upper - lower:.2e} | "
                       f"{1e3 * ours_time:.1f} | {peer} | {fmt(peer_seconds and 1e3 * peer_seconds, 1)} | "
                       f"{speedup} |")
    head = ["| point | method | ε lower | ε upper | upper − best | median ms | t(privrobust)/t(method) |",
            "|---|---|---:|---:|---:|---:|---:|"]
    shead = ["| point | best known upper | privrobust upper − best | width (upper − lower) | privrobust ms | "
             "fastest peer of equal tightness | its ms | speed-up (t_peer / t_privrobust) |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    return head + rows, shead + summary


def calibration_table(repeats, timeout, log):
    from bounds.accountant import dpsgd_epsilon
    lines = [f"| calibrator (ε={CALIBRATION['epsilon']}, δ={CALIBRATION['delta']}, q={CALIBRATION['sample_rate']}, "
             f"T={CALIBRATION['steps']}) | σ | (σ − σ*)/σ* | privrobust ε bracket at σ | median s |",
             "|---|---:|---:|---|---:|"]
    log("  calibration ...")
    for name, (sigma, seconds, why) in measure(CALIBRATORS, tuple(CALIBRATION.values()), repeats, timeout).items():
        if why:
            lines.append(f"| {name} | — | — | — | {why} |")
        else:
            b = dpsgd_epsilon(sigma, CALIBRATION["sample_rate"], CALIBRATION["steps"], CALIBRATION["delta"])
            lines.append(f"| {name} | {sigma:.8f} | {(sigma - SIGMA_STAR) / SIGMA_STAR:+.4%} | "
                         f"[{b.lower:.7f}, {b.upper:.7f}] | {seconds:.3f} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="calls per method and point; the median is shown")
    parser.add_argument("--quick", action="store_true", help="one repeat, small-ε series only up to T = 1e4")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one call may take (default 60)")
    parser.add_argument("--out", help="also write the Markdown tables to this file")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)
    if args.out and os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    repeats = 1 if args.quick else args.repeats
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    points = list(GRID) + (SERIES[:3] if args.quick else SERIES)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    detail, summary = accounting_tables(points, repeats, args.timeout, log)
    calibration = calibration_table(repeats, args.timeout, log)
    lines = [f"δ = {DELTA:g}; median of {repeats} call(s); {os.cpu_count()} CPU(s); "
             f"timeout {args.timeout:g} s per call; total run {time.perf_counter() - started:.0f} s.", "",
             *detail, "", *summary, "", *calibration]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
