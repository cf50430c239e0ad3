"""Every benchmark on the local stack, one command:

    .venv/bin/python -m bench            # full: 1,000,000 customers for search (kept between runs)
    .venv/bin/python -m bench --quick    # small sizes, under two minutes (CI)
    .venv/bin/python -m bench --only import [--quick]   # one stage alone (suite.ONLY)
    .venv/bin/python -m bench --huge     # 10,000,000 customers on a mongod of their own (bench/huge.py)

The full run writes bench/results/latest.json (every figure with its ceiling from the same
run and the ratio; the machine and versions), bench/REPORT.md rendered from it, and the
plots bench/results/*.png. The quick run writes the same files under bench/results/quick/
(git ignores them), so that it never overwrites the committed report. ``--render`` only
renders the report again from the results file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from . import huge, report, suite
from .customer import log

HERE = Path(__file__).resolve().parent


def write_report(results: dict, results_dir: Path, report_path: Path) -> None:
    plots = report.plot(results, results_dir)
    relative = {key: path.relative_to(report_path.parent).as_posix() for key, path in plots.items()}
    kept = report.matching_section(report_path)  # written by python -m bench.matching
    kept += report.kept_section(report_path, "huge")  # written by python -m bench --huge
    report_path.write_text(report.render(results, relative) + kept, encoding="utf-8")


def main() -> None:
    if "--huge" in sys.argv[1:]:  # its own options: python -m bench --huge --help
        huge.main([arg for arg in sys.argv[1:] if arg != "--huge"])
        return
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, under two minutes")
    parser.add_argument("--huge", action="store_true", help="10,000,000 customers: see python -m bench --huge --help")
    parser.add_argument("--reset-dataset", action="store_true", help="drop the kept search dataset and load it again")
    parser.add_argument("--render", action="store_true", help="only render the report from the results file")
    parser.add_argument("--results", type=Path, help="default: bench/results/latest.json (quick: results/quick/)")
    parser.add_argument("--report", type=Path, help="default: bench/REPORT.md (quick: results/quick/REPORT.md)")
    parser.add_argument(
        "--only", choices=sorted(suite.ONLY), help="one stage alone; writes results/quick/only-STAGE.json"
    )
    args = parser.parse_args()
    if args.only:  # never touches latest.json or REPORT.md
        only = asyncio.run(suite.run_only(args.only, args.quick))
        path = suite.RESULTS / "quick" / f"only-{args.only}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.dump(only), encoding="utf-8")
        log(f"wrote {path}: {json.dumps(only['result'], default=str)}")
        return
    quick_dir = suite.RESULTS / "quick"
    args.results = args.results or (quick_dir if args.quick else suite.RESULTS) / "latest.json"
    args.report = args.report or (quick_dir / "REPORT.md" if args.quick else HERE / "REPORT.md")

    if args.render:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    else:
        results = asyncio.run(suite.run(args.quick, args.reset_dataset))
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(report.dump(results), encoding="utf-8")
    write_report(results, args.results.parent, args.report)
    log(f"wrote {args.results}, {args.report} and the plots; {results['mode']} run took {results['seconds']:,.0f} s")
    for figure in results["figures"]:
        log(
            f"  {figure['figure']}: {figure['value']:,} {figure['unit']} (ceiling {figure['ceiling']:,}, "
            f"ratio {figure['ratio']})"
        )


if __name__ == "__main__":
    main()
