"""``decide()`` on its own (O2, O3, O5): candidates built by hand, with the evidence and the
score each rule reads, so each test names the one rule it proves, at its boundary. (The
scenarios of test_order_sync_matching.py go through ``score()`` first: orders and profiles.)"""

from __future__ import annotations

import pytest

from order_sync.identity import Identity
from order_sync.matching import (
    EMAIL,
    HOUSEHOLD,
    NAMES_IN_HOUSEHOLD,
    SOURCE,
    TAUGHT,
    Evidence,
    Level,
    Scored,
    Thresholds,
    decide,
)

DEFAULT = Thresholds()


def identity(
    *,
    first: str | None = "anna",
    last: str | None = "schmidt",
    phone: str | None = "+493012345678",
    email: str | None = None,
    source_id: str | None = None,
    street: str | None = "hauptstr 5",
) -> Identity:
    return Identity(
        scope_id="de",
        source_system="shopify:acme",
        source_customer_id=source_id,
        email=email,
        email_canon=email,
        phone=phone,
        first_name=first.title() if first else None,
        last_name=last.title() if last else None,
        first_key=first,
        last_key=last,
        postal_key="10115" if street else None,
        street_key=street,
    )


def evidence(*levels: Level) -> tuple[Evidence, ...]:
    return tuple(Evidence(level.comparison, level.name, level.weight, "") for level in levels)


#: A household member by the household's landline and street and their own given name: a
#: candidate that tells the person, without an email or account (household rules).
MEMBER = evidence(
    HOUSEHOLD["phone_and_address"], NAMES_IN_HOUSEHOLD["last_name", "exact"], NAMES_IN_HOUSEHOLD["first_name", "exact"]
)
#: The same landline and street with another last name, nothing of the given name: a candidate
#: that does not tell the person.
HOUSEHOLD_ONLY = evidence(HOUSEHOLD["phone_and_address"])


def candidate(code: str, score: float, proof: tuple[Evidence, ...] = MEMBER) -> Scored:
    """``score`` is set, not summed: the thresholds are what is under test."""
    return Scored(code, score, proof)


@pytest.mark.parametrize(
    ("score", "kind"),
    [
        (DEFAULT.link + 5, "link"),
        (DEFAULT.link, "link"),  # the threshold itself links
        (DEFAULT.link - 0.01, "review"),
        (DEFAULT.review, "review"),
        (DEFAULT.review - 0.01, "create"),
    ],
)
def test_o2_o3_o5_a_candidate_that_tells_the_person_is_linked_reviewed_or_not_by_its_score(
    score: float, kind: str
) -> None:
    decision = decide(identity(), None, [candidate("C1", score)])
    assert decision.kind == kind
    if kind == "link":
        assert (decision.customer_code, decision.rule, decision.score) == ("C1", "phone_name_postal", score)
    else:
        assert decision.customer_code is None  # a review or a new customer: linked to none


def test_o2_o3_the_thresholds_given_are_the_ones_applied() -> None:
    one = [candidate("C1", 16.0)]
    assert decide(identity(), None, one).kind == "link"
    assert decide(identity(), None, one, Thresholds(link=20.0, review=17.0)).kind == "create"
    assert decide(identity(), None, one, Thresholds(link=20.0, review=16.0)).kind == "review"


def test_o5_a_high_score_that_does_not_tell_the_person_is_not_a_link() -> None:
    # The household's landline and street, well over the link threshold, but no given name of
    # the customer's: every member of the household fits it.
    decision = decide(identity(), None, [candidate("C1", DEFAULT.link + 10, HOUSEHOLD_ONLY)])
    assert decision.kind == "review" and decision.customer_code is None


@pytest.mark.parametrize(("best", "kind"), [(20.0, "review"), (21.0, "link")])
def test_o5_a_runner_up_within_the_margin_makes_the_choice_a_csrs(best: float, kind: str) -> None:
    # Another member of the household the order fits too, 14.5: within 6 of 20, not of 21.
    runner_up = 14.5
    assert DEFAULT.review <= runner_up < DEFAULT.link and DEFAULT.margin == 6.0
    decision = decide(identity(), None, [candidate("C2", runner_up), candidate("C1", best)])
    assert decision.kind == kind
    if kind == "review":
        assert [c.code for c in decision.candidates] == ["C1", "C2"]
    else:
        assert decision.customer_code == "C1"
    # A narrower margin, from the settings: the same two are no rivals.
    narrow = decide(identity(), None, [candidate("C2", runner_up), candidate("C1", 20.0)], Thresholds(margin=5.0))
    assert (narrow.kind, narrow.customer_code) == ("link", "C1")


def test_o5_a_runner_up_below_the_review_threshold_or_not_telling_a_person_is_no_rival() -> None:
    decision = decide(identity(), None, [candidate("C2", DEFAULT.review - 0.5), candidate("C1", DEFAULT.link)])
    assert (decision.kind, decision.customer_code) == ("link", "C1")
    # Within the margin, but only the household's landline and street: no given name of theirs.
    decision = decide(identity(), None, [candidate("C2", 14.5, HOUSEHOLD_ONLY), candidate("C1", 20.0)])
    assert (decision.kind, decision.customer_code) == ("link", "C1")


def test_o5_equal_candidates_are_ranked_by_code_whatever_order_they_come_in() -> None:
    between = (DEFAULT.review + DEFAULT.link) / 2
    a, b = candidate("C1", between), candidate("C2", between)
    first, second = decide(identity(), None, [a, b]), decide(identity(), None, [b, a])
    assert first == second
    assert first.kind == "review" and [c.code for c in first.candidates] == ["C1", "C2"]


def test_o2_a_known_source_link_decides_whatever_the_scores() -> None:
    stronger = candidate("C1", 40.0, evidence(EMAIL["exact"]))
    decision = decide(identity(source_id="42"), "C7", [stronger])
    assert (decision.kind, decision.customer_code, decision.rule) == ("link", "C7", "source_customer_id")
    assert decide(identity(source_id="42"), "C7", []).customer_code == "C7"


def test_o5_a_csr_taught_customer_is_linked_alone_and_only_alone() -> None:
    taught = candidate("C1", TAUGHT.weight, evidence(TAUGHT))  # below the review threshold
    assert TAUGHT.weight < DEFAULT.review
    decision = decide(identity(), None, [taught])
    assert (decision.kind, decision.customer_code, decision.rule) == ("link", "C1", "review")
    # Two customers taught for the same details: the CSRs disagree; nothing is linked by it.
    other = candidate("C2", TAUGHT.weight, evidence(TAUGHT))
    assert decide(identity(), None, [taught, other]).customer_code is None
    # Taught, but the order's account in the same shop is another one: not that customer.
    disowned = candidate("C1", TAUGHT.weight, evidence(TAUGHT, SOURCE["different"]))
    assert decide(identity(source_id="42"), None, [disowned]).customer_code is None


def test_o5_the_holder_of_the_order_s_email_is_reviewed_not_duplicated_however_low_it_scores() -> None:
    # The mailbox is theirs, everything else says someone else: a second customer with that
    # email would be a guess too.
    holder = candidate("C1", 2.0, evidence(EMAIL["exact"], NAMES_IN_HOUSEHOLD["first_name", "different"]))
    decision = decide(identity(email="anna@example.de"), None, [holder])
    assert (decision.kind, decision.rule, [c.code for c in decision.candidates]) == ("review", "email", ["C1"])


def test_c13_a_second_candidate_over_the_link_threshold_telling_the_same_person_is_a_duplicate_not_a_rival() -> None:
    # Nothing of either says another person: one person's two records (an earlier split).
    decision = decide(identity(), None, [candidate("C2", 20.0), candidate("C1", 20.0)])
    assert (decision.kind, decision.customer_code, decision.duplicates) == ("link", "C1", ("C2",))
    # The second one's given name is another one: not the same person, so a rival.
    other_name = evidence(
        HOUSEHOLD["phone_and_address"],
        NAMES_IN_HOUSEHOLD["last_name", "exact"],
        NAMES_IN_HOUSEHOLD["first_name", "different"],
        EMAIL["exact"],
    )
    decision = decide(identity(), None, [candidate("C2", 20.0, other_name), candidate("C1", 20.0)])
    assert decision.kind == "review" and decision.duplicates == ()


def test_o3_an_order_of_nobody_is_anonymous_and_one_of_someone_new_creates() -> None:
    nobody = identity(first=None, last=None, phone=None, street=None)
    assert nobody.anonymous
    assert decide(nobody, None, []).kind == "anonymous"
    assert decide(identity(), None, []).kind == "create"


def test_o5_a_review_shows_at_most_five_candidates_best_first() -> None:
    many = [candidate(f"C{i}", DEFAULT.link - 0.1 - i / 10) for i in range(8)]
    decision = decide(identity(), None, many)
    assert decision.kind == "review"
    assert [c.code for c in decision.candidates] == ["C0", "C1", "C2", "C3", "C4"]
