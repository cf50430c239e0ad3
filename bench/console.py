"""CSR console pages at 1,000,000 customers (I5): server-side time of the search results and
of a customer record, p50/p95/p99, beside the request/reply call each page is built on.

    .venv/bin/python -m bench.console              # the kept 1M dataset (bench_customer)
    .venv/bin/python -m bench.console --per-kind 50

Runs the customer service (2 workers), the notification service (the record page lists its
email templates) and the gateway, each a process of its own, on the dataset of the search
benchmark (bench/dataset.py loads it if it is missing). A staff member signs in; each page is
fetched over HTTP and timed by the gateway itself (its ``Server-Timing`` header: from the
request's arrival to the response), which is the figure the goal names (p95 under 150 ms).
The ceiling is the page's own service call over request/reply from this process: what
rendering and the HTTP layer add is the ratio. Writes ``bench/results/console.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from contracts.customer import GetCustomer, SearchCustomers
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from .customer import free_port, log, percentiles, query_sets, start_service, wait_ready
from .dataset import ensure_customers

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_P95_MS = 150.0
#: The search kinds a CSR types into the Customer Manager form.
KINDS = (
    "code",
    "name (last name, 4 letters)",
    "name (first and last)",
    "email (6 letters)",
    "phone",
    "postal code",
    "tag",
)
PASSWORD = "bench-console-password-1"  # a throwaway account in the benchmark's own namespace


def _server_ms(response: httpx.Response) -> float:
    found = re.search(r"dur=([\d.]+)", response.headers.get("server-timing", ""))
    if response.status_code != 200 or not found:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return float(found.group(1))


def _start(args: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=open(RESULTS / log_name, "w")
    )  # noqa: SIM115


async def _gateway_up(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(240):
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the gateway did not start")


async def run(settings: ServiceSettings, per_kind: int, customers: int) -> dict[str, Any]:
    await ensure_customers(settings, customers)
    env = {
        **os.environ,
        "OMS_NAMESPACE": settings.namespace,
        "OMS_GATEWAY_COOKIE_SECURE": "false",
        "OMS_GATEWAY_PASSWORD": PASSWORD,
    }
    subprocess.run(
        [sys.executable, "-m", "gateway.staff", "create", "bench-csr", "--role", "csr"],
        env=env,
        check=False,
        capture_output=True,
    )  # exists already on a second run
    customer, _ = start_service(settings, workers=2)
    notification = _start(
        ["-m", "faststream", "run", "notification.app:create_app", "--factory", "--port", str(free_port())],
        env,
        "bench-console-notification.log",
    )
    port = free_port()
    gateway = _start(
        ["-m", "uvicorn", "gateway.app:create_app", "--factory", "--port", str(port), "--log-level", "warning"],
        env,
        "bench-console-gateway.log",
    )
    base = f"http://127.0.0.1:{port}"
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        async with OmsClient(settings, producer="bench") as client:
            await wait_ready(client)
            await _gateway_up(base)
            queries = await query_sets(mongo[settings.database_name("customer")], per_kind)
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                signed = await http.post("/api/session", json={"username": "bench-csr", "password": PASSWORD})
                signed.raise_for_status()
                pages: dict[str, Any] = {}
                searches = [q for kind in KINDS for q in queries[kind]]
                codes = [q["code"] for q in queries["code"]]
                for q in searches[:10] + [{"code": c} for c in codes[:5]]:  # warm every path
                    await http.get("/customers/results", params=q)
                pages["search results"] = await _time_pages(
                    http, client, [("/customers/results", q, SearchCustomers, q) for q in searches]
                )
                pages["customer record"] = await _time_pages(
                    http, client, [(f"/customers/{c}", {}, GetCustomer, {"customer_code": c}) for c in codes]
                )
    finally:
        for process in (gateway, notification, customer):
            process.terminate()
            process.wait(timeout=60)
        await mongo.close()
    for name, figures in pages.items():
        log(
            f"  {name:16} server p50 {figures['server']['p50_ms']:6.1f}  p95 {figures['server']['p95_ms']:6.1f}  "
            f"p99 {figures['server']['p99_ms']:6.1f} ms (its service call p95 {figures['call']['p95_ms']:.1f} ms)"
        )
    return {"customers": customers, "goal_p95_ms": GOAL_P95_MS, "pages": pages}


async def _time_pages(
    http: httpx.AsyncClient, client: OmsClient, pages: list[tuple[str, dict[str, Any], Any, dict[str, Any]]]
) -> dict[str, Any]:
    server, seen, calls = [], [], []
    for path, params, command, payload in pages:
        started = time.perf_counter()
        response = await http.get(path, params=params)
        seen.append(time.perf_counter() - started)
        server.append(_server_ms(response) / 1000)
        started = time.perf_counter()
        reply = await client.call(command, payload)
        calls.append(time.perf_counter() - started)
        if not reply.ok:
            raise RuntimeError(f"{command.__name__} {payload}: {reply.error}")
    figures = {
        "pages": len(pages),
        "server": percentiles(server),
        "client": percentiles(seen),
        "call": percentiles(calls),
    }
    figures["ratio_p95"] = round(figures["server"]["p95_ms"] / figures["call"]["p95_ms"], 2)
    figures["goal_met"] = figures["server"]["p95_ms"] < GOAL_P95_MS
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", default="bench")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS / "console.json")
    args = parser.parse_args()
    settings = ServiceSettings(namespace=args.namespace)
    started = time.perf_counter()
    results = asyncio.run(run(settings, args.per_kind, args.customers))
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
