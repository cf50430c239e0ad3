"""``omsctl email``: send a customer an email from a template, manage templates, read the
activity history. Everything goes through the notification service's commands (and, to
address a customer, the customer service's GetCustomer)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from contracts.customer.records import CustomerReply, GetCustomer, ListScopes, Recipient, ScopeListReply
from contracts.envelope import Command
from contracts.notification.emails import (
    ActivityPageReply,
    EmailQueuedReply,
    GetActivities,
    GetTemplate,
    ListTemplates,
    PreviewTemplate,
    RemoveTemplate,
    RenderedEmailReply,
    SendTemplateEmail,
    SetTemplate,
    TemplateListReply,
    TemplateRemovedReply,
    TemplateReply,
)
from contracts.replies import Reply, field_errors_from_pydantic
from omsctl.actor import who_runs_omsctl
from plumbing.client import OmsClient, ServiceUnavailable, error_text
from plumbing.settings import ServiceSettings

email = typer.Typer(
    help="Customer emails: send one from a template, templates, activity history.", no_args_is_help=True
)
templates = typer.Typer(help="The template manager: predefined and custom templates.", no_args_is_help=True)
email.add_typer(templates, name="templates")
console = Console()

Scope = Annotated[str | None, typer.Option("--scope", help="A scope id; none: every scope.")]
Language = Annotated[str, typer.Option("--language", "-l", help="e.g. en, fr, de, fr-CA.")]
Variables = Annotated[
    list[str] | None, typer.Option("--var", help="KEY=VALUE for the template's variables; repeat it.")
]


actor = who_runs_omsctl


def variables(pairs: list[str] | None) -> dict[str, str]:
    parsed = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--var")
        parsed[key.strip()] = value.replace("\\n", "\n")
    return parsed


async def ask(client: OmsClient, command: Command[Any], reply_type: type[Reply[Any]]) -> Any:
    """Send a command; print a typed error and exit 1 if it is refused or unanswered."""
    try:
        reply = await client.request(command, reply_type)
    except ServiceUnavailable as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    if not reply.ok:
        console.print(f"[red]{error_text(reply.error)}[/]")
        raise typer.Exit(1)
    return reply.result


def run(work: Any) -> Any:
    async def go() -> Any:
        async with OmsClient(ServiceSettings()) as client:
            return await work(client)

    return asyncio.run(go())


def command(cls: type[Command[Any]], **payload: Any) -> Command[Any]:
    """The command, or exit 1 naming each field the contract refuses (before anything is sent)."""
    try:
        return cls.model_validate({"producer": "omsctl", "actor": actor(), "payload": payload})
    except ValidationError as exc:
        for field in field_errors_from_pydantic([dict(e) for e in exc.errors(include_url=False)]):
            console.print(f"[red]{field.field}: {field.reason}[/]")
        raise typer.Exit(1) from None


# --- sending (N4) --------------------------------------------------------------------------------


async def recipient_of(client: OmsClient, customer_code: str) -> Recipient:
    """The customer as the customer service has it, with the scope's language as fallback."""
    customer = await ask(client, command(GetCustomer, customer_code=customer_code), CustomerReply)
    scopes = await ask(client, command(ListScopes), ScopeListReply)
    scope_language = next((s.default_language for s in scopes if s.scope_id == customer.scope_id), None)
    return Recipient(
        customer_code=customer.code,
        scope_id=customer.scope_id,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        preferred_language=customer.preferred_language,
        scope_language=scope_language,
    )


@email.command("send")
def send(
    customer_code: Annotated[str, typer.Argument(help="The customer to email.")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="A customer-message template.")
    ] = "customer-message",
    order: Annotated[str | None, typer.Option(help="The order number the email is about.")] = None,
    order_system: Annotated[str | None, typer.Option(help="The order's source system, e.g. storefront:eu.")] = None,
    var: Variables = None,
) -> None:
    """Email a customer from a template (recorded on the customer, and on the order if given).

    The predefined customer-message template takes --var subject=... --var message=...
    """
    if (order is None) != (order_system is None):
        raise typer.BadParameter("give --order and --order-system together")

    async def work(client: OmsClient) -> None:
        to = await recipient_of(client, customer_code)
        payload: dict[str, Any] = {"recipient": to, "template": template, "variables": variables(var)}
        if order is not None:
            payload["order"] = {"source_system": order_system, "order_number": order}
        queued = await ask(client, command(SendTemplateEmail, **payload), EmailQueuedReply)
        console.print(
            f"queued [bold]{queued.subject}[/] to {queued.to} ({queued.language}, {queued.template_source} "
            f"template) as activity {queued.activity_id}"
        )

    run(work)


# --- activities (N5) -------------------------------------------------------------------------------


@email.command("activities")
def activities(
    customer_code: Annotated[str | None, typer.Argument(help="Whose history; or use --order.")] = None,
    order: Annotated[str | None, typer.Option(help="An order's history instead (with --order-system).")] = None,
    order_system: Annotated[str | None, typer.Option(help="The order's source system.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=20)] = 20,
    cursor: Annotated[str | None, typer.Option(help="Next page: the cursor the last one printed.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Print each email's text as sent.")] = False,
) -> None:
    """A customer's (or an order's) emails, newest first, a page at a time."""
    query: dict[str, Any] = {"limit": limit, "cursor": cursor}
    if order is not None:
        query["order"] = {"source_system": order_system, "order_number": order}
    else:
        query["customer_code"] = customer_code

    page = run(lambda client: ask(client, command(GetActivities, **query), ActivityPageReply))
    table = Table("when", "status", "tries", "template", "lang", "to", "subject", "order")
    for item in page.items:
        status = {"sent": "[green]sent[/]", "failed": "[red]failed[/]"}.get(item.status, item.status)
        table.add_row(
            f"{item.created_at:%Y-%m-%d %H:%M:%S}",
            status,
            str(item.attempts),
            item.template,
            item.language,
            item.to,
            item.subject,
            item.order.order_number if item.order else "",
        )
    console.print(table)
    for item in page.items:
        if item.status == "failed" or item.last_error:
            console.print(
                f"{item.activity_id}: {item.last_error}", style="red" if item.status == "failed" else "yellow"
            )
        if full:
            console.rule(f"{item.activity_id} {item.subject}")
            typer.echo(item.text)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


# --- templates (N3) --------------------------------------------------------------------------------


@templates.command("list")
def list_templates(scope: Scope = None, name: Annotated[str | None, typer.Option()] = None) -> None:
    """Predefined templates and custom ones (every scope's, or one scope's and every scope's)."""
    listed = run(lambda client: ask(client, command(ListTemplates, scope_id=scope, name=name), TemplateListReply))
    table = Table("name", "kind", "source", "scope", "language", "version", "updated")
    for t in listed:
        updated = f"{t.updated_at:%Y-%m-%d %H:%M} by {t.updated_by}" if t.updated_at else ""
        table.add_row(t.name, t.kind, t.source, t.scope_id or "*", t.language, str(t.version), updated)
    console.print(table)


@templates.command("show")
def show(name: str, scope: Scope = None, language: Language = "en") -> None:
    """The template a customer of SCOPE who reads LANGUAGE gets, as YAML (a start for `set`)."""
    t = run(
        lambda client: ask(client, command(GetTemplate, name=name, scope_id=scope, language=language), TemplateReply)
    )
    # Plain echo, not rich: the YAML must come out unwrapped to be fed back to `set`.
    typer.echo(
        f"# {t.name}: {t.source} template, scope {t.scope_id or '*'}, language {t.language}, version {t.version}"
    )
    document = {"description": t.description, "subject": t.subject, "html": t.html, "text": t.text}
    if t.variables:
        document["variables"] = t.variables
    typer.echo(_yaml(document), nl=False)


def _yaml(document: dict[str, Any]) -> str:
    class Literal(yaml.SafeDumper):
        pass

    def block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
        style = "|" if "\n" in text else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Literal.add_representer(str, block)
    return yaml.dump(
        {k: v for k, v in document.items() if v is not None}, Dumper=Literal, allow_unicode=True, sort_keys=False
    )


def _read(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not {"subject", "html", "text"} <= set(raw):
        raise typer.BadParameter(f"{path}: needs subject, html and text (see `omsctl email templates show`)")
    return raw


@templates.command("set")
def set_template(
    name: str,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="YAML: subject, html, text[, variables, description].")
    ],
    language: Language = "en",
    scope: Scope = None,
) -> None:
    """Add or override a template; it is checked against sample data first."""
    raw = _read(file)
    payload = {
        "name": name,
        "scope_id": scope,
        "language": language,
        "subject": raw["subject"],
        "html": raw["html"],
        "text": raw["text"],
        "variables": {str(k): str(v) for k, v in (raw.get("variables") or {}).items()},
        "description": raw.get("description"),
    }
    t = run(lambda client: ask(client, command(SetTemplate, **payload), TemplateReply))
    console.print(
        f"stored {t.name} ({t.kind}) for scope {t.scope_id or '*'}, language {t.language}: version {t.version}"
    )


@templates.command("remove")
def remove(name: str, language: Language, scope: Scope = None) -> None:
    """Remove a custom template; the predefined one (or one for every scope) applies again."""
    run(
        lambda client: ask(
            client, command(RemoveTemplate, name=name, scope_id=scope, language=language), TemplateRemovedReply
        )
    )
    console.print(f"removed {name} for scope {scope or '*'}, language {language}")


@templates.command("preview")
def preview(
    name: str,
    scope: Scope = None,
    language: Language = "en",
    file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A draft to check and render.")] = None,
    var: Variables = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part too.")] = False,
) -> None:
    """Render a template (or a draft) against sample data, as a customer would read it."""
    payload: dict[str, Any] = {"name": name, "scope_id": scope, "language": language, "variables": variables(var)}
    if file is not None:
        draft = _read(file)
        payload.update(subject=draft["subject"], html=draft["html"], text=draft["text"])
        payload["variables"] = {**(draft.get("variables") or {}), **payload["variables"]}
    rendered = run(lambda client: ask(client, command(PreviewTemplate, **payload), RenderedEmailReply))
    console.print(f"[bold]Subject:[/] {rendered.subject}   ({rendered.source}, {rendered.language})")
    console.rule("text")
    typer.echo(rendered.text, nl=False)
    if html:
        console.rule("html")
        typer.echo(rendered.html, nl=False)
