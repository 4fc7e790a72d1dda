"""``python -m proofs``: check every theorem and print a table; exit status 1 if any check fails."""
import sys

from proofs import run_all


def main() -> int:
    outcomes = run_all()
    width = max(len(o.theorem.name) for o in outcomes)
    print(f"{'theorem':<{width}}  status  time    check")
    for o in outcomes:
        print(f"{o.theorem.name:<{width}}  {'ok' if o.ok else 'FAIL':<6}  {o.seconds:5.2f}s  {o.detail}")
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} theorems checked")
    return 1 if failed else 0


sys.exit(main())
