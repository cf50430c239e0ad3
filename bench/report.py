"""bench/REPORT.md and its plots, rendered from the results of ``bench.suite.run``
(``bench/results/latest.json``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PLOTS = {"throughput": "orders-throughput.png", "latency": "search-latency.png"}


def dump(results: dict[str, Any]) -> str:
    """JSON, indented, with lists of numbers (the latency samples) kept on one line each."""
    text = json.dumps(results, indent=2, ensure_ascii=False)
    return (
        re.sub(
            r"\[\s*((?:-?[\d.]+,\s*)*-?[\d.]+)\s*\]",
            lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]",
            text,
        )
        + "\n"
    )


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(_number(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _mb(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values) or "–"


def matching_section(report: Path) -> str:
    """The identity resolution section ``python -m bench.matching`` keeps in the report, as it
    is: that benchmark runs on its own (minutes at 100,000 orders)."""
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    start, end = "<!-- matching:start -->", "<!-- matching:end -->"
    if start not in text or end not in text:
        return ""
    return "\n" + start + text.split(start, 1)[1].split(end, 1)[0] + end + "\n"


def kept_section(report: Path, name: str) -> str:
    """A section another command writes into the report between ``<!-- NAME:start -->`` and
    ``<!-- NAME:end -->`` (``python -m bench --huge``: "huge"), as it is."""
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        return ""
    return "\n" + start + text.split(start, 1)[1].split(end, 1)[0] + end + "\n"


def put_section(report: Path, name: str, body: str) -> None:
    """Write (or replace) the section ``name`` of the report, leaving the rest as it is."""
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        text = text.split(start, 1)[0] + block + text.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    report.write_text(text, encoding="utf-8")


def render(results: dict[str, Any], plot_paths: dict[str, str] | None = None) -> str:
    """The report as Markdown; ``plot_paths`` maps PLOTS' keys to paths relative to the report."""
    plot_paths = plot_paths or {}
    machine, versions = results["machine"], results["versions"]
    orders, mail, load, found = results["orders"], results["emails"], results["import"], results["search"]
    out: list[str] = []
    add = out.append

    add("# Performance report\n")
    add(
        f"Measured by `{results['command']}` ({results['mode']} mode) on {results['started']}, in "
        f"{results['seconds']:,.0f} s. Every figure stands beside a raw ceiling measured in the same run on the "
        "same machine, and the ratio figure ÷ ceiling. The machine is shared with other people's tests, so "
        "absolute figures move from run to run; the ratios move much less. For throughput a ratio below 1 is "
        "the share of the ceiling reached; for latency and memory a ratio above 1 is how many times the "
        "ceiling it takes.\n"
    )

    add("## Machine and versions\n")
    load_avg = (
        f"{' / '.join(map(str, machine.get('load_average_at_start', [])))} → "
        f"{' / '.join(map(str, machine.get('load_average_at_end', [])))}"
    )
    add(
        _table(
            ["cores", "memory", "CPU", "OS", "kernel", "load average (1/5/15 min), start → end"],
            [
                [
                    machine["cores"],
                    f"{machine['memory_mb'] / 1024:.1f} GB",
                    machine["cpu_model"],
                    machine["os"],
                    machine.get("kernel", "–"),
                    load_avg,
                ]
            ],
        )
    )
    add("")
    add(_table(list(versions), [list(versions.values())]))
    add("")

    add("## Summary\n")
    add(
        _table(
            ["figure", "value", "unit", "ceiling", "the ceiling is", "ratio"],
            [
                [f["figure"], f["value"], f["unit"], f["ceiling"], f["ceiling_is"], f["ratio"]]
                for f in results["figures"]
            ],
        )
    )
    add("")

    add("## Order ingest end to end\n")
    add(
        f"An `OrderPlaced` published to `<ns>.upstream`, matched to its customer (90% by email to one of "
        f"{results['sizes']['order_customers']:,} known customers, 10% new customers created through the customer "
        "service), its link stored and its `OrderLinked` event counted on `<ns>.events`, with N order-sync worker "
        "processes (`faststream run --workers N`). The ceiling is the same hop in plain aio-pika and PyMongo "
        "(consume, one upsert with majority write concern, publish with confirms, ack) by one consumer at the "
        "prefetch of order-sync's intake, from a durable quorum queue like the intake's, timed the same way: from "
        "the first publish (the benchmark publishes the burst in chunks of 200 while it is consumed, the same way "
        "for both) to the last event counted on a tap queue; the median of three tries"
        + (
            f" ({', '.join(f'{v:,}' for v in orders['ceiling']['samples_per_second'])} msg/s)"
            if "samples_per_second" in orders["ceiling"]
            else ""
        )
        + (
            f". From an exclusive classic queue instead, which costs RabbitMQ about half the CPU, the same hop "
            f"ran at {orders['ceiling']['classic_per_second']:,} msg/s (median of "
            f"{', '.join(f'{v:,}' for v in orders['ceiling']['classic_samples_per_second'])}): the runs' ratio to "
            "that is "
            + ", ".join(
                f"{r['orders_per_second'] / orders['ceiling']['classic_per_second']:.3f}" for r in orders["runs"]
            )
            if "classic_per_second" in orders["ceiling"]
            else ""
        )
        + (
            f". The {orders['runs'][0]['workers']}-worker row is the median of {len(orders['runs'][0]['tries'])} "
            "pairs, each a try of the ceiling right before a burst of the services (a pair sees the same "
            "machine): "
            + ", ".join(
                f"{t['orders_per_second']:,} orders/s beside {t['paired_ceiling_per_second']:,} msg/s "
                f"({t['ratio_to_ceiling']:.3f})"
                for t in orders["runs"][0]["tries"]
            )
            + "; its ceiling column is its pair's"
            if orders["runs"] and "tries" in orders["runs"][0]
            else ""
        )
        + ".\n"
    )
    ceiling = orders["ceiling"]["per_second"]
    add(
        _table(
            [
                "workers",
                "orders",
                "seconds",
                "orders/s",
                "ceiling msg/s",
                "ratio",
                "links stored",
                "events published twice",
            ],
            [
                [
                    r["workers"],
                    r["orders"],
                    r["seconds"],
                    r["orders_per_second"],
                    r.get("paired_ceiling_per_second", ceiling),
                    r["ratio_to_ceiling"],
                    r["links_stored"],
                    f"{r['outbox']['published_twice']} of {r['outbox']['events']:,}" if "outbox" in r else "–",
                ]
                for r in orders["runs"]
            ],
        )
    )
    add("")
    runs = [*orders["runs"], *([orders["hop_alone"]] if "hop_alone" in orders else [])]
    if all("cpu_ms_per_order" in r for r in runs):
        add(
            "Where the CPU goes: milliseconds of CPU time per order, per process, during the burst (the "
            "machine's cores are shared by all of them, so their sum sets the pace once it reaches the cores). "
            "The last row is the same burst with the customer service's order-history queue unbound: the "
            "order-sync hop alone, as the ceiling has no downstream consumer (a diagnostic; that run's history "
            "is not kept).\n"
        )
        names = list(runs[0]["cpu_ms_per_order"])
        add(
            _table(
                ["workers", "order history", "orders/s", *names, "total"],
                [
                    [
                        r["workers"],
                        "applied" if r.get("with_history", True) else "paused",
                        r["orders_per_second"],
                        *(r["cpu_ms_per_order"][n] for n in names),
                        round(sum(r["cpu_ms_per_order"].values()), 2),
                    ]
                    for r in runs
                ],
            )
        )
        add("")
    if all("mean_batch_size" in r for r in runs):
        add(
            "What the batches held (mean messages per batch, from the services' `oms_batch_size` metric) and the "
            "MongoDB commands per order (all processes, from `serverStatus`):\n"
        )
        batches = sorted({b for r in runs for b in r["mean_batch_size"]})
        commands = sorted(
            {c for r in runs for c in r["mongodb_commands_per_order"]},
            key=lambda c: -runs[0]["mongodb_commands_per_order"].get(c, 0),
        )
        add(
            _table(
                ["workers", "order history", *batches, *commands],
                [
                    [
                        r["workers"],
                        "applied" if r.get("with_history", True) else "paused",
                        *(r["mean_batch_size"].get(b, "–") for b in batches),
                        *(r["mongodb_commands_per_order"].get(c, 0) for c in commands),
                    ]
                    for r in runs
                ],
            )
        )
        add("")
    if "throughput" in plot_paths:
        add(f"![orders per second against workers, with the raw ceiling]({plot_paths['throughput']})\n")

    add(f"## Search latency at {found['customers']:,} customers\n")
    dataset = found["dataset"]
    how = (
        "reused from an earlier run"
        if dataset.get("reused")
        else f"loaded in this run, {dataset.get('per_second', 0):,} documents/s"
    )
    add(
        f"`SearchCustomers` over RabbitMQ request/reply ({found['service_workers']} customer-service workers), "
        f"{results['sizes']['queries_per_kind']} queries per kind drawn from the data, beside the same query run "
        f"directly on the store in the benchmark's process (the ceiling: MongoDB and the query plan, without "
        f"the broker, the service and serialization). Goal: p95 below {found['goal_p95_ms']:.0f} ms over "
        "request/reply. Ratio: request/reply p95 ÷ store p95.\n"
    )
    add(
        f"The {found['customers']:,} customers in `{dataset.get('database', '?')}` ({how}) were not imported "
        "through `ImportCustomers`, which would take about half an hour: they were built by the customer "
        "service's own domain code (`Customer.create`: normalized emails and phones, addresses, search keys) with "
        "codes reserved by `store.allocate_codes`, and written with unordered `insert_many` batches into the "
        "service's collection with its own indexes (`bench/dataset.py`). The import rate is measured separately "
        "below, through `ImportCustomers`.\n"
    )
    rows = []
    for kind, v in found["kinds"].items():
        rr, st = v["request_reply"], v.get("store")
        rows.append(
            [
                kind,
                rr["p50_ms"],
                rr["p95_ms"],
                rr["p99_ms"],
                st and st["p50_ms"],
                st and st["p95_ms"],
                st and st["p99_ms"],
                v.get("ratio_p95"),
                v.get("median_total"),
                "–" if "goal_met" not in v else "yes" if v["goal_met"] else "**no**",
            ]
        )
    add(
        _table(
            [
                "kind",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "store p50",
                "store p95",
                "store p99",
                "p95 ratio",
                "median total",
                "p95 goal met",
            ],
            rows,
        )
    )
    add("")
    if "latency" in plot_paths:
        add(f"![search latency per kind, request/reply and store]({plot_paths['latency']})\n")

    add("## Emails\n")
    service, raw = mail["service"], mail["raw_aiosmtplib"]
    add(
        "Emails rendered and delivered by one notification worker (system-email events in, three kinds in "
        "three languages; consumed, rendered, recorded, sent over SMTP, recorded sent), beside plain aiosmtplib "
        "sending one prebuilt message of the same size to the same local aiosmtpd server.\n"
    )
    add(
        _table(
            [
                "emails",
                "seconds",
                "emails/s",
                "raw msg/s",
                "raw connections",
                "ratio",
                "worker CPU ms per email",
                "MongoDB commands per email",
            ],
            [
                [
                    service["emails"],
                    service["seconds"],
                    service["emails_per_second"],
                    raw["messages_per_second"],
                    raw["connections"],
                    mail["ratio"],
                    service.get("worker_cpu_ms_per_email"),
                    service.get("mongodb_commands_per_email_total"),
                ]
            ],
        )
    )
    add("")
    if commands := service.get("mongodb_commands_per_email"):
        add(
            "MongoDB commands per email during the burst, by kind (on the service's database, from `top`; "
            "the commits from `serverStatus`, server-wide): "
            + ", ".join(f"{name} {_number(value)}" for name, value in commands.items())
            + ".\n"
        )

    if (cpu := service.get("cpu_ms_per_email")) and (bound := mail.get("bound")):
        add(
            "CPU per email during the burst, by process (ms; every process shares the machine's "
            f"{bound['cores']} cores): "
            + ", ".join(f"{name} {_number(value)}" for name, value in cpu.items())
            + "; the raw run's per message: "
            + ", ".join(f"{name} {_number(value)}" for name, value in raw.get("cpu_ms_per_message", {}).items())
            + f". Were the worker free, the other processes' {_number(bound['companions_cpu_ms_per_email'])} ms "
            f"per email would still cap the rate at {_number(bound['emails_per_second_with_a_free_worker'])} "
            f"emails/s here: a ratio of {_number(bound['ratio_with_a_free_worker'])} at most.\n"
        )

    if floor := mail.get("floor"):
        add(
            "The durable work an email must cost alone, in plain aio-pika, PyMongo and aiosmtplib "
            "(`bench/email_floor.py`, one process, as many SMTP connections): each event consumed and its "
            "email recorded (one `insert_many` per gathered batch, majority), acked; MAIL and RCPT, the "
            "`phase: data` mark before DATA, DATA; the sent mark with an `EmailSent` outbox document per email "
            "in one transaction, published with confirms and marked. No rendering (the raw run's prebuilt "
            "message), validation, inbox, metrics or retries: "
            f"{_number(floor['emails_per_second'])} emails/s, {_number(floor['ratio_to_raw'])} of the raw rate; "
            f"the service ran at {_number(mail['ratio_to_floor'])} of it (a diagnostic beside the ceiling, not "
            "instead of it). Its CPU per email: "
            + ", ".join(f"{name} {_number(value)}" for name, value in floor["cpu_ms_per_email"].items())
            + ".\n"
        )

    add("## Import rate\n")
    add(
        f"`ImportCustomers` batches of {load['batch']:,} rows, {load['batches_in_flight']} in flight, into an "
        f"empty namespace served by {load['service_workers']} customer-service workers (validation, codes, one "
        "transaction per batch with its outbox events), beside the same documents inserted with plain "
        "`insert_many` into a collection with the same indexes.\n"
    )
    add(
        _table(
            ["rows", "seconds", "rows/s", "ceiling rows/s", "ratio"],
            [
                [
                    load["rows"],
                    load["seconds"],
                    load["rows_per_second"],
                    load["ceiling"]["rows_per_second"],
                    load["ratio"],
                ]
            ],
        )
    )
    add("")
    if same := load.get("same_writes_in_transactions"):
        cpu = load["cpu_ms_per_row"]
        add(
            f"The writes an import must make, in plain PyMongo: each batch of the same documents in one "
            f"transaction (snapshot, majority) with an audit entry per customer and one event document holding "
            f"their views in the outbox, no validation, codes, inbox or reply: {same['rows_per_second']:,} "
            f"rows/s; the service ran at {load['ratio_to_same_writes']} of that (a diagnostic beside the "
            f"ceiling, not instead of it). CPU per imported row: customer workers {cpu['customer']} ms, "
            f"mongod {cpu['mongod']} ms (server-wide), the benchmark's client {cpu['benchmark']} ms; load "
            f"average {load['load_average']}. MongoDB commands per 1,000 rows on the service's database "
            "(`top`; the outbox relay's included): "
            + ", ".join(f"{kind} {_number(n)}" for kind, n in load["mongodb_commands_per_1000_rows"].items())
            + ".\n"
        )
    if earlier := load.get("earlier_full_import"):
        add(
            f"Into an empty collection. For comparison, the earlier import of {earlier['rows']:,} customers through "
            f"`ImportCustomers` (`python -m bench.customer`, {earlier['when']}, `bench/results/customer.json`) "
            f"averaged {earlier['rows_per_second']:,} rows/s over {earlier['seconds'] / 60:.0f} minutes, "
            f"{earlier['ratio']} of its insert_many ceiling.\n"
        )

    if pages := results.get("console"):
        add("## CSR console pages\n")
        add(
            f"Every page a CSR reads, and the administrators' pages, at {pages['customers']:,} customers, "
            "fetched over HTTP by a signed-in CSR (administrator for the pages so marked) and timed by the "
            "gateway itself (its `Server-Timing`: from the request's arrival to the response), beside the "
            "service call each page is built on, over request/reply from the benchmark's process (none for the "
            "staff pages: the gateway's own database). The customers whose records are read have thirty orders, "
            "invoices and payments each, a group and organizations. Goal: p95 below "
            f"{pages['goal_p95_ms']:.0f} ms server-side (`python -m bench.console` runs this stage alone).\n"
        )
        add(
            _table(
                [
                    "page",
                    "pages",
                    "server p50 ms",
                    "server p95 ms",
                    "server p99 ms",
                    "call p95 ms",
                    "p95 ratio",
                    "p95 goal met",
                ],
                [
                    [
                        name,
                        f["pages"],
                        f["server"]["p50_ms"],
                        f["server"]["p95_ms"],
                        f["server"]["p99_ms"],
                        f["call"]["p95_ms"] if "call" in f else "–",
                        f.get("ratio_p95", "–"),
                        "yes" if f["goal_met"] else "no",
                    ]
                    for name, f in pages["pages"].items()
                ],
            )
        )
        add("")

    add("## Memory (RSS) per worker\n")
    add(
        f"Resident memory of each worker process after start-up (at rest) and its highest value sampled every "
        f"0.2 s under load (the order burst, the email burst, the searches), beside the floor: a bare Python "
        f"process with FastStream, aio-pika, PyMongo and pydantic imported and connected "
        f"({results['memory_floor_mb']:.0f} MB).\n"
    )
    add(
        _table(
            ["service", "processes", "worker", "at rest MB", "under load MB", "ratio to floor"],
            [
                [m["service"], m["processes"], m["worker"], m["at_rest_mb"], m["under_load_mb"], m["ratio_to_floor"]]
                for m in results["memory"]
            ],
        )
    )
    add("")

    add("## Reproducing\n")
    add(
        "```sh\n.venv/bin/python -m bench           # full: 1,000,000 customers (loaded once, then reused)\n"
        ".venv/bin/python -m bench --quick   # small sizes, under two minutes\n```\n"
    )
    add(
        "Sizes of this run: "
        + ", ".join(f"{k} {_number(v) if not isinstance(v, list) else v}" for k, v in results["sizes"].items())
        + ".\n"
    )
    add(
        "The search dataset stays in MongoDB between runs (`bench_customer` for the full run, "
        "`bench-quick_customer` for the quick one); `python -m bench --reset-dataset` drops it and loads it again."
    )
    return "\n".join(out) + "\n"


def plot(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """The two PNG plots: orders/s against workers with the ceiling; search latency per kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: out_dir / name for key, name in PLOTS.items()}

    runs = results["orders"]["runs"]
    ceiling = results["orders"]["ceiling"]["per_second"]
    workers = [r["workers"] for r in runs]
    rates = [r["orders_per_second"] for r in runs]
    figure, axes = plt.subplots(figsize=(7, 4.2))
    axes.plot(workers, rates, marker="o", label="order-sync, end to end")
    for x, y, r in zip(workers, rates, (r["ratio_to_ceiling"] for r in runs), strict=True):
        axes.annotate(f"{y:,.0f}/s ({r:.0%})", (x, y), textcoords="offset points", xytext=(0, 8), ha="center")
    axes.axhline(ceiling, linestyle="--", color="grey", label=f"raw ceiling, 1 consumer ({ceiling:,.0f}/s)")
    axes.set_xticks(workers)
    axes.set_xlim(min(workers) - 0.6, max(workers) + 0.6)
    axes.set_xlabel("order-sync worker processes")
    axes.set_ylabel("orders per second")
    axes.set_ylim(0, max(ceiling, *rates) * 1.15)
    axes.set_title(f"Order ingest ({results['machine']['cores']} cores, {results['mode']} run)")
    axes.legend(loc="center right")
    figure.tight_layout()
    figure.savefig(paths["throughput"], dpi=110)
    plt.close(figure)

    kinds = [k for k, v in results["search"]["kinds"].items() if "samples_ms" in v]
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(kinds) + 2))
    positions = list(range(len(kinds)))
    over_broker = [results["search"]["kinds"][k]["samples_ms"]["request_reply"] for k in kinds]
    in_store = [results["search"]["kinds"][k]["samples_ms"]["store"] for k in kinds]
    style = {"orientation": "horizontal", "widths": 0.32, "whis": (5, 99), "showfliers": False, "patch_artist": True}
    broker_boxes = axes.boxplot(over_broker, positions=[p + 0.18 for p in positions], **style)
    store_boxes = axes.boxplot(in_store, positions=[p - 0.18 for p in positions], **style)
    for boxes, colour in ((broker_boxes, "tab:blue"), (store_boxes, "tab:orange")):
        for box in boxes["boxes"]:
            box.set_facecolor(colour)
            box.set_alpha(0.6)
    goal = results["search"]["goal_p95_ms"]
    goal_line = axes.axvline(goal, linestyle="--", color="red", linewidth=1)
    axes.set_yticks(positions, kinds)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.xaxis.set_major_locator(FixedLocator([0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("milliseconds, log scale (box: p25-p75, line: p50, whiskers: p5-p99)")
    axes.set_title(f"Search latency at {results['search']['customers']:,} customers")
    axes.legend(
        [broker_boxes["boxes"][0], store_boxes["boxes"][0], goal_line],
        ["request/reply over RabbitMQ", "same query on the store (ceiling)", f"goal: p95 < {goal:.0f} ms"],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=3,
        fontsize="small",
    )
    figure.tight_layout()
    figure.savefig(paths["latency"], dpi=110)
    plt.close(figure)
    return paths
