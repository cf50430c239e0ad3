"""``omsctl email`` against the running notification service (N3, N4, N5, I2).

The customer service of step 2 is not part of this branch: a stand-in answers its
GetCustomer and ListScopes over the real RabbitMQ, as the real one will.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from faststream.rabbit import RabbitRouter
from typer.testing import CliRunner, Result

from contracts.customer.records import (
    CustomerReply,
    CustomerView,
    GetCustomer,
    ListScopes,
    ScopeListReply,
    ScopeView,
)
from omsctl.__main__ import app as omsctl
from plumbing.errors import Rejected
from plumbing.runtime import ServiceRuntime
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ...support import Cleanup, running, widen_omsctl_consoles
from ..notification_support import arrived, notification_app, parts, settled

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CAMILLE = CustomerView(
    code="C0042",
    scope_id="eu-fr",
    version=3,
    logon_id="camille@example.com",
    email="camille@example.com",
    email_verified=True,
    first_name="Camille",
    last_name="Martin",
    preferred_language=None,
    account_type="registered",
    kind="customer",
    state="active",
    channel="csr",
    registered_at=NOW,
    updated_at=NOW,
)
SCOPES = [
    ScopeView(
        scope_id="eu-fr", name="France", country="FR", default_language="fr", requires_approval=False, created_at=NOW
    )
]


async def get_customer(cmd: GetCustomer) -> CustomerReply:
    if cmd.payload.customer_code != CAMILLE.code:
        raise Rejected.not_found("customer", cmd.payload.customer_code, field="payload.customer_code")
    return CustomerReply.success(CAMILLE)


async def list_scopes(cmd: ListScopes) -> ScopeListReply:
    return ScopeListReply.success(SCOPES)


def customer_stand_in(runtime: ServiceRuntime) -> list[RabbitRouter]:
    runtime.on_command(GetCustomer, get_customer)
    runtime.on_command(ListScopes, list_scopes)
    return []


async def omsctl_run(settings: ServiceSettings, *args: str) -> Result:
    """Run omsctl as a CSR would, in a thread (it runs its own event loop)."""
    env = {"OMS_NAMESPACE": settings.namespace, "OMS_ACTOR_ID": "csr-ada", "COLUMNS": "200"}
    widen_omsctl_consoles(200)
    return await asyncio.to_thread(CliRunner().invoke, omsctl, list(args), env=env)


DELAY = """\
description: A new delivery date
variables:
  new_date: Friday 27 November
subject: "Nouvelle date de livraison : {{ variables.new_date }}"
html: |
  <p>Bonjour {{ customer.first_name }}, votre livraison arrive le {{ variables.new_date }}.</p>
text: |
  Bonjour {{ customer.first_name }}, votre livraison arrive le {{ variables.new_date }}.
"""
BROKEN = """\
subject: Hello
html: "<p>ok</p>"
text: |
  Hello
  {{ customer.first_name }
"""


async def test_i2_n4_n5_a_csr_emails_a_customer_and_reads_the_history_with_omsctl(
    settings: ServiceSettings, cleanup: Cleanup, tmp_path: Path
) -> None:
    (tmp_path / "delay.yaml").write_text(DELAY, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    handler = CapturedMail()
    with smtp_server(handler) as port:
        apps = [notification_app(settings, port), create_service_app("customer", settings, customer_stand_in)]
        async with running(*apps, cleanup=cleanup):
            stored = await omsctl_run(
                settings,
                "email",
                "templates",
                "set",
                "delivery-delay",
                str(tmp_path / "delay.yaml"),
                "--language",
                "fr",
                "--scope",
                "eu-fr",
            )
            refused = await omsctl_run(settings, "email", "templates", "set", "welcome", str(tmp_path / "broken.yaml"))
            sent = await omsctl_run(
                settings,
                "email",
                "send",
                "C0042",
                "--template",
                "delivery-delay",
                "--var",
                "new_date=lundi 30 novembre",
                "--order",
                "EU-7",
                "--order-system",
                "storefront:eu",
            )
            unknown = await omsctl_run(settings, "email", "send", "C9999", "--var", "subject=x", "--var", "message=y")
            (message,) = await arrived(handler, 1)
            await settled(settings, 1)  # the worker recorded it as sent, not only the server took it
            history = await omsctl_run(settings, "email", "activities", "C0042", "--full")
            by_order = await omsctl_run(
                settings, "email", "activities", "--order", "EU-7", "--order-system", "storefront:eu"
            )
            neither = await omsctl_run(settings, "email", "activities")
            listed = await omsctl_run(settings, "email", "templates", "list", "--name", "delivery-delay")
            preview = await omsctl_run(settings, "email", "templates", "preview", "welcome", "--language", "de")
            shown = await omsctl_run(settings, "email", "templates", "show", "welcome", "--language", "fr")
            (tmp_path / "welcome.yaml").write_text(shown.output, encoding="utf-8")  # the README's override flow
            overridden = await omsctl_run(
                settings,
                "email",
                "templates",
                "set",
                "welcome",
                str(tmp_path / "welcome.yaml"),
                "--language",
                "fr",
                "--scope",
                "eu-fr",
            )

    assert stored.exit_code == 0 and "version 1" in stored.output, stored.output
    assert refused.exit_code == 1 and "payload.text" in refused.output and "line 2" in refused.output
    assert sent.exit_code == 0 and "queued" in sent.output and "(fr, custom template)" in sent.output, sent.output
    assert unknown.exit_code == 1 and "not_found" in unknown.output
    assert message["Subject"] == "Nouvelle date de livraison : lundi 30 novembre"
    assert "votre livraison arrive le lundi 30 novembre" in parts(message)[0]
    assert history.exit_code == 0 and "delivery-delay" in history.output and "sent" in history.output
    assert "Bonjour Camille, votre livraison arrive le lundi 30 novembre." in history.output
    assert by_order.exit_code == 0 and "EU-7" in by_order.output
    assert neither.exit_code == 1 and "give either customer_code or order" in neither.output
    assert listed.exit_code == 0 and "eu-fr" in listed.output and "by csr-ada" in listed.output
    assert preview.exit_code == 0 and "Willkommen, Camille" in preview.output
    assert shown.exit_code == 0 and "Bienvenue, {{ customer.first_name }}" in shown.output
    assert overridden.exit_code == 0 and "scope eu-fr, language fr: version 1" in overridden.output, overridden.output
