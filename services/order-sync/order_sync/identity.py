"""What an order says of its customer (O1, O2), read as people, tills and exports write it:
the **identity** that matching compares with customers' profiles, free of I/O.

Each field is read into its canonical form (``keys``): the email with a provider-aware
mailbox, the phone in E.164, the names as transliterated tokens, the postal code per country
and the street as house number and distinctive word. What a checkout or a till wraps around a
value (a display name, a 'mailto:', two numbers in one box, a town beside a postal code, a
whole name in one field) is read with a note on the order; what is no one's (a placeholder
name or mailbox, a phone no plan assigns) is set aside with a note, never refusing the order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from anyascii import anyascii

from contracts.upstream.cards import mask_card_numbers
from contracts.upstream.orders import Order, PostalAddress
from plumbing.normalize import InvalidValue, normalize_email

from .keys import (
    CREDENTIALS,
    CUSTOMARY_SURNAMES,
    GENERATION_SUFFIXES,
    PROVIDER_DOMAINS,
    TITLES,
    TITLES_BEFORE_A_NAME,
    canonical_email,
    first_name_key,
    has_extension,
    is_placeholder_number,
    is_relay_email,
    last_name_key,
    meant_mailboxes,
    name_key,
    name_script,
    name_tokens,
    phone_key,
    phone_line,
    postal_key,
    without_honorific,
)

#: The rule a link was made by: the strongest identifier that agreed, or how it was decided.
Rule = Literal[
    "source_customer_id", "email", "phone_name_postal", "name_address", "name_postal", "score", "review", "created"
]


@dataclass(frozen=True)
class Identity:
    scope_id: str
    source_system: str
    source_customer_id: str | None
    email: str | None  # as normalized by email-validator: what an email is sent to
    email_canon: str | None  # provider-aware: one per mailbox (keys.canonical_email)
    phone: str | None  # E.164
    first_name: str | None
    last_name: str | None
    first_key: str | None
    last_key: str | None
    postal_key: str | None
    street_key: str | None
    #: What was unusable and set aside, e.g. an email that is not an address.
    notes: tuple[str, ...] = ()
    #: Sold in a store (a till sale, or a pick-up there): its source id is a loyalty card,
    #: which a family may share, and its name is the shopper's, never a gift's recipient's.
    in_store: bool = False

    @property
    def source_link(self) -> str | None:
        return f"{self.source_system}|{self.source_customer_id}" if self.source_customer_id else None

    @property
    def name_key(self) -> str | None:
        return name_key(self.first_key, self.last_key)

    @property
    def name_script(self) -> str | None:
        """The name is written in a script its Latin spellings cannot be told from
        (keys.name_script): Arabic, Hebrew, Hangul, Greek, Japanese..."""
        return name_script(f"{self.first_name or ''} {self.last_name or ''}")

    @property
    def anonymous(self) -> bool:
        return not (self.email_canon or self.phone or self.source_customer_id or self.last_key or self.first_key)

    @property
    def has_person_identifier(self) -> bool:
        """An email or a source customer id: identifiers of one person, not of a household."""
        return bool(self.email_canon or self.source_customer_id)

    def blocking_keys(self) -> list[str]:
        """Every identifier a candidate may share with this order (O2: not only the first rule
        that applies). Scoped by the caller."""
        keys = []
        if self.source_link:
            keys.append(f"src:{self.source_link}")
        if self.email_canon:
            keys.append(f"em:{self.email_canon}")
            keys.extend(f"em:{meant}" for meant in meant_mailboxes(self.email_canon))
        if self.phone:
            keys.append(f"ph:{self.phone}")
            if has_extension(self.phone):
                keys.append(f"ph:{phone_line(self.phone)}")  # the line without it (keys.same_line)
        if self.postal_key:
            if self.name_key:
                keys.append(f"np:{self.name_key}|{self.postal_key}")
            if self.last_key:
                keys.append(f"lp:{surname_block(self.last_key)}|{self.postal_key}")
            if self.street_key:
                keys.append(f"ad:{self.postal_key}|{self.street_key}")
        if self.email_canon and self.first_key and self.last_key and self.name_key:
            # The whole name alone, scope-wide: a mailbox typed with a slip ('wldfox400@' for
            # 'wildfox400@') on an order that shows nothing else of its buyer finds them by it.
            keys.append(f"nm:{self.name_key}")
        if (sig := self.signature()) is not None:
            keys.append(f"sig:{sig}")
        return keys

    @property
    def person_ids(self) -> frozenset[str]:
        """The identifiers of one person the order shows: its mailbox (a marketplace's relay
        alias aside) and its account in the source system."""
        ids = {f"src:{self.source_link}"} if self.source_link else set()
        if self.email_canon and not is_relay_email(self.email_canon):
            ids.add(f"em:{self.email_canon}")
        return frozenset(ids)

    def claim_keys(self) -> list[tuple[str, Rule]]:
        """The identifiers that make two new customers one (O6), strongest first, with the
        rule a twin order found through each: a source customer id, an email, a phone with
        the full name, a street with the full name; without any of these, the full name with a
        postal code. Two orders sharing one would link if one were stored before the other
        (``decide``), so they make one customer; their emails may differ as a changed one does.)"""
        keys: list[tuple[str, Rule]] = []
        if self.source_link:
            keys.append((f"src:{self.source_link}", "source_customer_id"))
        if self.email_canon:
            keys.append((f"em:{self.email_canon}", "email"))
        # The whole name, in any order: 'Jean Pierre' and 'Jean Paul' at one phone are brothers.
        person = self.name_key if self.first_key and self.last_key else None
        if self.phone and person:
            keys.append((f"pn:{self.phone}|{person}", "phone_name_postal"))
        if self.street_key and person:
            keys.append((f"na:{person}|{self.postal_key}|{self.street_key}", "name_address"))
        if not keys and self.postal_key and self.name_key:
            keys.append((f"np:{self.name_key}|{self.postal_key}", "name_postal"))
        return keys

    def signature(self) -> str | None:
        """All the order says of its customer, in one digest: a CSR's decision on one order
        (O5) is taught to the index under it, so the same person's next identical order links."""
        parts = (self.email_canon, self.phone, self.name_key, self.postal_key, self.street_key)
        if sum(1 for p in parts if p) < 2:
            return None
        return hashlib.blake2b("\x1f".join(p or "" for p in parts).encode(), digest_size=12).hexdigest()

    def learned(self) -> dict[str, list[Any]]:
        """What a customer's profile learns from an order linked to it (store.learn)."""
        return {
            "emails": [self.email_canon] if self.email_canon else [],
            "phones": [self.phone] if self.phone else [],
            "names": [[self.first_key, self.last_key]] if (self.first_key or self.last_key) else [],
            "scripted_names": [[self.first_key, self.last_key]]
            if (self.first_key or self.last_key) and self.name_script
            else [],
            "postals": [self.postal_key] if self.postal_key else [],
            "streets": [[self.postal_key, self.street_key]] if self.postal_key and self.street_key else [],
            "sources": [self.source_link] if self.source_link else [],
        }


def _address(order: Order) -> PostalAddress | None:
    """The buyer's address: billing first (a shipping address may be a gift's recipient)."""
    return order.billing_address or order.shipping_address


_WRAPPING = " \"'“”‘’«»<>()[]"


def _unwrapped(text: str) -> str:
    """An address without a 'mailto:' (and a link's '?subject=...'), quotes or brackets
    around it, or punctuation after it: '<mailto:ann@example.com>' is ann@example.com."""
    bare = text.strip(_WRAPPING)
    if bare[:7].casefold() == "mailto:":
        bare = bare[7:].split("?", 1)[0]
    return bare.strip(_WRAPPING).rstrip(".,;:")


def _email_readings(raw: str) -> Iterator[tuple[str, str]]:
    """What a field that is no address as typed may hold, as exports and tills write one: a
    'mailto:', quotes or a stray full stop around it, a dot typed twice, several addresses
    (the first is the buyer's), a space typed inside ('anna. sokolova@gmail.com': no address
    has one), '(at)' and '(dot)' spelled out, a comment beside it ('ann@example.com (work)'),
    a comma for a dot in its domain ('ann@gmail,com'), a provider's domain without its dot
    ('ann@gmailcom')."""
    text = raw.strip()
    if labelled := _LABEL.match(text):
        text = text[labelled.end() :]  # 'E-Mail: ann@example.com', as a form's export writes it
        yield "the label before it removed", _unwrapped(text)
    unwrapped = _unwrapped(text)
    yield "mailto, quotes or trailing punctuation removed", unwrapped
    yield "a dot typed twice", re.sub(r"\.{2,}", ".", unwrapped)  # 'k..becker@': no address has '..'
    if "@@" in text:
        yield "an @ typed twice", re.sub(r"@{2,}", "@", unwrapped)
        return
    if text.count("@") > 1:
        first = next(part for part in re.split(r"[\s,;/]+", text) if "@" in part)
        yield "the first of several addresses", _unwrapped(first)
        return
    yield "spaces removed", "".join(text.split())
    if "@" not in text:
        # 'ann (at) example (dot) com', as people write an address to keep it from robots.
        spelled = re.sub(r"(?i)\s*[(\[]\s*dot\s*[)\]]\s*", ".", re.sub(r"(?i)\s*[(\[]\s*at\s*[)\]]\s*", "@", text))
        yield "'at' and 'dot' spelled out", _unwrapped(spelled)
    uncommented = _unwrapped(re.sub(r"\s*[(\[][^)\]]*[)\]]\s*", " ", text).strip())
    yield "a comment beside it removed", uncommented
    local, at, domain = uncommented.rpartition("@")
    if at and "," in domain and not re.search(r"\s", domain):
        yield "a comma typed for a dot", f"{local}@{domain.replace(',', '.')}"
    if at and "." not in domain and (provider := _PROVIDERS_RUN_TOGETHER.get(domain.casefold())):
        yield "the dot of its provider's domain put back", f"{local}@{provider}"


#: A field's name typed before the address ('E-Mail:', 'Email :', 'Courriel:', 'Correo:').
_LABEL = re.compile(r"(?i)^(?:e-?mail|mail|courriel|correo|correo electr[oó]nico|posta|e-?post)\s*:\s*")


#: A provider's domain written without its dots ('gmailcom', 'hotmailcouk'): the domain.
_PROVIDERS_RUN_TOGETHER = {domain.replace(".", ""): domain for domain in PROVIDER_DOMAINS}


#: Local parts a till or a checkout types where the buyer gave no email ('noemail@shop.com',
#: 'none@none.com', 'no-reply@...'): every stranger's, so no one's mailbox. Not 'guest@' or
#: 'test@': platforms' sample orders give their buyer such an address, and so may a shop's
#: own test orders, of one person.
_NO_MAILBOX = frozenset(
    {"noemail", "nomail", "none", "null", "na", "noreply", "donotreply", "unknown", "xxx", "no"}
    | {"noemailaddress", "noaddress", "notprovided", "notgiven", "declined", "refused", "optout"}
    | {"sinemail", "sincorreo", "pasdemail", "aucun", "aucune", "keineemail", "keinemail", "kein", "keine"}
)


def _placeholder_mailbox(email: str) -> bool:
    """What a till or an export types for a buyer who gave no email: a word for 'none' as the
    mailbox or the domain ('no@email.com', 'keine@angabe.de', 'x@nomail.com'), the mailbox
    named after its own domain ('test@test.com', 'a@a.com', 'email@email.com'), a letter at a
    domain of two letters or fewer ('x@x.x'). (Reserved domains, 'shop.invalid', are refused
    by email-validator before.)"""
    local, _, domain = email.casefold().rpartition("@")
    local = re.sub(r"[._\-+]", "", local)
    label = domain.split(".", 1)[0].replace("-", "")
    return local in _NO_MAILBOX or label in _NO_MAILBOX or local == label or (len(local) == 1 and len(label) <= 2)


def _email(raw: str, notes: list[str]) -> str | None:
    """The order's email, normalized, or None if unusable or a placeholder (``_placeholder_mailbox``)."""
    email = _email_read(raw, notes)
    if email is not None and _placeholder_mailbox(email):
        notes.append(f"email {raw!r} ignored: a placeholder, no one's mailbox")
        return None
    return email


def _email_read(raw: str, notes: list[str]) -> str | None:
    """The order's email, normalized; one beside a display name ('Ann Lee <ann@example.com>',
    read by email-validator) or wrapped as ``_email_readings`` lists is read with a note, so
    the mailbox still tells its person. None if unusable."""
    try:
        return normalize_email(raw)
    except InvalidValue as exc:
        try:
            email = normalize_email(raw, allow_display_name=True)
        except InvalidValue:
            pass
        else:
            notes.append(f"email {raw!r} read as {email!r}: the name beside it left out")
            return email
        for how, reading in _email_readings(raw):
            if not reading or reading == raw.strip():
                continue
            try:
                email = normalize_email(reading)
            except InvalidValue:
                continue
            notes.append(f"email {raw!r} read as {email!r}: {how}")
            return email
        notes.append(f"email {raw!r} ignored: {exc}")
        return None


def identity_of(order: Order, scope_country: str | None) -> Identity:
    notes: list[str] = list(getattr(order, "set_aside", ()))
    email = _email(order.email, notes) if order.email else None
    address = _address(order)
    country = (address.country if address else None) or scope_country
    phone = None
    tried: set[str] = set()  # the same number on the order and its address is noted once
    for raw in (
        order.phone,
        address.phone if address else None,
        order.shipping_address.phone if order.shipping_address else None,
    ):
        if raw and phone is None and raw not in tried:
            tried.add(raw)
            phone = phone_key(raw, country)
            if phone is None:
                notes.append(f"phone {raw!r} ignored: not a phone number in {country or 'any country'}")
            elif is_placeholder_number(phone):
                notes.append(f"phone {raw!r} ignored: no number its country assigns (a placeholder?)")
                phone = None
    # A name missing from the order, or a placeholder there ('Guest'), is the address's.
    first, last = _without_placeholders(order.first_name, order.last_name, notes)
    first, last = _name_in_two_fields(
        first or (address.first_name if address else None), last or (address.last_name if address else None), notes
    )
    # A POS sale may carry a postal code without a street line: it still counts (an address
    # without its street is no address for the book, but it is evidence).
    postal_source = next((a for a in (order.billing_address, order.shipping_address) if a and a.postal_code), None)
    postal = postal_key(postal_source.postal_code, postal_source.country or scope_country) if postal_source else None
    street = lines_street_key(postal_source.line1, postal_source.line2) if postal_source else None
    return Identity(
        scope_id=order.scope,
        source_system=order.source_system,
        source_customer_id=order.source_customer_id,
        email=email,
        email_canon=canonical_email(email) if email else None,
        phone=phone,
        first_name=first,
        last_name=last,
        first_key=first_name_key(first) if first else None,
        last_key=last_name_key(last) if last else None,
        postal_key=postal,
        street_key=street if postal else None,
        # A note quotes what the order said; a phone field is not refused for looking like a
        # card number (phones pass the Luhn check too), so its note is masked (C7, O1).
        notes=tuple(mask_card_numbers(note) for note in notes),
        in_store=order.store_id is not None,
    )


#: What a till or a checkout writes where it has no name: never anyone's name.
_NO_NAME = re.compile(
    r"n/a|n\.a\.?|none|null|unknown|unbekannt|inconnu|desconocido|anonymous|anonym|no ?name|sin nombre"
    r"|x{2,}|[?.\-_*]+|walk[- ]?in( customer| client)?|(cash|pos|guest|store) (customer|client|sale)"
    # a script's empty value, keys typed to get past a form, a number where a name goes
    r"|undefined|asdf\w*|qwerty\w*|[\d\s#/-]+",
    re.IGNORECASE,
)
#: Words that are a name's placeholder only when nothing else of the name is given ('Guest
#: Guest', 'Guest User', 'Customer', 'Amazon Customer', 'Client de passage', 'Cliente de
#: mostrador', 'Laufkunde'): Guest and Test are surnames too (Christopher Guest).
_NO_NAME_ALONE = frozenset(
    {"guest", "customer", "client", "cliente", "kunde", "test", "cash", "store", "pos", "amazon", "ebay", "user"}
    | {"gast", "invité", "invite", "visitor", "besucher", "utilisateur", "benutzer", "usuario"}
    | {"laufkunde", "barkunde", "barverkauf", "privatkunde", "endkunde", "passage", "comptoir"}
    | {"contado", "mostrador"}
)
#: Small words between them ('Client de passage'), no placeholder alone ('De' is a surname).
_LINKING_WORDS = frozenset({"de", "du", "of"})


def _without_placeholders(first: str | None, last: str | None, notes: list[str]) -> tuple[str | None, str | None]:
    named = []
    for value in (first, last):
        text = (value or "").strip()
        if text and _NO_NAME.fullmatch(text):
            notes.append(f"name {value!r} ignored: a placeholder, no one's name")
            text = ""
        named.append(text or None)
    words = {w.casefold() for value in named if value for w in value.split()} - _LINKING_WORDS
    whole = " ".join(w.casefold() for value in named if value for w in value.split())
    if (words and words <= _NO_NAME_ALONE) or whole in _SAMPLE_PERSONS:
        notes.append(f"name {' '.join(v for v in named if v)!r} ignored: a placeholder, no one's name")
        return None, None
    return named[0], named[1]


#: The names forms and manuals give a sample person, which tills and test orders type for
#: anyone: in the languages of the scopes ('Max Mustermann', 'Joe Bloggs', 'Fulano de Tal').
_SAMPLE_PERSONS = frozenset(
    {"john doe", "jane doe", "max mustermann", "erika mustermann", "otto normalverbraucher", "joe bloggs"}
    | {"fulano de tal", "mengano de tal"}
)


def _whole_name(text: str) -> bool:
    """Whether a name is a whole one: several words, or a Chinese or Korean name run together."""
    return len(text.split()) > 1 or _east_asian_surname_length(without_honorific(text)) is not None


def _name_in_two_fields(first: str | None, last: str | None, notes: list[str]) -> tuple[str | None, str | None]:
    """A whole name typed into one field, as tills and marketplaces send it: 'Smith, John' in
    either field is surname, given name; several words in the first-name field and none in
    the other are given names and a surname ('John Smith'). A surname written in capitals
    beside given names that are not, in either field alone, is the surname wherever it
    stands ('WANG Wei', 'DUPONT Jean-Pierre', as Chinese, French and passport-style exports
    write it); a Chinese, Japanese or Korean name in its own script is surname first, with a
    space or without ('山田 太郎', '김민준'). One word alone, or a surname field alone without
    a comma or capitals ('Escar Palejo': two surnames, no given name), is kept. The same
    whole name in both fields is one name ('Hans Müller' / 'Hans Müller'). A placeholder
    ('N/A', 'Walk-in Customer', 'Guest Guest') is no name at all."""
    first, last = _without_placeholders(first, last, notes)
    if first and last and first.strip().casefold() == last.strip().casefold() and _whole_name(first):
        # A till that copies its one name box into both fields: one whole name, as in the first.
        notes.append(f"name {first!r} in both name fields read as one whole name")
        last = None
    for whole in (first, last):
        if whole and not (first and last) and whole.count(",") == 1:
            surname, given = (part.strip() for part in whole.split(","))
            if surname and given:
                notes.append(f"name {whole!r} read as surname, given name")
                return given, surname
    bare = without_honorific(first).strip() if first else ""
    if first and not last and (cut := _east_asian_surname_length(bare)):
        notes.append(f"name {first!r} in the first-name field read as surname and given name, the surname first")
        return bare[cut:], bare[:cut]
    if bool(first) != bool(last) and (read := _surname_in_capitals(written := first or last or "")):
        notes.append(f"name {written!r} read as given name and surname, the surname in capitals")
        return read
    if first and not last and (read := _east_asian_pair(bare)):
        notes.append(f"name {first!r} in the first-name field read as surname and given name, the surname first")
        return read
    if first and not last and len(words := first.split()) > 1:
        # The surname is the last word, with a generation or a degree after it ('John Smith Jr.').
        cut = len(words) - 1
        while cut > 1 and set(name_tokens(words[cut])) <= GENERATION_SUFFIXES | CREDENTIALS:
            cut -= 1
        notes.append(f"name {first!r} in the first-name field read as given name and surname")
        return " ".join(words[:cut]), " ".join(words[cut:])
    return first, last


#: Chinese surnames of two characters (the common compound ones): the rest is the given name.
_COMPOUND_SURNAMES = frozenset(
    "欧阳 歐陽 司马 司馬 诸葛 諸葛 上官 东方 東方 皇甫 令狐 慕容 夏侯 公孙 公孫 尉迟 尉遲 长孙 長孫 宇文 司徒 端木 单于 單于 万俟 萬俟".split()
)
_HAN_OR_HANGUL = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7a3々]{2,4}")


def _east_asian_surname_length(whole: str) -> int | None:
    """How many characters of a Chinese, Japanese (kanji) or Korean name written whole in the
    first-name field ('王伟', '王小明', '김민준', '山田太郎') are the surname, which comes first: a
    known surname of two or three (欧阳, 남궁, 山田, 佐々木), else one. None for anything else,
    and for a known surname alone ('高橋'). (The last-name field alone is a surname, as in
    Latin letters: '高橋' there is Takahashi, not Gao Qiao.)"""
    whole = whole.strip()
    if not _HAN_OR_HANGUL.fullmatch(whole) or whole in CUSTOMARY_SURNAMES or whole in _COMPOUND_SURNAMES:
        return None
    for length in (3, 2):
        if len(whole) > length and (whole[:length] in _COMPOUND_SURNAMES or whole[:length] in CUSTOMARY_SURNAMES):
            return length
    return 1


#: A word in Han, Kana or Hangul script; one in katakana alone, as foreigners' names are
#: written in Japan in their own order ('ジョン スミス': John Smith).
_EAST_ASIAN_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7a3々\uff66-\uff9f]+")
_KATAKANA_WORD = re.compile(r"[\u30a0-\u30ff\uff66-\uff9f]+")


def _east_asian_pair(whole: str) -> tuple[str, str] | None:
    """Given name and surname of a Chinese, Japanese or Korean name written in its own script
    with a space between them ('王 伟', '山田 太郎', '김 민준'): the surname first, as without
    the space. None for anything else, a name in katakana alone among it."""
    words = whole.split()
    if len(words) != 2 or not all(_EAST_ASIAN_WORD.fullmatch(word) for word in words):
        return None
    if all(_KATAKANA_WORD.fullmatch(word) for word in words):
        return None
    return words[1], words[0]


#: A word of two or three capitals that is initials run together ('JP Smith', 'AJ Smith'),
#: not a surname: no vowel (but Ng), or a vowel and a consonant that no two-letter Chinese
#: or Korean surname ends in (Li, Wu, Oh, An and Ng are surnames).
_INITIALS = re.compile(r"(?!ng$)[b-df-hj-np-tv-xz]{2,3}|[aeiouy][b-df-gj-mp-tv-xz]")


def _in_capitals(word: str) -> bool:
    """A word of a name written all in capitals ('WANG', 'MÜLLER', 'JEAN-PIERRE'): not an
    initial nor initials ('J.', 'JP'), nor a title, a generation or a degree ('DR.', 'III')."""
    tokens = name_tokens(word)
    return (
        word.isupper()
        and bool(tokens)
        and all(len(token) > 1 and not _INITIALS.fullmatch(token) for token in tokens)
        and not set(tokens) <= TITLES | GENERATION_SUFFIXES | CREDENTIALS
    )


def _only(word: str, kinds: frozenset[str]) -> bool:
    """Whether ``word`` is one of ``kinds`` (titles, generations), as its tokens say."""
    tokens = name_tokens(word)
    return bool(tokens) and set(tokens) <= kinds


def _surname_in_capitals(whole: str) -> tuple[str, str] | None:
    """Given name and surname of a whole name whose surname alone is written in capitals,
    before the given names or after them: 'WANG Wei' -> ('Wei', 'WANG'), 'DUPONT
    Jean-Pierre' -> ('Jean-Pierre', 'DUPONT'), 'Juan GARCÍA LÓPEZ' -> ('Juan', 'GARCÍA
    LÓPEZ'). A title before the name stays with the given name, a generation or a degree
    after it with the surname. None where no word is in capitals, where every word is ('JOHN
    SMITH' says nothing), or where capitals stand on both sides."""
    words = whole.split()
    start = 0
    while start < len(words) - 1 and _only(words[start], TITLES | TITLES_BEFORE_A_NAME):
        start += 1
    end = len(words)
    while end > start + 1 and _only(words[end - 1], GENERATION_SUFFIXES | CREDENTIALS):
        end -= 1
    core = words[start:end]
    capitals = [_in_capitals(word) for word in core]
    lead = next((i for i, caps in enumerate(capitals) if not caps), len(core))
    trail = next((i for i, caps in enumerate(reversed(capitals)) if not caps), len(core))
    if 0 < lead < len(core) and not any(capitals[lead:]):
        given, surname = core[lead:], core[:lead]
    elif 0 < trail < len(core) and not any(capitals[:-trail]):
        given, surname = core[:-trail], core[-trail:]
    else:
        return None
    if not any(ch.islower() for word in given for ch in word):
        return None  # 'WANG W.': initials beside it, no given name written in small letters
    return " ".join(words[:start] + given), " ".join(surname + words[end:])


_STREET_WORDS = {
    # Street types and fillers in the scopes' languages: what varies between two spellings
    # of one address ("Hauptstr. 5" / "Hauptstraße 5", "12, Rue de la Paix" / "12 rue Paix").
    "rue",
    "de",
    "du",
    "des",
    "la",
    "le",
    "les",
    "l",
    "d",
    "avenue",
    "av",
    "ave",
    "bd",
    "boulevard",
    "blvd",
    "chemin",
    "ch",
    "place",
    "pl",
    "allee",
    "impasse",
    "imp",
    "route",
    "rte",
    "quai",
    "cours",
    "str",
    "strasse",
    "weg",
    "platz",
    "gasse",
    "ring",
    "damm",
    "street",
    "st",
    "road",
    "rd",
    "lane",
    "ln",
    "drive",
    "dr",
    "court",
    "ct",
    "way",
    "the",
    "calle",
    "c",
    "avda",
    "avenida",
    "paseo",
    "plaza",
    "via",
    "viale",
    "piazza",
    "corso",
    # British and American street types, and the directions before or after a name ('N Main
    # St', '500 West 42nd Street', 'Pennsylvania Ave NW').
    "close",
    "crescent",
    "cres",
    "gardens",
    "gdns",
    "grove",
    "terrace",
    "mews",
    "square",
    "sq",
    "parade",
    "parkway",
    "pkwy",
    "circle",
    "cir",
    "highway",
    "hwy",
    "trail",
    "north",
    "south",
    "east",
    "west",
    "s",
    "e",
    "w",
    "ne",
    "nw",
    "se",
    "sw",
    "apt",
    "apartment",
    "flat",
    "no",
    "nr",
    "n",
    "bis",
    "ter",
    # Italian, Portuguese, Polish, Dutch street types and their abbreviations ('Strada Medici' /
    # 'Str. Medici', 'Travessa do Beato' / 'Tv. do Beato', 'ulica Zabia' / 'ul. Zabia').
    "strada",
    "largo",
    "vicolo",
    "piazzale",
    "localita",
    "frazione",
    "rua",
    "r",
    "travessa",
    "tv",
    "trav",
    "alameda",
    "al",
    "praca",
    "estrada",
    "rodovia",
    "ulica",
    "ul",
    "aleja",
    "plac",
    "osiedle",
    "os",
    "straat",
    "laan",
    "plein",
    "kade",
}
#: Words that start the part of a line naming a flat, floor or door, not the street: in
#: the scopes' languages ("Apt 7B", "Flat 3,", "8. OG links", "Bajo F", "Bât. B, esc. 2").
_UNIT_WORDS = {
    "apt",
    "apartment",
    "appt",
    "appartement",
    "flat",
    "suite",
    "unit",
    "floor",
    "fl",
    "room",
    "og",
    "eg",
    "dg",
    "ug",
    "whg",
    "wohnung",
    "etage",
    "stock",
    "hinterhaus",
    "vorderhaus",
    "links",
    "rechts",
    "bat",
    "batiment",
    "esc",
    "escalier",
    "bajo",
    "piso",
    "planta",
    "puerta",
    "pta",
    "escalera",
    "izq",
    "izda",
    "izquierda",
    "dcha",
    "drcha",
    "derecha",
    "interno",
    "int",
    "scala",
    "piano",
    # Faker's secondary addresses and their like: 'Appartamento 96', 'Apto 3', 'lok. 5'.
    "appartamento",
    "apto",
    "apartamento",
    "dpto",
    "depto",
    "departamento",
    "lok",
    "lokal",
}
#: Those that are words of streets' names too ('Level Road', 'Studio Lane'): a flat only
#: before its number ('Studio 44M', 'Level 4', Belgium's 'bus 3', Italy's 'app. 3').
_UNIT_WORDS_BEFORE_A_NUMBER = {"studio", "level", "lvl", "bus", "app"}
#: Street types written as the end of the name ('Hauptstrasse', 'Kerkstraat', 'Furugatan',
#: 'Vestergade', 'Parkveien', 'Mannerheimintie'), longest of a kind first.
_STREET_SUFFIXES = (
    "strasse",
    "straat",
    "str",
    "weg",
    "platz",
    "plein",
    "gasse",
    "ring",
    "damm",
    "laan",
    "gracht",
    "gatan",
    "gata",
    "gate",
    "vagen",
    "vag",
    "vej",
    "veien",
    "vegen",
    "vei",
    "gade",
    "plads",
    "torget",
    "katu",
    "tie",
)
#: Those abbreviated with a stop ('Hauptstr.', 'Marktpl.', 'Neubaug.', 'Furug.', 'Parkv.',
#: 'Storgt.'), after a name of three letters or more: written out, as one of the suffixes
#: above, so that the stem is cut as the whole word's is ('Ringstr.' keeps 'ring').
_ABBREVIATED_SUFFIX = re.compile(r"\b([a-z]{3,}?)(str|pl|gt|g|v)\.(?=[\s,;]|$)")
_WRITTEN_OUT = {"str": "strasse", "pl": "platz", "gt": "gate", "g": "gasse", "v": "vej"}
#: An English ordinal is one token ('2nd', not '2' and 'nd'), spelled or not: '350 5th Ave' and
#: '350 Fifth Avenue' are one address, '7767 2nd Street' and '7767 22nd Street' two.
_TOKEN = re.compile(r"\d+(?:st|nd|rd|th)\b|[a-z]+|\d+")
_SPELLED_ORDINALS = dict(
    zip(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(),
        "1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th 11th 12th".split(),
        strict=True,
    )
)


def _tokens(text: str) -> list[str]:
    return [_SPELLED_ORDINALS.get(token, token) for token in _TOKEN.findall(text)]


#: A word saying that a number follows, as the line reads after anyascii: 'nº'/'n.º' ('no',
#: 'n.o'), 'n°' ('ndeg'), 'no.', 'núm.', 'número', 'Nr.', 'nro.', 'Nummer', 'n.': no word of
#: the street's name ('Calle Mayor, n.º 5' is 'Calle Mayor 5').
_NUMBER_MARKER = re.compile(r"(?<![a-z0-9])(?:n[.\s]*o|n\s*deg|nro?|num(?:ero)?|nummer|n)\.?\s*(?=\d)")
#: Initials written with stops, run together or apart ('M.G. Road', 'J. F. K. Blvd'): one word,
#: as written without them ('MG Road'). A lone initial ('ul. M. Konopnickiej') stays.
_DOTTED_INITIALS = re.compile(r"(?<![a-z0-9])[a-z](?:\.\s?[a-z](?![a-z0-9]))+\.?")


def _street_parts(line1: str) -> list[list[str]]:
    """The tokens of a line that name the street and house, part by part (between commas),
    without its flat, floor or door: a part that starts with such a word loses that word and
    the one after it ("Flat 3, 12 High St", "Apartment 29"); elsewhere the rest of the part
    from that word on ("5534 Sunset Blvd Apt 7B", "Dorfstr. 121, 8. OG links"). A line left
    without a number by that is a building's flat ("Flat 128 Mill House"): the flat is its
    address, and the line is taken whole."""
    line = _ABBREVIATED_SUFFIX.sub(lambda m: m[1] + _WRITTEN_OUT[m[2]], anyascii(line1).lower().replace("ß", "ss"))
    line = _NUMBER_MARKER.sub(" ", line)
    line = _DOTTED_INITIALS.sub(lambda m: re.sub(r"[.\s]", "", m[0]) + " ", line)
    parts: list[list[str]] = []
    flats: list[str] = []  # the numbers of the flats that start a part, in order
    for part in re.split(r"[,;\n]", line):
        tokens = _tokens(part)
        if tokens and _unit_word(tokens, 0):
            flats += [token for token in tokens[1:2] if token.isdigit()]
            tokens = tokens[2:]
        cut = next((i for i in range(len(tokens)) if _unit_word(tokens, i)), len(tokens))
        parts.append(tokens[:cut])
    if not any(token.isdigit() for part in parts for token in part):
        # The first flat's number is the house's ('Studio 40' / 'Julie Mountain', as Faker
        # writes a British address, and 'Flat 66H' on the second line).
        return [[flats[0], *(token for part in parts for token in part)]] if flats else [_tokens(line)]
    return parts


def _unit_word(tokens: list[str], i: int) -> bool:
    """Whether ``tokens[i]`` starts a flat, floor or door."""
    if tokens[i] in _UNIT_WORDS:
        return True
    return tokens[i] in _UNIT_WORDS_BEFORE_A_NUMBER and i + 1 < len(tokens) and tokens[i + 1].isdigit()


def _street_words(tokens: Iterable[str]) -> list[str]:
    words = []
    for token in tokens:
        if token.isdigit() or token in _STREET_WORDS:
            continue
        for suffix in _STREET_SUFFIXES:
            if token.endswith(suffix) and len(token) > len(suffix) + 2:
                token = token[: -len(suffix)]
                break
        words.append(token)
    return words


def lines_street_key(line1: str | None, line2: str | None) -> str | None:
    """The street of an address's two lines: the house may be on the second ('Flat 3' /
    '12 High Street', 'Acme Ltd' / '5 Main St'); the first line's number is taken first."""
    lines = [line for line in (line1, line2) if line]
    return street_key(", ".join(lines)) if lines else None


def street_key(line1: str) -> str | None:
    """'12, Rue de la Paix' -> '12 paix'; 'Hauptstraße 5' -> '5 haupt': the house number and
    the street's distinctive word, however the street type was written, and whatever flat,
    floor, door or building the line names too ('Dorfstr. 121, 8. OG links' -> '121 dorf';
    '29 rue du Château, Résidence Les Pins' -> '29 chateau'). The word is taken from the
    part of the line with the number, or from those before it ('C/ Mayor, 27, Bajo F')."""
    parts = _street_parts(line1)
    at = next((i for i, part in enumerate(parts) if any(t.isdigit() for t in part)), None)
    if at is None:
        return None
    number = _house_number(parts[at])
    if number is None:
        # Every number of the part names the street ('C/ 2 de Mayo, 5'): the house's is the
        # next part's, or else the first ('Hauptstr. 5 links').
        number = next(
            (t for part in parts[at + 1 :] for t in part[:2] if t.isdigit()),  # '5', 'nº 5'
            next(t for t in parts[at] if t.isdigit()),
        )
    words = (
        _street_words(parts[at])
        or _street_words(t for part in parts[:at] for t in part)
        or _street_words(t for part in parts for t in part)
        # A street its type or direction names alone ('7 The Close', '12 North Road').
        or [t for t in parts[at] if not t.isdigit() and len(t) > 2 and t != "the"]
    )
    if not words:
        return None
    return f"{number} {max(words, key=len)}"


def _house_number(tokens: list[str]) -> str | None:
    """The house number among a part's numbers: the first, where the part starts with it
    ('12 rue du 8 Mai 1945'); else the first that no word of the street's name follows, as
    streets named after a date or a number have one ('Straße des 17. Juni 135', 'Calle 2 de
    Mayo 5'); a letter (10 a) or a flat's number (45 3º izq) may follow it. None when every
    number is followed by a word."""
    if tokens[0].isdigit():
        return tokens[0]
    for i, token in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.isdigit() and (after is None or after.isdigit() or len(after) == 1):
            return token
    return None


def surname_block(last_key: str) -> str:
    """The first word of a last name: a Spanish second surname, written on some orders only,
    or a compound one cut short still finds its customer (``lp:`` keys)."""
    return last_key.split()[0] if last_key.split() else last_key
