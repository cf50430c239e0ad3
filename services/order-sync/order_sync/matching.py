"""Who placed an order: identity resolution rules (O2-O6), free of I/O.

An order's **identity** is what it says about its customer, in canonical form (``identity``).
A customer's **profile** is every identifier it has shown: those of its record and those of
every order linked to it (``store`` keeps them; ``identifiers`` index them for blocking).

The decision follows the Fellegi-Sunter model of record linkage, as Splink implements it:
each candidate found through any shared identifier is compared with the order field by
field; each comparison lands on a *level* (exact, close, different, missing ...), and each
level carries a match weight ``log2(m/u)``, where m is the chance of that level when the two
are the same person and u when they are not. Weights add up to the candidate's score; a
score above ``link`` links, between ``review`` and ``link`` sends the order to a CSR (O5),
below ``review`` creates a customer. The m and u below are our estimates for order streams
(documented beside each level), not trained on data: they are few, readable and settable.

Why not a library: Splink and recordlinkage deduplicate whole tables in batch (DuckDB,
pandas); here one order at a time is matched against a few blocked candidates at the
intake's rate, so the model is a table of weights. rapidfuzz does the string similarity.

Phone, street and postal code belong to a **household**, not a person: every member shares
them, so their agreements are not independent of each other nor of the last name (the
independence the plain model assumes would add them up and link a spouse). They form one
comparison, ``household``, and when it agrees, the names are weighed *given* a shared
household: the last name then says almost nothing and the first name tells the members
apart. An order whose only evidence is household-level (no email, no source id, no first
name) cannot tell one member from another and goes to review when a candidate exists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from .identity import Identity, Rule, surname_block
from .keys import (
    abjad,
    compare_names,
    consonants,
    few_vowels,
    has_extension,
    is_landline,
    is_mobile,
    is_mobile_or_landline,
    is_relay_email,
    meant_alike,
    meant_mailboxes,
    name_key,
    name_tokens,
    phone_line,
    same_line,
    typo_of,
    written_in_latin,
)

# --- a candidate's profile ----------------------------------------------------------------------------


@dataclass
class Profile:
    """Every identifier one customer has shown, its merged records' included."""

    code: str
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[tuple[str | None, str | None]] = field(default_factory=set)
    #: Those of ``names`` written in a script their Latin spellings cannot be told from
    #: (Identity.name_script): compared with a Latin name, they agree or are in another
    #: script (``OTHER_SCRIPT``), never "different".
    scripted_names: set[tuple[str | None, str | None]] = field(default_factory=set)
    postals: set[str] = field(default_factory=set)
    streets: set[tuple[str, str]] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    taught: set[str] = field(default_factory=set)  # signatures a CSR tied to this customer
    #: The index keys its customer document says are indexed (intake: what to add).
    indexed: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, code: str, docs: Iterable[dict[str, Any]]) -> Profile:
        """From customer documents: the survivor's and those merged into it (C13), each with
        its record's identifiers and those learned from its orders."""
        profile = cls(code)
        for doc in docs:
            profile.add(doc.get("record") or {})
            profile.add(doc.get("learned") or {})
        return profile

    @classmethod
    def of_customer(cls, code: str, doc: dict[str, Any] | None) -> Profile:
        """One customer's own document (not its merged ones), with what it says is indexed."""
        profile = cls.of(code, [doc] if doc else [])
        profile.indexed = set(doc.get("index_keys", ())) if doc else set()
        return profile

    def lesson(self, learned: dict[str, list[Any]]) -> tuple[dict[str, list[Any]], list[str]] | None:
        """What this profile learns from ``learned`` (Identity.learned) and the index keys that
        come with it (its record's too, if not indexed yet), now held; None if nothing is new
        (most returning orders)."""
        new = self.missing(learned)
        self.add(new)
        keys = sorted(index_keys(self) - self.indexed)
        if not new and not keys:
            return None
        self.indexed.update(keys)
        return new, keys

    def missing(self, learned: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """What of ``learned`` (Identity.learned) this profile does not hold."""
        held = {
            "emails": self.emails,
            "phones": self.phones,
            "postals": self.postals,
            "sources": self.sources,
            "taught": self.taught,
        }
        new: dict[str, list[Any]] = {}
        for kind, values in learned.items():
            if kind in ("names", "scripted_names"):
                pairs = self.names if kind == "names" else self.scripted_names
                fresh = [v for v in values if (v[0], v[1]) not in pairs]
            elif kind == "streets":
                fresh = [v for v in values if (v[0], v[1]) not in self.streets]
            else:
                fresh = [v for v in values if v not in held[kind]]
            if fresh:
                new[kind] = fresh
        return new

    def add(self, learned: dict[str, Any]) -> None:
        self.emails.update(learned.get("emails", ()))
        self.phones.update(learned.get("phones", ()))
        self.names.update((f, l) for f, l in learned.get("names", ()))
        self.scripted_names.update((f, l) for f, l in learned.get("scripted_names", ()))
        self.postals.update(learned.get("postals", ()))
        self.streets.update((p, s) for p, s in learned.get("streets", ()))
        self.sources.update(learned.get("sources", ()))
        self.taught.update(learned.get("taught", ()))


#: Bounds on one customer's blocking keys made of a name and a postal code: a customer who
#: wrote their name many ways at many addresses stays findable by the usual ones, and cheap.
MAX_NAME_POSTAL_KEYS = 60


def index_keys(profile: Profile) -> set[str]:
    """The blocking keys (Identity.blocking_keys) under which a profile is found."""
    keys = {f"src:{s}" for s in profile.sources} | {f"em:{e}" for e in profile.emails}
    keys |= {f"em:{meant}" for e in profile.emails for meant in meant_mailboxes(e)}  # its typo's
    keys |= {f"ph:{p}" for p in profile.phones} | {f"sig:{t}" for t in profile.taught}
    keys |= {f"ph:{phone_line(p)}" for p in profile.phones if has_extension(p)}  # keys.same_line
    keys |= {f"ad:{postal}|{street}" for postal, street in profile.streets}
    combined = set()
    for first, last in sorted(profile.names, key=lambda n: (n[0] or "", n[1] or "")):
        full = name_key(first, last)
        if first and last and full and profile.emails:
            combined.add(f"nm:{full}")  # Identity.blocking_keys: for a mailbox's slip
        for postal in sorted(profile.postals):
            if full:
                combined.add(f"np:{full}|{postal}")
            if last:
                combined.add(f"lp:{surname_block(last)}|{postal}")
    return keys | set(sorted(combined)[:MAX_NAME_POSTAL_KEYS])


def two_people(a: Iterable[str], b: Iterable[str]) -> bool:
    """Two sets of person identifiers (Identity.person_ids), none in common, that contradict
    each other: each with a mailbox (a father and his namesake son), or each with an account
    in one source system. As far as a phone or street with the name can tell, two people.
    A mailbox beside an account, or accounts in two systems (a marketplace buyer and a web
    account), say nothing against one person: ``decide`` links such orders when one is
    stored before the other, so new customers made at once must not part them either."""
    a, b = set(a), set(b)
    if a & b:
        return False

    def kinds(ids: set[str]) -> set[str]:
        return {"em" if i.startswith("em:") else i.split("|", 1)[0] for i in ids}

    return bool(kinds(a) & kinds(b))


def without_common(identity: Identity, common: set[str]) -> Identity:
    """The identity without identifiers too common to tell anyone apart (a shop's phone typed
    on every POS sale, a placeholder email, a shop's own mailbox typed for walk-in buyers):
    they are neither evidence nor a blocking key, nor claimed for a new customer (O6), nor
    written on one as theirs (a shop's mailbox would get its buyers' emails)."""
    if not common:
        return identity
    changes: dict[str, Any] = {}
    notes: list[str] = []
    if identity.phone and f"ph:{identity.phone}" in common:
        changes["phone"] = None
        notes.append("phone ignored for matching: shared by too many customers")
    if identity.email_canon and f"em:{identity.email_canon}" in common:
        changes["email_canon"] = changes["email"] = None
        notes.append("email ignored for matching: shared by too many customers, or by buyers of other names (a shop's)")
    if not changes:
        return identity
    return replace(identity, **changes, notes=identity.notes + tuple(notes))


def stranger_at_the_mailbox(identity: Identity, decision: Decision) -> bool:
    """O5: the order waits for a CSR because its mailbox is held by customers none of whom has
    its surname: a family's shared mailbox in a member's hands of another name, or a shop's
    own mailbox that its till types for every walk-in buyer. A mailbox shown under several
    such surnames is a shop's or an office's, no one's (``store.STRANGERS_AT_A_MAILBOX``)."""
    holders = [c for c in decision.candidates if c.agrees("email")]
    return (
        decision.kind == "review"
        and identity.email_canon is not None
        and not is_relay_email(identity.email_canon)  # one buyer's, whatever names it ships to
        and identity.last_key is not None
        and bool(holders)
        and all(c.agrees_not("last_name") for c in holders)
    )


# --- Fellegi-Sunter comparisons ---------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One level of one comparison: m = P(level | same person), u = P(level | two people)."""

    comparison: str
    name: str
    m: float
    u: float
    meaning: str

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


def _levels(*levels: Level) -> dict[str, Level]:
    return {level.name: level for level in levels}


def _name_levels(*levels: Level) -> dict[tuple[str, str], Level]:
    return {(level.comparison, level.name): level for level in levels}


#: Among the candidates blocking brings (those sharing some identifier with the order).
EMAIL = _levels(
    Level("email", "exact", 0.87, 5e-8, "same mailbox (provider-aware: Gmail dots and +tags ignored)"),
    Level(
        "email",
        "provider_typo",
        0.003,
        1e-6,
        "a mailbox of theirs at its provider's domain mistyped ('gmial.com', 'hotmail.co'), the names not "
        "another person's: an address that delivers nowhere, written for theirs",
    ),
    Level(
        "email",
        "tagged",
        0.01,
        1e-6,
        "the same mailbox with a '+tag' on one side, at a domain whose rules are not known here (most "
        "servers deliver 'name+tag@' to 'name@'), the names not another person's",
    ),
    # u: two people of one given name whose mailboxes are one slip of a letter apart (not a
    # digit or a separator, as namesakes' are: typo_of) are rarer than one in 50,000 pairs;
    # with 5e-4 such an order with only a name besides never reached the link threshold.
    Level(
        "email",
        "typo",
        0.01,
        2e-5,
        "a slip of a key in the local part of a mailbox of theirs, with the same given name",
    ),
    Level("email", "different", 0.12, 1.0, "both have an email, none shared: people change address"),
    Level(
        "email",
        "family",
        1.0,
        1.0,
        "the same mailbox under another given name, and it names the family, not either of them "
        "('smith.home@', 'familiaescedo@'): a family's, which says the household, not the person",
    ),
    Level("email", "relayed", 1.0, 1.0, "none shared, but one side only has marketplace relay aliases: no evidence"),
)
SOURCE = _levels(
    Level("source", "exact", 0.95, 1e-7, "same customer id in the same source system"),
    Level("source", "different", 0.03, 1.0, "another customer id in the same source system: a second account is rare"),
)
HOUSEHOLD = _levels(
    Level(
        "household",
        "mobile_and_address",
        0.55,
        1e-6,
        "same mobile (one person's phone, by its numbering plan) and same street or postal code",
    ),
    Level("household", "mobile", 0.15, 3e-6, "same mobile, another or no address"),
    Level("household", "phone_and_address", 0.55, 1e-5, "same phone and same street or postal code"),
    Level("household", "phone", 0.15, 3e-5, "same phone, another or no address"),
    Level("household", "address", 0.15, 3e-5, "same house number and street in the same postal code"),
    Level(
        "household",
        "address_other_phone",
        0.04,
        3e-5,
        "same street, but the order's phone is not among the customer's: another member's mobile?",
    ),
    Level(
        "household",
        "address_other_mobile",
        0.04,
        3e-5,
        "same street, the order's mobile is new and the customer has a mobile of their own: it tells no person",
    ),
    Level("household", "postal", 0.05, 1.5e-3, "same postal code only"),
    Level("household", "different", 0.10, 0.9985, "phone and postal code known on both sides, none shared: moved"),
)
#: The levels where the order shares a household's phone or street (not only its postal code).
PHONE_KEYS = ("mobile_and_address", "mobile", "phone_and_address", "phone")
MOBILE_KEYS = ("mobile_and_address", "mobile")
STREET_KEYS = ("address", "address_other_phone", "address_other_mobile")
HOUSEHOLD_KEYS = (*PHONE_KEYS, *STREET_KEYS)
#: Names weighed when the household agrees (phone or street): members share the last name,
#: so it says little; the first name tells them apart (two members share one rarely).
NAMES_IN_HOUSEHOLD = _name_levels(
    Level("last_name", "exact", 0.92, 0.85, "same last name, as household members have"),
    Level("last_name", "close", 0.06, 0.05, "a spelling away"),
    Level("last_name", "different", 0.01, 0.20, "another last name at the same phone or address: a partner"),
    Level("first_name", "exact", 0.90, 0.02, "same first name (two members of a household share one rarely)"),
    Level(
        "first_name",
        "middle",
        0.10,
        0.01,
        "a middle name on one side only, or a compound given name (Jean, Jean-Pierre: father and son)",
    ),
    Level("first_name", "initial", 0.04, 0.02, "an initial of the other's given name (members share initials)"),
    Level("first_name", "close", 0.05, 0.05, "a spelling away (Anna, Anne: sisters, as often as typos)"),
    Level("first_name", "different", 0.03, 0.93, "another first name: another member of the household"),
)
#: Names weighed when nothing of the household agrees: namesakes exist, common names more.
NAMES_ELSEWHERE = _name_levels(
    Level("last_name", "exact", 0.92, 0.012, "same last name"),
    Level("last_name", "close", 0.06, 0.004, "a spelling away"),
    Level("last_name", "different", 0.02, 0.984, "another last name"),
    Level("first_name", "exact", 0.90, 0.05, "same first name"),
    Level("first_name", "middle", 0.10, 0.006, "same given name, a middle name on one side only"),
    Level("first_name", "initial", 0.04, 0.01, "an initial of the other's given name"),
    Level("first_name", "close", 0.05, 0.03, "a spelling away"),
    Level("first_name", "different", 0.03, 0.92, "another first name"),
)
TAUGHT = Level("csr", "confirmed", 0.5, 1e-4, "a CSR tied an order with exactly these details to this customer")
#: A number whose plan does not tell a mobile from a landline (US, Canada) that one customer
#: alone has shown, nobody else known at its street: most such numbers are mobiles, as far as
#: anyone knows this one is (``_own_phone``). It brings a landline's weight up to a mobile's.
OWN_PHONE = Level(
    "phone_owner",
    "alone",
    1.0,
    0.1,
    "the only customer seen at this number and its street (beside another number of theirs, under their own "
    "given name or its initial)",
)
#: The customer at that number (``OWN_PHONE``) was recorded without a given name (a till
#: sale: 'Torres') and the order gives one: no evidence either way, but the name it first
#: tells (``tells_the_person``).
FIRST_GIVEN = Level("first_name", "first_given", 1.0, 1.0, "the record had no given name; the order gives one")
#: A name in Arabic, Hebrew, Hangul, Greek, Japanese (any script but Latin, Cyrillic and Han
#: read as Chinese) on one side and in Latin letters on the other (keys.name_script): its
#: transliteration is not its bearer's spelling, so another spelling is no evidence either
#: way (one that spells it is "close": ``_transliterated``). Nor does it tell the person at a
#: phone or street, as the same given name would: a household's members write theirs as
#: they like.
OTHER_SCRIPT = {
    comparison: Level(comparison, "other_script", 1.0, 1.0, "written in another script: no evidence either way")
    for comparison in ("last_name", "first_name")
}


@dataclass(frozen=True)
class Evidence:
    comparison: str
    level: str
    weight: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "comparison": self.comparison,
            "level": self.level,
            "weight": round(self.weight, 2),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Scored:
    code: str
    score: float
    evidence: tuple[Evidence, ...]
    #: The profile scored: whether two candidates may be one person's records (compatible()).
    profile: Profile | None = field(default=None, compare=False, repr=False)
    #: The order's phone, of a type its numbering plan does not tell, is this customer's own
    #: as far as anyone knows (``_own_phone``).
    own_phone: bool = field(default=False, compare=False)

    def agrees_not(self, comparison: str) -> bool:
        return any(e.comparison == comparison and e.level == "different" for e in self.evidence)

    def agrees(self, comparison: str, *levels: str) -> bool:
        return any(
            e.comparison == comparison and (not levels or e.level in levels) and e.weight > 0 for e in self.evidence
        )

    @property
    def rule(self) -> Rule:
        """The strongest identifier that agreed: what a CSR reads as the reason of the link."""
        if self.agrees("source"):
            return "source_customer_id"
        if self.agrees("email"):
            return "email"
        if self.agrees("csr"):
            return "review"
        if self.agrees("household", *PHONE_KEYS):
            return "phone_name_postal"
        if self.agrees("household", *STREET_KEYS):
            return "name_address"
        if self.agrees("household", "postal"):
            return "name_postal"
        return "score"

    def _relayed_mailbox(self) -> bool:
        """The order's email that the candidate holds is a marketplace's relay alias."""
        return any(e.comparison == "email" and e.level == "exact" and is_relay_email(e.detail) for e in self.evidence)

    def _bare_record_of_the_name(self) -> bool:
        """The candidate is a bare record (a name and a postal code, nothing else: a cash sale)
        with the order's whole name in its postal code, and nothing of the order says another
        person: the first order that tells who that buyer was. (A namesake there is a rival
        with the same evidence, and the order waits for a CSR.)"""
        return (
            self.profile is not None
            and _bare(self.profile)
            and self.agrees("household", "postal")
            and self.agrees("first_name", "exact")
            and self.agrees("last_name", "exact")
            and not self.agrees_not("email")
            and not self.agrees_not("source")
        )

    @property
    def tells_the_person(self) -> bool:
        """Evidence that singles out a person, not only a household or a namesake: a shared
        email or source id, a CSR's decision, or the same first name at the household's phone
        or street (a name and a postal code alone fit every namesake there)."""
        if self.agrees("source") or self.agrees("csr"):
            return True
        if self.agrees("email"):
            # Unless neither name is theirs: a family's shared mailbox ('smithfamily@',
            # 'sonnerke.home@') in another member's hands. Then the mailbox says the
            # household, not the person, and a CSR decides (O5). (Under another given name
            # alone, a mailbox that names no one agrees not at all: EMAIL "family".) Not a
            # marketplace's relay alias: one buyer's account, whose orders may carry a gift's
            # recipient's name (an Amazon order without BuyerName is named after its ship-to).
            # Nor another given name there with a phone the holder has not shown: a member
            # of the family with a line of their own (John's order at the Stanowtons' mailbox
            # and street, from his own phone, on Jim's customer).
            own_line = self.agrees("household", "address_other_phone", "address_other_mobile") or self.agrees_not(
                "household"
            )
            return self._relayed_mailbox() or not (
                self.agrees_not("first_name") and (self.agrees_not("last_name") or own_line)
            )
        if self.agrees_not("last_name"):
            return False
        if self._bare_record_of_the_name():
            return True
        if self.agrees("household", *MOBILE_KEYS):
            # One person's phone: their given name in any form (a middle name, an initial, a
            # typo: Ruuth, Ruth) or none is theirs. Beside another mailbox, only the name
            # itself: Buyer 1, Buyer 2 and Buyer 12 of a shop that typed its own mobile for
            # every buyer are a spelling or an "initial" apart. Never another name, nor one in
            # another script (a household sharing a mobile: Åsa's and يوسف's orders).
            vague = any(e.comparison == "first_name" and e.level in ("close", "initial") for e in self.evidence)
            other_script = any(e.comparison == "first_name" and e.level == "other_script" for e in self.evidence)
            return not (self.agrees_not("first_name") or other_script or (vague and self.agrees_not("email")))
        # At a household's phone or street, only the same given name: a close one (Anna,
        # Anne) may be a sister, an initial anyone, a longer one (Jean, Jean-Pierre) a son.
        # (Letting a middle name tell too lifted recall 0.2 points on a simulated stream but
        # linked a son's first order to his father before the son had a record.) Nor with
        # another account in the candidate's source system: a namesake of the household with
        # an account of their own (a second account of one person is rarer).
        # Nor at the street only, with a mobile of the order's beside the customer's own
        # (two namesakes of one household, each with a mobile: a son's first order), nor
        # with a new phone and a mailbox the customer has not shown: nothing of one person
        # agrees (a marketplace buyer's namesake son ordering in the shop with his own; on a
        # simulated stream of 100,000 orders, 16 of 123 false merges, for 60 more splits).
        # At a US or Canadian number only this customer has shown, with nobody else known at
        # its street (``_own_phone``), the given name in another form (a middle name, a
        # spelling or transliteration, an initial) tells the person too, as at a mobile, and
        # so does the first given name of a record that had none (``FIRST_GIVEN``: 16 links on
        # four simulated streams of 10,000 orders, none on a customer of two people).
        middle = (
            self.own_phone
            and any(
                e.comparison == "first_name" and e.level in ("middle", "close", "initial", "first_given")
                for e in self.evidence
            )
            and not self.agrees_not("email")
        )
        return (
            self.agrees("household", *HOUSEHOLD_KEYS)
            and not self.agrees("household", "address_other_mobile")
            and (self.agrees("first_name", "exact") or middle)
            and not self.agrees_not("source")
            and not (self.agrees("household", "address_other_phone") and self._mailbox_not_theirs())
        )

    def _mailbox_not_theirs(self) -> bool:
        """The order's mailbox is one the candidate has not shown (the candidate's own are
        another, or only a marketplace's relay aliases)."""
        return any(e.comparison == "email" and e.level in ("relayed", "different") for e in self.evidence)


def _bare(profile: Profile) -> bool:
    """A record of a name and a postal code only (a cash sale the cashier typed a name for)."""
    return not (profile.emails or profile.sources or profile.phones or profile.streets)


def score(identity: Identity, profile: Profile) -> Scored:
    evidence: list[Evidence] = []

    def add(level: Level, detail: str) -> None:
        evidence.append(Evidence(level.comparison, level.name, level.weight, detail))

    best = _best_names(identity, profile)
    if identity.email_canon and profile.emails:
        # A slip counts only where the given names agree ('Robert' and 'Robert E.' do):
        # 'annemueller' beside 'annamueller' is a sister.
        # Its local part whole at the provider's domain mistyped is their mailbox unless the
        # names say another person: an initial ('B. Linich') is no sister's.
        same_name = best is not None and best[0][0] in ("exact", "middle") and best[0][1] != "different"
        other_name = best is not None and "different" in best[0][:2]
        meant = not other_name and next(
            (e for e in sorted(profile.emails) if meant_alike(identity.email_canon, e)), None
        )
        typo = same_name and next((e for e in sorted(profile.emails) if typo_of(identity.email_canon, e)), None)
        if (
            identity.email_canon in profile.emails
            and best is not None
            and best[0][0] == "different"
            and _family_mailbox(identity.email_canon, identity, profile)
        ):
            add(EMAIL["family"], identity.email_canon)
        elif identity.email_canon in profile.emails:
            add(EMAIL["exact"], identity.email_canon)
        elif meant:
            tagged = meant.rpartition("@")[2] == identity.email_canon.rpartition("@")[2]
            add(EMAIL["tagged" if tagged else "provider_typo"], f"{identity.email_canon} vs {meant}")
        elif typo:
            add(EMAIL["typo"], f"{identity.email_canon} vs {typo}")
        else:
            relayed = is_relay_email(identity.email_canon) or all(is_relay_email(e) for e in profile.emails)
            add(
                EMAIL["relayed" if relayed else "different"],
                f"{identity.email_canon} vs {', '.join(sorted(profile.emails)[:3])}",
            )
    if identity.source_customer_id:
        same_system = {s for s in profile.sources if s.split("|", 1)[0] == identity.source_system}
        if identity.source_link in same_system:
            add(SOURCE["exact"], identity.source_link)
        elif same_system:
            add(SOURCE["different"], f"{identity.source_link} vs {', '.join(sorted(same_system)[:3])}")

    household = _household(identity, profile)
    if household is not None:
        add(HOUSEHOLD[household[0]], household[1])
    in_household = household is not None and household[0] in HOUSEHOLD_KEYS
    names = NAMES_IN_HOUSEHOLD if in_household else NAMES_ELSEWHERE
    if best is not None:
        (first, last, swapped), known = best
        shown = " ".join(k for k in known if k)
        for comparison, level in (("last_name", last), ("first_name", first)):
            if level != "missing":
                weighed = OTHER_SCRIPT[comparison] if level == "other_script" else names[comparison, level]
                note = " (first and last swapped)" if swapped else ""
                if comparison == "first_name" and not identity.first_key:
                    note += " (the given name read from the order's mailbox)"
                add(weighed, f"{shown}{note}")
    sig = identity.signature()
    if sig is not None and sig in profile.taught:
        add(TAUGHT, "the same details as an order a CSR decided")
    return Scored(profile.code, sum(e.weight for e in evidence), tuple(evidence), profile)


def _family_mailbox(email: str, identity: Identity, profile: Profile) -> bool:
    """The order's mailbox, held by a customer whose given name is not the order's, names the
    family and no one in it (words of three letters or more, anywhere in its local part):
    'smith.home', 'themorsons', 'familiaescedo', 'mirar7'. Not 'misaki82' (a given name), nor
    'ktanaka3' or 'a.ostergaard' (an initial and the surname: one person's, whose name the
    order may have written otherwise), nor 'shared' or 'crazyrose620' (no surname)."""
    if is_relay_email(email):
        return False
    written = re.sub(r"[^a-z]+", " ", email.split("@", 1)[0])
    # As written, and as a name is read ('schaefer' is the key 'schafer').
    locals_ = {written.replace(" ", ""), "".join(name_tokens(written))}

    def words(keys: Iterable[str | None]) -> set[str]:
        return {word for key in keys if key for word in key.split() if len(word) >= 3}

    # Not the order's surname where a record shows it as a given name (its name once written
    # last name first: ('villar', 'montserrat') beside Juana Villar's 'familia.villar51').
    given = words([identity.first_key, *(first for first, _ in profile.names)]) - words([identity.last_key])
    if any(word in local for word in given for local in locals_):
        return False
    surnames = words([identity.last_key, *(last for _, last in profile.names)])
    rests = [local.replace(word, "", 1) for word in surnames for local in locals_ if word in local]
    return bool(rests) and all(not 0 < len(rest) <= 2 for rest in rests)


def _on_a_line_of(phone: str, phones: Iterable[str]) -> bool:
    return any(same_line(phone, known) for known in phones)


def _shared_lines(a: set[str], b: set[str]) -> set[str]:
    """Those of ``a`` on a line of ``b`` (``keys.same_line``)."""
    return {phone for phone in a if _on_a_line_of(phone, b)}


def _household(identity: Identity, profile: Profile) -> tuple[str, str] | None:
    phone = bool(identity.phone and _on_a_line_of(identity.phone, profile.phones))
    street = bool(identity.street_key and (identity.postal_key, identity.street_key) in profile.streets)
    postal = bool(identity.postal_key and identity.postal_key in profile.postals)
    mobile = phone and is_mobile(identity.phone or "")
    if phone and (street or postal):
        return "mobile_and_address" if mobile else "phone_and_address", f"{identity.phone}, {identity.postal_key}"
    if phone:
        return "mobile" if mobile else "phone", identity.phone or ""
    if street:
        # A switchboard's number with an extension (a marketplace's masked number) is no line
        # of the buyer's own: at the street it says no other member, as no phone would.
        if identity.phone and profile.phones and not has_extension(identity.phone):
            # Two mobiles, one each: at one street, the order's may be another member's.
            level = (
                "address_other_mobile"
                if is_mobile(identity.phone) and any(is_mobile(p) for p in profile.phones)
                else "address_other_phone"
            )
            return level, f"{identity.street_key}, {identity.postal_key}; {identity.phone} is new"
        return "address", f"{identity.street_key}, {identity.postal_key}"
    if postal:
        return "postal", identity.postal_key or ""
    comparable = (identity.phone and profile.phones) or (identity.postal_key and profile.postals)
    if comparable:
        return "different", "no phone, street or postal code in common"
    return None


_RANK = {"exact": 5, "middle": 4, "initial": 3, "close": 2, "missing": 1, "other_script": 1, "different": 0}


def _partial(ours: str | None, theirs: str | None) -> Literal["middle", "initial"] | None:
    """A shorter form of one given name, not another name: "middle" when its words are all
    among the other's ('Jean', 'Jean Pierre'), "initial" when it needs an initial ('J', 'Jean')."""
    if not ours or not theirs:
        return None
    a, b = name_tokens(ours), name_tokens(theirs)
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if not short:
        return None
    if all(t in long_ for t in short):
        return "middle"
    if all(any(t == u or (len(t) == 1 and t.isalpha() and u.startswith(t)) for u in long_) for t in short):
        return "initial"  # a digit is no initial: 'Buyer 1' is not 'Buyer 12'
    return None


@lru_cache(maxsize=16384)  # asked once per candidate of the order
def _mailbox_words(email: str | None) -> tuple[str, ...]:
    """The words of a mailbox's local part, of three letters or more, as name tokens (none for
    a marketplace's relay alias, whose letters are random)."""
    if not email or is_relay_email(email):
        return ()
    local = re.sub(r"[^a-z]+", " ", email.split("@", 1)[0])
    return tuple(word for word in name_tokens(local) if len(word) >= 3) if local.strip() else ()


def _best_names(
    identity: Identity, profile: Profile
) -> tuple[tuple[str, str, bool], tuple[str | None, str | None]] | None:
    """The profile's name that agrees best with the order's (a customer may have written
    theirs several ways), as (first level, last level, swapped)."""
    if not (identity.first_key or identity.last_key) or not profile.names:
        return None
    best: tuple[tuple[int, int], tuple[str, str, bool], tuple[str | None, str | None]] | None = None
    scripted = identity.name_script is not None
    names = profile.names
    if identity.first_key and any(first for first, _ in names):
        # A record's surname-only name (a till sale: 'Thornman') hides no given name it has
        # shown elsewhere: 'Karen Thornman' beside 'William Thornman' is another first name.
        names = {(first, last) for first, last in names if first}
        # Nor does its initial hide the given name it is of, from an order that spells one:
        # 'J. Morgan' beside 'Jenna Morgan' is Jenna's, and 'Jodi Morgan' at her number another
        # given name (it read as Jodi's initial, at a number only Jenna had shown, and made one
        # customer of two sisters).
        if len(identity.first_key.split()[0]) > 1:
            names = {(first, last) for first, last in names if not _initial_of_another(first, last, names)}
    # Only beside a customer who has shown no mailbox: another one of theirs says this one
    # may be a namesake's of the household (two Olivia Whitmores at one landline).
    mailbox = _mailbox_words(identity.email_canon) if not identity.first_key and not _personal(profile.emails) else ()
    for known_first, known_last in sorted(names, key=lambda n: (n[0] or "", n[1] or "")):
        ours = identity.first_key
        if mailbox and known_first and (words := name_tokens(known_first)) and words[0] in mailbox:
            # No given name on the order, but its mailbox spells the customer's
            # ('charles.morerings@', 'christopher2002@'): the order names them there.
            ours = known_first
        agreement = compare_names(ours, identity.last_key, known_first, known_last)
        first: str = agreement.first
        last: str = agreement.last
        given = (ours, known_first)
        if agreement.swapped:
            # One side wrote its surname first, and which one is unknown: of the two crossed
            # pairs, the given names are taken to be the pair that agrees less (so a surname
            # shared by a household is never read as a shared given name).
            (first, given), (last, _) = sorted(
                [
                    (agreement.last, (identity.last_key, known_first)),
                    (agreement.first, (ours, known_last)),
                ],
                key=lambda pair: _RANK[pair[0]],
            )
        if first == "close":
            first = _partial(*given) or first
        if scripted != ((known_first, known_last) in profile.scripted_names):
            # One of those scripts on one side only: the transliteration may agree
            # (customary surnames do), but another spelling is no other person. Where
            # the consonants agree as the script writes them, it is a spelling of the name.
            if not agreement.swapped:
                first = _transliterated(first, given, order_in_script=scripted)
                last = _transliterated(last, (identity.last_key, known_last), order_in_script=scripted)
            first = "other_script" if first == "different" else first
            last = "other_script" if last == "different" else last
        levels = (first, last, agreement.swapped)
        rank = (_RANK[first] + _RANK[last], _RANK[first])
        if best is None or rank > best[0]:
            best = (rank, levels, (known_first, known_last))
    assert best is not None  # profile.names is not empty
    return best[1], best[2]


def _initial_of_another(first: str | None, last: str | None, names: set[tuple[str | None, str | None]]) -> bool:
    """``first`` is only initials ('j', 'j r'), and another name of the record with the same
    surname spells a given name they begin."""
    words = (first or "").split()
    return (
        bool(words)
        and all(len(word) == 1 for word in words)
        and any(
            other_last == last and other and len(other.split()[0]) > 1 and other.startswith(words[0])
            for other, other_last in names
        )
    )


def _transliterated(level: str, names: tuple[str | None, str | None], *, order_in_script: bool) -> str:
    """A name in another script (the order's, or the customer's) and one in Latin letters
    that spells it: "close", a spelling of one name, as Anna and Anne are. It tells a person
    only at one person's mobile, as a spelling there does.

    Arabic and Hebrew (an abjad: ``Abjad.spells``): the same consonants and a vowel wherever
    the script writes a long one (محمد, Mohammed; not Mahmoud, محمود). Alphabets read by two
    systems: the same consonants and as many vowels (``consonants``: Ζαφείρης as 'Zafeiris'
    and Unidecode's 'Zapheires'; not 재훈 as Jihoon)."""
    if level != "different" or not all(names):
        return level
    scripted = (names[0] if order_in_script else names[1]) or ""
    vowels = not few_vowels(scripted)
    ours, theirs = (abjad(name) for name in names)
    if not vowels and ours is not None and theirs is not None and ours.consonants == theirs.consonants:
        latin, written = (theirs, ours) if order_in_script else (ours, theirs)
        return "close" if latin.spells(written) else level
    skeleton = consonants(names[0] or "", vowels=vowels)
    if len(skeleton.replace("V", "")) > 1 and skeleton == consonants(names[1] or "", vowels=vowels):
        return "close"
    return level


# --- the decision -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Match weights (log2 odds) that decide; settings (order_sync.settings) may move them."""

    link: float = 15.0
    review: float = 14.0
    #: A runner-up this close to the best makes the choice a CSR's, unless both share the
    #: order's email or source id (then they are one person's duplicate records).
    margin: float = 6.0


@dataclass(frozen=True)
class Decision:
    kind: Literal["link", "review", "create", "anonymous"]
    rule: Rule | None = None
    customer_code: str | None = None
    candidates: tuple[Scored, ...] = ()
    score: float | None = None
    #: Other customers this order shows to be the same person as the one it is linked to (an
    #: earlier split): merged into it (C13, undoable by a CSR within the merge window).
    duplicates: tuple[str, ...] = ()

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        chosen = next((c for c in self.candidates if c.code == self.customer_code), None)
        return chosen.evidence if chosen else ()


def decide(
    identity: Identity, linked_code: str | None, candidates: Iterable[Scored], thresholds: Thresholds = Thresholds()
) -> Decision:
    """A known source link first (O2); then every candidate by its score: link, review (O5,
    never a guess between people), or create (O3)."""
    ranked = sorted(_own_phone(identity, list(candidates)), key=lambda c: (-c.score, c.code))
    if linked_code:
        known = next((c for c in ranked if c.code == linked_code), None)
        if known is not None and _another_cardholder(identity, known):
            # The card's other holder by this given name: the customer a CSR made of an
            # earlier sale on it (their decision teaches the index, O5), or the one at the
            # order's mobile under this name (their own sales without the card).
            sharers = [
                c
                for c in ranked
                if c.code != linked_code
                and (c.agrees("source") or c.agrees("household", *MOBILE_KEYS))
                and c.agrees("first_name", "exact")
                and not c.agrees_not("last_name")
            ]
            # Unless the order's mobile is someone else's, under another given name: the till
            # wrote the card's name for whoever held it, and the phone says who did.
            someone_else_s_mobile = any(
                c.code != linked_code and c.agrees("household", *MOBILE_KEYS) and c not in sharers for c in ranked
            )
            if len(sharers) == 1 and not someone_else_s_mobile:
                return Decision("link", "source_customer_id", sharers[0].code, tuple(ranked[:5]), sharers[0].score)
            return Decision("review", "source_customer_id", candidates=tuple(ranked[:5]), score=known.score)
        if known is not None and (holders := _mailbox_of_another(known, ranked)):
            return Decision("review", "source_customer_id", candidates=(known, *holders[:4]), score=known.score)
        duplicates = _one_person(
            [
                c
                for c in ranked
                if known is not None and c.code != linked_code and _duplicate_of(known, c, thresholds, identity)
            ]
        )
        return Decision("link", "source_customer_id", linked_code, tuple(ranked[:5]), duplicates=duplicates)
    taught = [c for c in ranked if c.agrees("csr")]
    if len(taught) == 1 and not taught[0].agrees_not("email") and not taught[0].agrees_not("source"):
        # A CSR tied an order with exactly these details to this customer (O5).
        return Decision("link", "review", taught[0].code, tuple(ranked[:5]), taught[0].score)
    if not identity.has_person_identifier and not _names_a_person(identity):
        held = _cannot_tell(identity, ranked)
        if held is not None:
            return held
    if not ranked or ranked[0].score < thresholds.review:
        holders = [c for c in ranked if c.agrees("email") or c.agrees("source")]
        if holders:
            # Everything else says another person, yet the email or source id is theirs: a
            # second customer with it would be a guess too (and a registered email is taken).
            return Decision("review", holders[0].rule, candidates=tuple(holders[:5]), score=holders[0].score)
        return Decision("anonymous") if identity.anonymous else Decision("create", candidates=tuple(ranked[:5]))
    best = ranked[0]
    contenders = [c for c in ranked if c.score >= thresholds.review]
    if best.score >= thresholds.link and best.tells_the_person:
        duplicates = _one_person([c for c in contenders[1:] if _duplicate_of(best, c, thresholds, identity)])
        # A rival is another person the order fits as well: one that only shares a postal
        # code and a name is no match for the household and given name that chose ``best``.
        rivals = [
            c
            for c in contenders[1:]
            if c.score > best.score - thresholds.margin
            and c.tells_the_person
            and c.code not in duplicates
            and not _same_person_evidence(best, c)
            and not _phone_tells(best, c)
        ]
        # Someone else holds the order's mailbox or account, and it is not best's: two
        # identifiers of people point two ways (a family's shared mailbox, a borrowed phone).
        elsewhere = [
            c
            for c in ranked
            if c is not best
            and c.code not in duplicates
            and any(c.agrees(kind) and not best.agrees(kind) for kind in ("email", "source"))
        ]
        if not rivals and not elsewhere:
            return Decision("link", best.rule, best.code, tuple(contenders[:5]), best.score, duplicates)
    holders = [c for c in ranked if c.agrees("email") or c.agrees("source")]
    if not holders and (
        identity.has_person_identifier
        or (_names_a_person(identity) and not any(c.agrees("household", *HOUSEHOLD_KEYS) for c in contenders))
    ):
        # The order tells its person (an email or account nobody has shown; a given name at a
        # phone and street no candidate has), and no candidate is sure enough to be them: a
        # new customer, not a CSR's guess (a later order that shows both to be one person
        # merges them).
        return Decision("create", candidates=tuple(contenders[:5]))
    # The CSR also sees whoever holds the order's email or source id, however low it scored.
    holders = [c for c in holders if c not in contenders]
    return Decision("review", best.rule, candidates=tuple(contenders[:5] + holders[:3]), score=best.score)


def housemate_keys(decision: Decision) -> list[str]:
    """The index keys of the household an order was linked to by its landline or street and
    its given name alone (no mailbox, account or mobile of one person): every street and
    phone the customer has shown. A namesake living there is found by them (``housemates``)."""
    best = _household_link(decision)
    if best is None or best.profile is None:
        return []
    return sorted(
        {f"ad:{postal}|{street}" for postal, street in best.profile.streets} | {f"ph:{p}" for p in best.profile.phones}
    )


def housemates(identity: Identity, decision: Decision, neighbours: Iterable[Profile]) -> Decision:
    """O5: a link by a household's landline or street and a given name is a guess when another
    customer of that household (one of ``neighbours``, found by ``housemate_keys``) has the
    order's whole name and is not a record of the same person (``compatible``): a father and
    his namesake son. A CSR decides between them."""
    best = _household_link(decision)
    if best is None or best.profile is None:
        return decision
    namesakes = [
        score(identity, other)
        for other in neighbours
        if other.code != best.code
        and any(compare_names(identity.first_key, identity.last_key, f, l).score >= 4 for f, l in other.names)
        and not compatible(best.profile, other)
    ]
    if not namesakes:
        return decision
    candidates = (best, *sorted(namesakes, key=lambda c: (-c.score, c.code))[:4])
    return Decision("review", best.rule, candidates=candidates, score=best.score)


def _another_cardholder(identity: Identity, known: Scored) -> bool:
    """A sale in a store on a customer's card in another member's hands, unless the order's
    mailbox is the holder's: under another given name, in Latin letters as theirs are (a name
    in kanji is no other name); or under the holder's own name from a mobile of someone else
    (the holder has shown a mobile, not this one): a namesake of the family sharing the card,
    father and son (on an independent stream, 2 of 5 false merges; a holder's new number
    waits for a CSR once, and the next sale at it links)."""
    other_mobile = (
        identity.phone is not None
        and is_mobile(identity.phone)
        and known.profile is not None
        and not _on_a_line_of(identity.phone, known.profile.phones)
        and any(is_mobile(phone) for phone in known.profile.phones)
    )
    another_name = written_in_latin(identity.first_name or "") and known.agrees_not("first_name")
    return identity.in_store and (another_name or other_mobile) and not known.agrees("email")


def _mailbox_of_another(known: Scored, ranked: list[Scored]) -> list[Scored]:
    """Customers other than the source id's that hold the order's mailbox, which the source
    id's customer has not shown, and whose given names are all others than its own
    (``_other_given_names``): two identifiers of people point two ways. A family's loyalty
    card at the till, its holder's name printed on the receipt, with a sister's own email
    typed for the receipt: the card says Emily, the mailbox Victoria. (A record of the same
    person under the mailbox, a given name of theirs or none, is no other person: the order
    merges it as a duplicate.)"""
    if known.agrees("email") or known.profile is None:
        return []
    return [
        c
        for c in ranked
        if c is not known
        and c.agrees("email")
        and c.profile is not None
        and _other_given_names(known.profile, c.profile)
    ]


def _other_given_names(a: Profile, b: Profile) -> bool:
    """Both records show given names, in Latin letters as written, and none of one is any of
    the other's (no initial, spelling or middle name of it): two people."""
    pairs = [(f, l, g, m) for f, l in a.names if f for g, m in b.names if g]
    return (
        bool(pairs)
        and not (a.scripted_names or b.scripted_names)
        and all(compare_names(f, l, g, m).first == "different" for f, l, g, m in pairs)
    )


def _household_link(decision: Decision) -> Scored | None:
    """The customer a link chose by a landline or street with the name, nothing of one person."""
    if decision.kind != "link" or decision.rule not in ("phone_name_postal", "name_address"):
        return None
    best = next((c for c in decision.candidates if c.code == decision.customer_code), None)
    if best is None or best.agrees("household", *MOBILE_KEYS):
        return None
    return best


def _one_person(duplicates: list[Scored]) -> tuple[str, ...]:
    """The duplicates an order shows that could all be one person's: two that contradict each
    other (two mailboxes, two accounts of one shop: namesakes of one household, each fitting
    the order's landline and street) are both left out, for a later order to tell."""
    torn = {
        a.code
        for a in duplicates
        for b in duplicates
        if a is not b and a.profile is not None and b.profile is not None and not compatible(a.profile, b.profile)
    }
    return tuple(c.code for c in duplicates if c.code not in torn)


def _duplicate_of(best: Scored, other: Scored, thresholds: Thresholds, identity: Identity | None = None) -> bool:
    """``other`` is a second record of the person ``best`` is: the order tells the person of
    each (an email or source id, or the same given name at the household's phone or street:
    one person's mobile on a POS sale and address on a web order), nothing of the order says
    another account or name of either, and the two records, ``best`` with this order, do not
    contradict each other (compatible())."""
    if other.score < thresholds.link or not (best.tells_the_person and other.tells_the_person):
        return False
    if any(
        e.level == "different"
        for c in (best, other)
        for e in c.evidence
        if e.comparison in ("source", "first_name", "last_name")
    ):
        return False
    if not (
        other.agrees("email")
        or other.agrees("source")
        or other.agrees("household", *MOBILE_KEYS)
        or other.agrees("first_name", "exact")
    ):
        # Only a household's landline or street and a given name one middle name away (Jean
        # Richard beside Jean-Pierre's order): enough to link an order, not to merge a record.
        return False
    if best.profile is None or other.profile is None:
        return not any(e.comparison == "email" and e.level == "different" for c in (best, other) for e in c.evidence)
    if compatible(best.profile, other.profile, identity):
        return True
    # The order ties ``best``'s landline to ``other``'s street (a till sale at the number, a
    # web order's address), and ``other`` shows another landline there: one home's line and
    # its new number, not two namesakes, who each show a mobile of their own. So the order
    # may be read as ``other``'s with ``best``'s line (on a Faker-built stream, seeds 1-3: recall
    # in scope +0.002, +0.001, +0.004, no false merge; other streams unchanged). Not at a
    # number whose plan does not say it is a fixed line (Jeff and Jonathan at US numbers).
    lines = best.profile.phones | other.profile.phones | ({identity.phone} if identity and identity.phone else set())
    return all(is_landline(phone) for phone in lines) and compatible(other.profile, best.profile, identity)


def compatible(a: Profile, b: Profile, order: Identity | None = None) -> bool:
    """Two customers' records (``a`` with ``order``, about to be linked to it) could be one
    person's, split before an order tied them: a shared name; no account in common where both
    have one in a source system; no phone in common where both have one; no mailbox in common
    where both have one, unless they share a mobile (one person's phone: someone with a new
    mailbox; namesakes of one household each have their own mobile and share the landline)
    or the same phones, all of one line, under one given name.
    Two records without any mailbox or account that share a landline or a street are
    namesakes kept apart (their orders would have met on that key), not a split."""
    a_phones = a.phones | ({order.phone} if order and order.phone else set())
    # A family's mailbox ('thejacksons14@') is no person's: one person's two records, one with
    # it and one with their own, are no two people for it (every later order of Jason Jackson
    # at his number waited for a CSR between them).
    names = a.names | b.names
    a_emails = _own_mailboxes(a.emails | ({order.email_canon} if order and order.email_canon else set()), names)
    b_emails = _own_mailboxes(b.emails, names)
    # A shared mobile says one person only under one given name (40 buyers of a test shop
    # typed the shop's mobile; a family shares a parent's).
    same_given = any(compare_names(f, l, g, m).first == "exact" for f, l in a.names for g, m in b.names)
    shared = _shared_lines(a_phones, b.phones)
    shared_mobile = same_given and any(is_mobile(p) for p in shared)
    if a_phones and b.phones and not shared:
        return False
    # Nor does a landline under one given name that is the only phone either record has
    # shown: namesakes of a household each show a mobile of their own beside it (Nathalie
    # Delaot and her daughter; Lucía Quintillas García and hers), one person with a new
    # mailbox shows the same phone (on a Faker-built stream each later till sale at the line
    # waited for a CSR between one frequent shopper's two records: seed 1, needless reviews
    # 98 -> 69 of 639 -> 610, recall in scope 0.821 -> 0.836; no stream lost precision).
    one_line = same_given and bool(shared) and shared == a_phones and _shared_lines(b.phones, a_phones) == b.phones
    if (
        a_emails
        and b_emails
        and not a_emails & b_emails
        and not shared_mobile
        and not (one_line and not any(_names_another_member(e, names) for e in a_emails | b_emails))
    ):
        return False
    systems = {s.split("|", 1)[0] for s in a.sources} & {s.split("|", 1)[0] for s in b.sources}
    if any(not {s for s in a.sources if s.startswith(f"{system}|")} & b.sources for system in systems):
        return False
    anonymous = not (a_emails or b_emails or a.sources or b.sources)
    if anonymous and not shared_mobile and (_shared_lines(a.phones, b.phones) or a.streets & b.streets):
        return False
    if _bare(a) and _bare(b) and a.postals & b.postals:
        return False  # two cash sales' names in one postal code, kept apart when they met: namesakes
    return any(compare_names(f, l, g, m).score >= 3 for f, l in a.names for g, m in b.names)


#: Words a family's mailbox adds to its surname ('thejacksons14', 'familia.amador',
#: 'woodfield.home', 'smithfamily'), in the scopes' languages.
_FAMILY_WORDS = frozenset(
    {"the", "family", "familie", "familia", "famille", "fam", "home", "haus", "house", "casa", "maison"}
)
_FAMILY_WORD = f"(?:{'|'.join(sorted(_FAMILY_WORDS))})"


def _a_family_s_mailbox(email: str, names: set[tuple[str | None, str | None]]) -> bool:
    """``email`` is a family's: its local part is a surname of ``names`` (or its plural) and
    only words a family's mailbox adds, digits aside (no other word nor initial:
    'robert.thornson' is Robert's, 'shoffmann' Stefan's). Stricter than ``_family_mailbox``,
    which an order under another given name at the mailbox also tells."""
    if is_relay_email(email):
        return False
    local = re.sub(r"[^a-z._-]+", "", email.split("@", 1)[0])
    surnames = {word for _, last in names if last for word in last.split() if len(word) >= 3}
    return any(
        re.sub(r"[._-]", "", local) != word
        and re.fullmatch(rf"(?:{_FAMILY_WORD}[._-]?)*{re.escape(word)}s?(?:[._-]?{_FAMILY_WORD})*", local) is not None
        for word in surnames
    )


def _names_another_member(email: str, names: set[tuple[str | None, str | None]]) -> bool:
    """``email``'s local part has a surname of ``names`` beside another word that is none of
    their given names ('robert.thornson' on James Thornson's record): another member's
    mailbox, which says someone else of the household."""
    words = set(_mailbox_words(email))
    surnames = {word for _, last in names if last for word in last.split()}
    given = {word for first, _ in names if first for word in first.split()}
    others = words - surnames - given - _FAMILY_WORDS
    return bool(words & surnames) and any(len(word) >= 3 and not word.isdigit() for word in others)


def _own_mailboxes(emails: set[str], names: set[tuple[str | None, str | None]]) -> set[str]:
    """Those of ``emails`` that are one person's: no marketplace relay alias, no family's."""
    return {email for email in _personal(emails) if not _a_family_s_mailbox(email, names)}


def _personal(emails: set[str]) -> set[str]:
    return {e for e in emails if not is_relay_email(e)}


def _names_a_person(identity: Identity) -> bool:
    """A full given name beside a phone or a street: enough to tell one household member
    from another. (Without it, or with only a name and a postal code, it is not.)"""
    return bool(identity.first_key and len(identity.first_key) > 1 and (identity.phone or identity.street_key))


def _cannot_tell(identity: Identity, ranked: list[Scored]) -> Decision | None:
    """O5 for an order that cannot tell one person from another: a name and a postal code
    only (every namesake there fits), or a household's phone (a landline) or street without a
    given name (every member fits, known or not yet). When a candidate fits, a CSR decides."""
    fits = [c for c in ranked if c.agrees("household") and c.agrees("last_name") and not c.agrees_not("first_name")]
    if not fits or any(c.agrees("household", *MOBILE_KEYS) for c in fits):
        return None  # nobody fits, or the order's mobile is someone's: one person's phone
    at_home = [c for c in fits if c.agrees("household", *HOUSEHOLD_KEYS)]
    if identity.first_key and len(at_home) == 1 and at_home[0].own_phone:
        # An initial at a number only this customer has shown (``_own_phone``); others who
        # fit only by the postal code are namesakes of the town, not of the home.
        return None
    return Decision("review", fits[0].rule, candidates=tuple(fits[:5]), score=fits[0].score)


def _own_phone(identity: Identity, candidates: list[Scored]) -> list[Scored]:
    """The order's phone is a number whose plan does not tell a mobile from a landline (US and
    Canada), and the one candidate at the order's phone and street is alone there: nobody
    else at that phone or street. As far as anyone knows it is that customer's own phone, not
    a household's: it weighs as a mobile (``OWN_PHONE``, shown as evidence), and
    ``tells_the_person`` takes a middle name on one side, a spelling or transliteration
    (Aleksei, Alexey) or an initial of the given name as that person's, as at a mobile
    (Elizabeth Ann, E. at Elizabeth's number). Measured on the simulated stream, seeds 11-13
    at 10,000 orders: such reviews were the person's 12 times in 12; on the independent
    stream, 47 of 49 reviews of an initial there listed only the person's own record. Not an
    order without a given name: that one fits every member of a household whose other
    members have not ordered yet (it turned a sister's order into her brother's customer),
    and it stays a CSR's. Nor a customer whose given name is not the order's: the number is
    then two people's. A customer who has shown other numbers too keeps the reading for
    their own given name or an initial of it (a frequent shopper's 'M. Holowfield' at her
    own number waited for a CSR each time once her record had learned the family's line:
    independent stream seed 7, recall in scope 0.925 -> 0.931, needless reviews 79 -> 73,
    no false merge)."""
    if not identity.phone or not is_mobile_or_landline(identity.phone):
        return candidates
    at_home = [c for c in candidates if c.agrees("household", *HOUSEHOLD_KEYS)]
    if len(at_home) != 1 or not at_home[0].agrees("household", *PHONE_KEYS):
        return candidates
    alone = at_home[0]
    if alone.agrees_not("first_name") or alone.profile is None or not alone.profile.phones:
        return candidates
    if not all(same_line(identity.phone, p) for p in alone.profile.phones) and not alone.agrees(
        "first_name", "exact", "initial"
    ):
        # Beside another number of theirs the order's may be the family's line: a name one
        # spelling away may be a sister's (Liz at Lisa's home number), one with a middle name
        # a daughter's named after her mother, a first given name on a record that had none
        # any member's.
        return candidates
    evidence = [Evidence(OWN_PHONE.comparison, OWN_PHONE.name, OWN_PHONE.weight, identity.phone)]
    if identity.first_key and not any(first for first, _ in alone.profile.names):
        evidence.append(Evidence(FIRST_GIVEN.comparison, FIRST_GIVEN.name, FIRST_GIVEN.weight, identity.first_key))
    owned = replace(alone, own_phone=True, score=alone.score + OWN_PHONE.weight, evidence=(*alone.evidence, *evidence))
    return [owned if c is alone else c for c in candidates]


def _phone_tells(best: Scored, other: Scored) -> bool:
    """The order's mobile is ``best``'s and not ``other``'s, who has phones of their own: two
    namesakes at one street (mother and daughter) each with a mobile, told apart by it. (A
    landline is the household's: a namesake at its street may answer it as well.) Not
    when ``other`` has the order's given name as it is and ``best`` only without a middle name
    (Jean at the landline, Jean-Pierre his son at the street: the order of Jean-Pierre is his)."""
    return (
        best.agrees("household", *MOBILE_KEYS)
        and other.agrees("household", "address_other_phone", "address_other_mobile")
        and not (other.agrees("first_name", "exact") and not best.agrees("first_name", "exact"))
    )


def _same_person_evidence(best: Scored, other: Scored) -> bool:
    """Both candidates share the order's email or source id and neither's name says someone
    else: two records of one person (an earlier split), not two people: the better one takes
    the order. (Two people behind one mailbox, each with a name of their own, stay a CSR's.)"""
    shared = (best.agrees("email") and other.agrees("email")) or (best.agrees("source") and other.agrees("source"))
    return shared and not any(
        e.comparison in ("first_name", "last_name") and e.level == "different"
        for c in (best, other)
        for e in c.evidence
    )
