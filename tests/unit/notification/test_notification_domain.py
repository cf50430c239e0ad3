"""The notification service's pure rules (N2, N3, N5, N6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.customer.records import Recipient
from contracts.notification.emails import PreviewInput, TemplateInput
from notification import catalog, domain, kinds
from notification.domain import TemplateChoice
from notification.templates import Sources
from plumbing.errors import Rejected


def test_n2_languages_are_the_customers_then_the_scopes_then_english() -> None:
    assert domain.language_candidates("fr", "de") == ["fr", "de", "en"]
    assert domain.language_candidates(None, "de") == ["de", "en"]
    assert domain.language_candidates(None, None) == ["en"]
    assert domain.language_candidates("EN", "en") == ["en"]


def test_n2_a_regional_language_falls_back_to_its_base_language_first() -> None:
    assert domain.language_candidates("fr-CA", "de_CH") == ["fr-ca", "fr", "de-ch", "de", "en"]


def test_n3_language_first_then_scope_override_then_every_scope_then_predefined() -> None:
    predefined = {"en", "fr", "de"}
    custom = {("eu-fr", "fr"), (None, "fr"), (None, "it")}
    choose = lambda scope, langs: domain.choose_template(scope, langs, custom, predefined)  # noqa: E731
    assert choose("eu-fr", ["fr", "en"]) == TemplateChoice("custom", "eu-fr", "fr")
    assert choose("eu-de", ["fr", "en"]) == TemplateChoice("custom", None, "fr")
    assert choose("eu-fr", ["de", "en"]) == TemplateChoice("predefined", None, "de")
    # An Italian override for every scope serves an Italian reader before any French one.
    assert choose("eu-fr", ["it", "fr", "en"]) == TemplateChoice("custom", None, "it")
    assert domain.choose_template("eu", ["es"], set(), set()) is None


def test_n3_names_of_their_own_are_customer_message_templates() -> None:
    assert domain.kind_of("welcome") == "welcome"
    assert domain.kind_of("delivery-delay") == "customer-message"
    assert "customer-message" not in domain.SYSTEM_KINDS and "shipping-confirmation" in domain.SYSTEM_KINDS


def test_n6_the_email_key_is_the_same_for_the_same_event_template_and_recipient() -> None:
    key = domain.email_key("event-1", "welcome", "Camille@Example.com")
    assert key == domain.email_key("event-1", "welcome", " camille@example.com ")
    assert (
        len(
            {
                key,
                domain.email_key("event-2", "welcome", "camille@example.com"),
                domain.email_key("event-1", "password-reset", "camille@example.com"),
                domain.email_key("event-1", "welcome", "zoe@example.com"),
            }
        )
        == 4
    )


def test_n6_only_5xx_replies_are_permanent() -> None:
    assert domain.is_permanent(550) and domain.is_permanent(554)
    assert not domain.is_permanent(451) and not domain.is_permanent(421)
    assert not domain.is_permanent(None)  # connection refused, timeout


def test_n6_retry_waits_grow_exponentially_with_jitter_up_to_the_cap() -> None:
    def delay(attempt: int, r: float) -> float:
        return domain.retry_delay(attempt, base=30, cap=3600, rand=lambda: r)

    assert [delay(n, 1.0) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert [delay(n, 0.0) for n in range(1, 4)] == [15, 30, 60]  # jitter takes up to half of the step
    assert delay(20, 1.0) == 3600


def test_n6_a_permanent_failure_or_the_last_attempt_gives_up() -> None:
    rules = {"max_attempts": 3, "base": 1.0, "cap": 10.0, "rand": lambda: 0.5}
    assert domain.after_failure(1, permanent=True, **rules).gives_up
    assert domain.after_failure(3, permanent=False, **rules).gives_up
    assert domain.after_failure(2, permanent=False, **rules).retry_in == 1.5


def test_n5_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    moment = datetime(2026, 11, 20, 9, 14, 1, 123000, tzinfo=UTC)
    assert domain.decode_cursor(domain.encode_cursor(moment, "abc")) == (moment, "abc")
    for forged in ("nonsense", "W10", domain.encode_cursor(moment, "abc")[:-3]):
        with pytest.raises(Rejected):
            domain.decode_cursor(forged)


def test_n6_a_batch_of_system_emails_takes_a_transaction_only_with_an_email_failed_at_once() -> None:
    assert not domain.needs_transaction(["queued", "queued"])
    assert not domain.needs_transaction(["queued", "sending"])  # claimed as recorded
    assert domain.needs_transaction(["queued", "failed"])
    assert not domain.needs_transaction([])


def test_n3_a_preview_with_subject_html_and_text_is_a_draft_and_without_them_the_stored_template() -> None:
    parts = {"subject": "Hello {{ customer.first_name }}", "html": "<p>Hi</p>", "text": "Hi"}
    preview = PreviewInput(name="delivery-delay", scope_id="eu", language="FR-ca", variables={"days": "3"}, **parts)
    draft = catalog.draft(preview, "customer-message")
    assert draft is not None
    assert (draft.source, draft.kind, draft.scope_id, draft.language) == ("draft", "customer-message", "eu", "fr-ca")
    assert (draft.subject, draft.text, draft.variables) == (parts["subject"], "Hi", {"days": "3"})
    assert catalog.draft(PreviewInput(name="welcome"), "welcome") is None


def test_n3_a_preview_renders_with_the_kinds_sample_and_the_recipient_given() -> None:
    sample = kinds.preview_context("customer-message", {"days": "3"}, None)
    assert sample["customer"]["first_name"] == "Camille" and sample["variables"] == {"days": "3"}
    assert sample["order"] is not None  # the first sample: with an order
    zoe = Recipient(customer_code="C7654321", scope_id="eu", email="zoe@example.com", first_name="Zoé", last_name="B")
    given = kinds.preview_context("shipping-confirmation", {}, zoe)
    assert given["customer"]["first_name"] == "Zoé" and given["shipment"]["carrier"] == "DHL"


def test_n3_a_template_sent_is_kept_in_its_language_lowered_with_its_own_sources_and_variables() -> None:
    sent = TemplateInput(name="welcome", scope_id="eu", language="DE", subject="Hallo", html="<p>x</p>", text="x")
    template = catalog.given(sent, "welcome", "custom", Sources(subject="Hallo", html="<p>x</p>", text="x"))
    assert (template.source, template.scope_id, template.language, template.subject) == ("custom", "eu", "de", "Hallo")
    assert template.variables == {} and template.version == 1 and template.updated_by is None
