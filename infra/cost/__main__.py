"""python -m infra.cost [STACK...] [--free] [--markdown] [--set key=value ...]"""

from __future__ import annotations

import argparse
import sys

from infra.cost import estimate_stack, report, stacks
from infra.cost.prices import CostModelError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cost", description="Monthly cost of each stack at rest.")
    parser.add_argument("stacks", nargs="*", metavar="STACK", help=f"default: {' '.join(stacks())}")
    parser.add_argument("--free", action="store_true", help="also list the resource types that are free at rest")
    parser.add_argument("--markdown", action="store_true", help="print the tables ARCHITECTURE.md shows")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override stack config (e.g. natGateways=3, aws:region=us-east-1), as the infra tests do",
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.stacks if s not in stacks()]
    if unknown:
        parser.error(f"unknown stack {', '.join(unknown)} (have {', '.join(stacks())})")
    overrides = dict(item.split("=", 1) for item in args.set)
    try:
        costs = [estimate_stack(stack, overrides) for stack in args.stacks or stacks()]
    except CostModelError as error:
        print(f"infra.cost: {error}", file=sys.stderr)
        return 1
    if args.markdown:
        print(report.markdown(costs))
    else:
        print("\n\n".join(report.text(cost, args.free) for cost in costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
