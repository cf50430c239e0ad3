"""The benchmark report (python -m bench) renders from a results dict: every figure beside
its ceiling and ratio, the machine, the two plots. No timing is asserted here."""

from __future__ import annotations

import json

from bench import report, suite


def small_results() -> dict:
    """What suite.run returns, with few numbers."""
    samples = {"request_reply": [4.0, 5.0, 6.0, 30.0], "store": [1.0, 1.5, 2.0, 3.0]}
    results = {
        "mode": "quick",
        "command": "python -m bench --quick",
        "started": "2026-11-24T12:00:00+00:00",
        "seconds": 61.5,
        "machine": {
            "cores": 2,
            "memory_mb": 4096,
            "cpu_model": "Test CPU",
            "os": "Debian GNU/Linux 12",
            "kernel": "6.1",
            "load_average_at_start": [1.0, 1.0, 1.0],
            "load_average_at_end": [2.0, 1.5, 1.0],
        },
        "versions": {
            "python": "3.11.7",
            "mongodb": "6.0.27",
            "rabbitmq": "3.10.8",
            "faststream": "0.7.8",
            "pymongo": "4.20.1",
        },
        "sizes": {"customers": 1000, "queries_per_kind": 4, "order_customers": 50, "order_workers": [1, 2, 4]},
        "memory_floor_mb": 50.0,
        "orders": {
            "ceiling": {"messages": 300, "seconds": 0.5, "per_second": 600.0},
            "runs": [
                {
                    "workers": n,
                    "orders": 300,
                    "seconds": 3.0,
                    "orders_per_second": 100.0 + n,
                    "links_stored": 300,
                    "rss_mb_at_rest": [70.0] * n,
                    "rss_mb_under_load": [75.0 + n] * n,
                    "ratio_to_ceiling": round((100.0 + n) / 600, 3),
                }
                for n in (1, 2, 4)
            ],
        },
        "emails": {
            "service": {
                "emails": 200,
                "seconds": 2.0,
                "emails_per_second": 100.0,
                "worker_cpu_ms_per_email": 7.0,
                "rss_mb_at_rest": 77.0,
                "rss_mb_under_load": 90.0,
            },
            "raw_aiosmtplib": {"messages_per_second": 1000.0, "connections": 16},
            "ratio": 0.1,
        },
        "import": {
            "rows": 2000,
            "seconds": 1.0,
            "rows_per_second": 2000,
            "service_workers": 2,
            "batch": 1000,
            "batches_in_flight": 4,
            "ceiling": {"rows_per_second": 20000},
            "ratio": 0.1,
        },
        "search": {
            "customers": 1000,
            "service_workers": 2,
            "goal_p95_ms": 20.0,
            "dataset": {"customers": 1000, "reused": True, "database": "bench-quick_customer"},
            "kinds": {
                "code": {
                    "request_reply": {"p50_ms": 5.0, "p95_ms": 6.0, "p99_ms": 30.0, "n": 4},
                    "store": {"p50_ms": 1.5, "p95_ms": 2.0, "p99_ms": 3.0, "n": 4},
                    "ratio_p95": 3.0,
                    "median_total": 1,
                    "goal_met": True,
                    "samples_ms": samples,
                },
                "name (first and last)": {
                    "request_reply": {"p50_ms": 9.0, "p95_ms": 25.0, "p99_ms": 31.0, "n": 4},
                    "store": {"p50_ms": 2.0, "p95_ms": 5.0, "p99_ms": 6.0, "n": 4},
                    "ratio_p95": 5.0,
                    "median_total": 34,
                    "goal_met": False,
                    "samples_ms": samples,
                },
                "state summary": {"request_reply": {"p50_ms": 12.0, "p95_ms": 16.0, "p99_ms": 16.0, "n": 20}},
            },
            "rss_mb_at_rest": [76.0, 76.0],
            "rss_mb_under_load": [80.0, 81.0],
        },
    }
    results["memory"] = suite.memory(results, results["memory_floor_mb"])
    results["figures"] = suite.figures(results)
    return results


def test_p3_c11_headline_figures_each_have_a_ceiling_and_ratio() -> None:
    figures = suite.figures(small_results())
    names = [f["figure"] for f in figures]
    assert [n for n in names if n.startswith("orders linked")] == [
        f"orders linked end to end, {n} order-sync worker(s)" for n in (1, 2, 4)
    ]
    slowest = next(f for f in figures if "slowest kind" in f["figure"])
    assert "name (first and last)" in slowest["figure"]
    assert (slowest["value"], slowest["ceiling"], slowest["ratio"]) == (25.0, 5.0, 5.0)
    memory = next(f for f in figures if f["unit"] == "MB")
    assert (memory["value"], memory["ceiling"], memory["ratio"]) == (90.0, 50.0, 1.8)
    assert all(f["ceiling"] and f["ratio"] is not None for f in figures)


def test_p3_memory_rows_name_every_worker_at_rest_and_under_load() -> None:
    rows = small_results()["memory"]
    order_sync = [r for r in rows if r["service"] == "order-sync"]
    assert [(r["processes"], r["worker"]) for r in order_sync] == [
        (1, 1),
        (2, 1),
        (2, 2),
        (4, 1),
        (4, 2),
        (4, 3),
        (4, 4),
    ]
    assert order_sync[-1]["under_load_mb"] == 79.0
    assert {r["service"] for r in rows} == {"order-sync", "notification", "customer (search)"}


def test_p3_c11_report_renders_tables_machine_and_plots() -> None:
    text = report.render(small_results(), {"throughput": "results/t.png", "latency": "results/l.png"})
    assert text.startswith("# Performance report")
    for expected in (
        "| 2 | 4.0 GB | Test CPU | Debian GNU/Linux 12 |",
        "| 3.11.7 | 6.0.27 | 3.10.8 | 0.7.8 | 4.20.1 |",
        "| orders linked end to end, 4 order-sync worker(s) | 104.0 | orders/s | 600.0 |",
        "| name (first and last) | 9.0 | 25.0 | 31.0 | 2.0 | 5.0 | 6.0 | 5.0 | 34 | **no** |",
        "| state summary | 12.0 | 16.0 | 16.0 |",
        "![orders per second against workers, with the raw ceiling](results/t.png)",
        "](results/l.png)",
        "reused from an earlier run",
        "| notification | 1 | 1 | 77.0 | 90.0 | 1.8 |",
        "`Customer.create`",
        "--reset-dataset",
    ):
        assert expected in text, expected
    assert "![" not in report.render(small_results())  # no plots, no image links


def test_p3_c11_plots_are_written_as_png(tmp_path) -> None:
    paths = report.plot(small_results(), tmp_path / "plots")
    assert sorted(p.name for p in paths.values()) == sorted(report.PLOTS.values())
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000


def test_results_json_keeps_number_lists_on_one_line_and_round_trips() -> None:
    results = small_results()
    text = report.dump(results)
    assert '"samples_ms": {\n' in text
    assert '"request_reply": [4.0, 5.0, 6.0, 30.0]' in text
    assert json.loads(text) == results


def test_o6_the_order_report_shows_cpu_per_order_per_process_and_the_hop_alone() -> None:
    results = small_results()
    cpu = {"mongod": 2.5, "rabbitmq": 1.4, "order-sync": 2.6, "customer": 2.2, "benchmark": 0.5}
    for run in results["orders"]["runs"]:
        run.update(
            cpu_ms_per_order=cpu,
            with_history=True,
            mean_batch_size={"orders-matched": 30.5},
            mongodb_commands_per_order={"find": 0.7, "commitTransaction": 0.2},
        )
    results["orders"]["hop_alone"] = {
        **results["orders"]["runs"][0],
        "orders_per_second": 300.0,
        "ratio_to_ceiling": 0.5,
        "with_history": False,
        "cpu_ms_per_order": {**cpu, "customer": 0.9},
    }
    results["orders"]["ceiling"].update(
        samples_per_second=[590.0, 600.0, 610.0],
        queue="quorum",
        classic_per_second=800.0,
        classic_samples_per_second=[800.0, 790.0, 810.0],
    )
    results["figures"] = suite.figures(results)
    alone = next(f for f in results["figures"] if "history paused" in f["figure"])
    assert (alone["value"], alone["ceiling"], alone["ratio"]) == (300.0, 600.0, 0.5)
    text = report.render(results, {})
    assert (
        "| workers | order history | orders/s | mongod | rabbitmq | order-sync | customer | benchmark | total |" in text
    )
    assert "| 1 | paused | 300.0 | 2.5 | 1.4 | 2.6 | 0.900 | 0.500 | 7.9 |" in text
    assert "| workers | order history | orders-matched | find | commitTransaction |" in text
    assert "| 1 | paused | 30.5 | 0.700 | 0.200 |" in text
    assert "the median of three tries (590.0, 600.0, 610.0 msg/s)" in text
    assert "ran at 800.0 msg/s (median of 800.0, 790.0, 810.0)" in text


def test_n6_p3_the_email_report_shows_the_durable_work_alone_beside_the_service() -> None:
    results = small_results()
    results["emails"].update(
        floor={"emails_per_second": 400.0, "ratio_to_raw": 0.4, "cpu_ms_per_email": {"floor": 1.2, "mongod": 0.4}},
        ratio_to_floor=0.25,
    )
    text = report.render(results, {})
    assert "400.0 emails/s, 0.400 of the raw rate; the service ran at 0.250 of it" in text
    assert "Its CPU per email: floor 1.2, mongod 0.400." in text
    assert "email_floor" not in report.render(small_results(), {})  # older results: no floor, no paragraph
