"""Canonical identity keys for order matching (O2-O6): pure functions, no I/O.

``plumbing.normalize`` folds what people type (case, accents); the customer service's stored
search keys depend on it, so it stays as it is. Order matching needs more: real order streams
showed the same person as ``j.o.hn+shop@googlemail.com`` and ``john@gmail.com``, as ``Müller``
and ``Mueller``, as ``Иванов`` and ``Ivanov``, with first and last name swapped, and with
postal codes such as ``D-70586`` or ``1234`` (for ``01234``). The keys here make those agree,
and try hard not to make two different people agree: a false equality links an order to the
wrong customer, a false difference only costs a duplicate or a review.

- :func:`canonical_email`: provider-aware address key (Gmail dots, ``+tags``).
- :func:`name_tokens`, :func:`name_key`, :func:`first_name_key`, :func:`last_name_key`:
  transliterated, order-free name keys.
- :func:`compare_names`: exact / close / different / missing per name part, either orientation.
- :func:`abjad`: a name as Arabic and Hebrew write it, which a Latin spelling may spell.
- :func:`postal_key`: country-aware postal code key.
- :func:`phone_key`: E.164 or None, never raises.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from anyascii import anyascii
from nicknames import NickNamer
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from contracts.moments import plain_digits
from plumbing.normalize import InvalidValue, fold, normalize_phone

__all__ = [
    "GMAIL_DOMAINS",
    "PLUS_ADDRESSING_DOMAINS",
    "FIVE_DIGIT_POSTAL_COUNTRIES",
    "FIVE_DIGIT_POSTAL_COUNTRIES_FROM_TWO_ZEROS",
    "CLOSE_SIMILARITY",
    "Agreement",
    "NameAgreement",
    "canonical_email",
    "name_tokens",
    "name_key",
    "first_name_key",
    "last_name_key",
    "compare_names",
    "abjad",
    "Abjad",
    "postal_key",
    "phone_key",
    "is_mobile",
]

# --- email ----------------------------------------------------------------------------------

#: Google ignores dots and a ``+tag`` in the local part; googlemail.com is the same mailbox
#: as gmail.com (Germany and the UK used googlemail.com for years).
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

#: Providers that deliver ``name+tag@`` to ``name@`` but do NOT ignore dots. Only the tag is
#: dropped. Not listed on purpose: Yahoo (uses ``-`` for disposable addresses, and ``-`` is
#: also an ordinary character there), GMX/web.de/t-online/Orange (no subaddressing: ``a+b``
#: may be a different mailbox), custom domains (their server decides; we cannot know).
#: Domains of one provider are not merged with each other (proton.me vs pm.me): an account
#: need not hold all of them.
PLUS_ADDRESSING_DOMAINS = frozenset(
    {
        # Microsoft (Outlook.com family), including the national domains still in use.
        "outlook.com",
        "outlook.fr",
        "outlook.de",
        "outlook.es",
        "outlook.it",
        "outlook.be",
        "outlook.at",
        "hotmail.com",
        "hotmail.fr",
        "hotmail.de",
        "hotmail.es",
        "hotmail.it",
        "hotmail.co.uk",
        "hotmail.be",
        "live.com",
        "live.fr",
        "live.de",
        "live.co.uk",
        "live.it",
        "live.nl",
        "live.be",
        "msn.com",
        # Apple.
        "icloud.com",
        "me.com",
        "mac.com",
        # Fastmail.
        "fastmail.com",
        "fastmail.fm",
        # Proton.
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        # Yandex.
        "yandex.ru",
        "yandex.com",
        "yandex.ua",
        "yandex.by",
        "yandex.kz",
        "ya.ru",
    }
)


#: The first labels of the domains marketplaces relay buyers' mail through: Amazon's
#: ``marketplace.amazon.<tld>``, Walmart's ``relay.walmart.com``, Apple's
#: ``privaterelay.appleid.com``, and the same names at marketplaces not known here.
RELAY_LABELS = ("marketplace", "relay", "privaterelay")


def is_relay_email(canonical: str) -> bool:
    """An address a marketplace (or Apple's sign-in) relays: one buyer's alias at that
    marketplace, never the address they give a shop; comparing it with a shop's address says
    nothing either way."""
    domain = canonical.rpartition("@")[2]
    first_label, _, rest = domain.partition(".")
    return (
        first_label in RELAY_LABELS
        or ".relay." in domain
        or (first_label == "members" and rest.startswith("ebay."))  # eBay's, on every national site
    )


def canonical_email(email: str) -> str:
    """The mailbox an address delivers to, as far as its provider's rules are known.

    ``email`` is an address already normalized by ``plumbing.normalize.normalize_email``.
    ``J.Doe+Shop@GoogleMail.com`` -> ``jdoe@gmail.com``; ``jane+news@outlook.com`` ->
    ``jane@outlook.com``; ``john.smith@example.com`` stays ``john.smith@example.com``.
    """
    # Case-folded like plumbing's email_key: providers ignore case in the local part.
    address = email.strip().casefold()
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return address  # not an address; the caller validated, so keep it whole
    if domain in GMAIL_DOMAINS:
        # Gmail: dots are not significant and everything after '+' is a tag.
        untagged = local.split("+", 1)[0].replace(".", "")
        return f"{untagged or local}@gmail.com"
    if domain in PLUS_ADDRESSING_DOMAINS:
        # Subaddressing only: dots stay significant at these providers.
        untagged = local.split("+", 1)[0]
        return f"{untagged or local}@{domain}"  # '+x@...' has no base mailbox: keep it
    return address


#: The shortest local part a typo is read in: 'ann' and 'anna' are two people as often as one.
TYPO_MIN_LOCAL = 5

#: Consumer mail providers, whose domains people mistype at checkout ('gmial.com',
#: 'iclod.com', 'hotmail.con'): what mailcheck-style suggesters correct. A domain one slip from
#: one of these, and not itself one of them, is that provider mistyped; two real providers a
#: slip apart ('live.be', 'live.de') are two mailboxes.
PROVIDER_DOMAINS = (
    GMAIL_DOMAINS
    | PLUS_ADDRESSING_DOMAINS
    | frozenset(
        """
        yahoo.com yahoo.co.uk yahoo.de yahoo.fr yahoo.es yahoo.it ymail.com rocketmail.com aol.com
        aol.de aol.fr gmx.de gmx.net gmx.at gmx.ch gmx.com web.de t-online.de freenet.de posteo.de
        mail.de orange.fr wanadoo.fr free.fr sfr.fr laposte.net neuf.fr bbox.fr telefonica.net
        movistar.es libero.it virgilio.it tiscali.it btinternet.com sky.com virginmedia.com
        talktalk.net comcast.net att.net verizon.net sbcglobal.net cox.net charter.net
        bellsouth.net mail.ru bk.ru list.ru inbox.ru qq.com 163.com 126.com naver.com seznam.cz
        wp.pl o2.pl interia.pl zoho.com tutanota.com tuta.io gmx.fr gmx.es hey.com
        club-internet.fr noos.fr tele2.fr tiscali.fr voila.fr bouygtel.fr ifrance.com alice.it
        tin.it tim.it tele2.it poste.it fastwebnet.it vodafone.it bluewin.ch sunrise.ch hispeed.ch
        chello.at live.se telia.com swipnet.se sapo.pt clix.pt terra.com.br uol.com.br bol.com.br
        yahoo.com.br yahoo.com.au hotmail.com.au outlook.com.br yahoo.gr otenet.gr hol.gr
        forthnet.gr onet.pl centrum.cz email.cz post.cz volny.cz freemail.hu citromail.hu
        indamail.hu rambler.ru ukr.net meta.ua hanmail.net daum.net nate.com kolumbus.fi
        suomi24.fi luukku.com
        """.split()
    )
)


#: Providers known the world over by one domain (as ``canonical_email`` writes it): another
#: ending after their name is theirs mistyped. Most others have national domains, or share
#: their name with another ('o2.pl', 'o2.co.uk'; 'inbox.ru', 'inbox.lv').
_SINGLE_DOMAIN = {"gmail": "gmail.com", "googlemail": "gmail.com", "icloud": "icloud.com"}


def _domain_slip(a: str, b: str) -> bool:
    """One of two domains is a provider's, the other no provider's and either one slip of a
    key from it, or cut short of it ('hotmail.co' for 'hotmail.co.uk'), or the name of a
    provider that has one domain only with a country's ending ('gmail.fr'): what a hand in a
    hurry or the habit of a national ending makes of it. A provider of several national
    domains ('yahoo.com.mx' beside 'yahoo.com', 'mail.com' beside 'mail.de') may have more
    than are listed: another ending there can be another real mailbox."""
    if a == b or (a in PROVIDER_DOMAINS) == (b in PROVIDER_DOMAINS):
        return False
    provider, other = (a, b) if a in PROVIDER_DOMAINS else (b, a)
    if provider.startswith(f"{other}."):
        return True
    name, _, ending = other.partition(".")
    if _SINGLE_DOMAIN.get(name) == provider and all(0 < len(label) <= 3 for label in ending.split(".")):
        return True
    return OSA.distance(a, b, score_cutoff=1) <= 1


@lru_cache(maxsize=8192)
def _meant_domains(domain: str) -> tuple[str, ...]:
    """The providers' domains one no provider's is a slip of (by domain: they repeat)."""
    if domain in PROVIDER_DOMAINS:
        return ()
    return tuple(sorted(provider for provider in PROVIDER_DOMAINS if _domain_slip(domain, provider)))


@lru_cache(maxsize=16384)  # asked for the order's email once per candidate's (meant_alike)
def meant_mailboxes(canonical: str) -> tuple[str, ...]:
    """The mailboxes an address at a provider's domain mistyped was meant for, as
    ``canonical_email`` writes them: 'ann.lee@hotmail.co' -> 'ann.lee@hotmail.co.uk' and
    'ann.lee@hotmail.com'; 'lea.grienas@gmail.co' -> 'leagrienas@gmail.com'; and the mailbox
    a tagged address at a domain of unknown rules is a tag of: 'ann+shop@firma.de' ->
    'ann@firma.de' (``_untagged``). None for an
    address at a provider's domain or at one no slip away from any (``_domain_slip``, the
    rule ``typo_of`` reads such a pair by). A blocking key: the order whose confirmation
    bounced finds the customer of the mailbox meant, and the other way round."""
    local, _, domain = canonical.rpartition("@")
    if len(local) < 3 or not domain:
        return ()
    meant = {canonical_email(f"{local}@{provider}") for provider in _meant_domains(domain)}
    if (untagged := _untagged(local, domain)) is not None:
        meant.add(f"{untagged}@{domain}")
    return tuple(sorted(meant))


def _untagged(local: str, domain: str) -> str | None:
    """The mailbox 'name+tag@' is a tag of at a domain whose rules are not known here (a
    company's, a small provider's: most servers deliver it to 'name@', as Google's and
    Microsoft's hosted domains do), its tag left out; None without a tag, or where a '+'
    is no tag (a marketplace's relay aliases are whole). At Yahoo too, which tags with '-'
    and delivers no '+': no Yahoo address has a '+', so 'theresa61+shop@yahoo.com' is
    written by theresa61, as a Gmail habit (it made a second customer of her)."""
    base, plus, tag = local.partition("+")
    if not plus or not base or not tag or is_relay_email(f"{local}@{domain}"):
        return None
    return base


def meant_alike(a: str, b: str) -> bool:
    """Two canonical addresses, one of them the other at its provider's domain mistyped, or
    both one mailbox mistyped two ways ('mbouin@gmail.fr' and 'mbouin@gmai.com', both
    'mbouin@gmail.com'): the person's mailbox is the one meant."""
    meant_a, meant_b = meant_mailboxes(a), meant_mailboxes(b)
    return b in meant_a or a in meant_b or not set(meant_a).isdisjoint(meant_b)


def typo_of(a: str, b: str) -> bool:
    """Two canonical mailboxes (``canonical_email``) of one provider whose local parts are one
    slip of a key apart: a letter left out, added or swapped with its neighbour, or a key hit
    for another where a letter is involved ('brbradney4' for 'bbradney4', 'patriciae8' for
    'patricia68'). Not a digit for a digit, nor a digit or separator added or dropped:
    'jsmith68' and 'jsmith69', 'jean.martin2' and 'jean.martin', or 'jean.martin' and
    'jeanmartin' where dots count, are how namesakes of one household tell their mailboxes
    apart. Or the same local part at a provider's domain mistyped ('gmial.com', 'gmail.con').
    An address at a mistyped domain delivers nowhere: the order's confirmation bounced, and
    the person's mailbox is still the one they meant."""
    local_a, _, domain_a = a.rpartition("@")
    local_b, _, domain_b = b.rpartition("@")
    if meant_alike(a, b):
        # The provider mistyped: 'jose1985@iclod.com' for '...@icloud.com'; read by that
        # provider's rules, so 'lea.grienas@gmail.co' is 'leagrienas@gmail.com'.
        return True
    if domain_a != domain_b or min(len(local_a), len(local_b)) < TYPO_MIN_LOCAL or local_a == local_b:
        return False
    if OSA.distance(local_a, local_b, score_cutoff=1) > 1:
        return False
    ops = list(Levenshtein.editops(local_a, local_b))
    if len(ops) == 1 and ops[0].tag == "replace":
        return local_a[ops[0].src_pos].isalpha() or local_b[ops[0].dest_pos].isalpha()
    # A letter added or left out, or two neighbours swapped (two edits to Levenshtein).
    slipped = {local_a[op.src_pos] for op in ops if op.tag in ("replace", "delete")}
    slipped |= {local_b[op.dest_pos] for op in ops if op.tag in ("replace", "insert")}
    return all(ch.isalpha() for ch in slipped)


# --- names ----------------------------------------------------------------------------------

# A written umlaut is unambiguous: 'ü' is the 'ue' of 'Mueller' and the 'u' of 'Muller'. It is
# mapped straight to the base vowel, which is what "expand to ae/oe/ue, then collapse" gives,
# without relying on the ASCII digraph rule below (which has exceptions). 'ß' is 'ss'.
_GERMAN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "ss", "ẞ": "SS"})

# Whitespace, hyphens (ASCII and Unicode dashes), dots, commas and slashes separate name parts.
_SEPARATOR = r"[\s.,/\-\u2010-\u2015\u2212\u00ad]"
_SEPARATORS = re.compile(_SEPARATOR + "+")

# Anything else inside a token (apostrophes of O'Brien/D’Angelo, quotes, brackets) is removed.
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

# Typed umlaut digraphs ('Mueller', 'Schroeder', 'Jaeger', 'Oezdemir', 'Schaeuble') collapse to
# the base vowel, so they agree with 'Müller' and 'Muller'. Only false equalities matter (both
# sides go through this), so the collapse is skipped where the digraph is almost never an
# umlaut and the collapsed spelling is another name:
# - at the end of a token or before a vowel/'y': Joe/Jo, Zoe/Zo, Mae/Ma, Sue/Su, Hue/Hu,
#   Doe/Do, Bae/Ba, Joey/Joy, Huey/Huy;
# - when the vowel itself follows a vowel (diphthongs au, eu): Bauer/Baur, Neuer/Neur;
# - before a final -l, -la, -le, -lla, -lle (Biblical/Romance names, not German): Michael/Michal,
#   Rafael/Rafał, Gael/Gal, Joel/Jol, Noel/Nol, Samuel, Manuela, Michaela, Noëlle, Danielle.
# 'ae' before 'u' is the German 'äu' (Häusler/Haeusler) and does collapse.
_DIGRAPH = re.compile(
    r"(?<=[aou])(?<![aeiouy][aou])e"
    r"(?=(?!l(?:l?[ae])?$)[bcdfghjklmnpqrstvwxz]|(?<=ae)u)"
)

# One-letter particles that lose their apostrophe ('O Brien', 'D Angelo', 'L Esperance') and
# 'Mc' written apart ('Mc Donald'): glued to the next token, as 'O'Brien' -> 'obrien' is.
# Cost: an initial D, L or O followed by another word in the same field is glued too
# ('John D Smith' typed into one field -> 'john dsmith'); a trailing initial ('John D') is not.
_PARTICLES = frozenset({"o", "d", "l", "mc"})


# anyascii transliterates Greek letter by letter ('Παπαδοπούλου' -> 'Papadopoyloy',
# 'Ευάγγελος' -> 'Eyaggelos'); people write ELOT 743 / passport spellings ('Papadopoulou',
# 'Evangelos', 'Eleftherios'). The digraphs that differ are rewritten first.
_KANJI = re.compile(r"[\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")
_GREEK_DIGRAPHS = (
    (re.compile(r"ου"), "ou"),
    # αυ/ευ/ηυ: 'f' before a voiceless consonant or at the end, 'v' otherwise.
    (re.compile(r"([αεη])υ(?=[θκξπστφχψ]|$)"), r"\1f"),
    (re.compile(r"([αεη])υ"), r"\1v"),
    (re.compile(r"γ(?=[γξχ])"), "n"),
)


def _greek(token: str) -> str:
    """ELOT-style spellings of Greek digraphs; accents dropped (tonos is not spelled)."""
    token = "".join(ch for ch in unicodedata.normalize("NFD", token.lower()) if not unicodedata.combining(ch))
    for pattern, replacement in _GREEK_DIGRAPHS:
        token = pattern.sub(replacement, token)
    return token


#: Surnames written in their own script whose letter-by-letter reading is not how their
#: bearers write them in Latin letters: Korean surnames by the Revised Romanization read
#: '김' as 'gim', '이' as 'i' (an initial!) and '박' as 'bag', where passports and orders say
#: Kim, Lee, Park; Japanese surnames in kanji read as Chinese ('佐藤' 'zuoteng' for Sato).
#: Only kanji surnames of two characters or more, which are not Chinese names too.
CUSTOMARY_SURNAMES: dict[str, str] = {
    **dict(
        pair.split(":")
        for pair in """
        김:kim 이:lee 박:park 최:choi 정:jung 강:kang 조:cho 윤:yoon 장:jang 임:lim 한:han 오:oh
        서:seo 신:shin 권:kwon 황:hwang 안:ahn 송:song 류:ryu 유:yoo 홍:hong 전:jeon 고:ko 문:moon
        양:yang 손:son 배:bae 백:baek 허:heo 노:noh 심:shim 하:ha 곽:kwak 성:sung 차:cha 주:joo
        우:woo 구:koo 민:min 진:jin 나:na 지:ji 엄:um 채:chae 원:won 천:chun 방:bang 공:kong
        현:hyun 변:byun 염:yeom 여:yeo 추:choo 도:do 석:seok 선:sun 설:seol 마:ma 길:gil 연:yeon
        표:pyo 명:myung 기:ki 반:ban 왕:wang 금:keum 옥:ok 육:yook 인:in 맹:maeng 제:je 모:mo
        탁:tak 국:kook 남궁:namgoong 황보:hwangbo 제갈:jegal 선우:sunwoo 독고:dokgo
        佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 伊藤:ito 渡辺:watanabe 渡邊:watanabe
        渡邉:watanabe 山本:yamamoto 中村:nakamura 小林:kobayashi 加藤:kato 吉田:yoshida 山田:yamada
        佐々木:sasaki 山口:yamaguchi 松本:matsumoto 井上:inoue 木村:kimura 斎藤:saito 斉藤:saito
        清水:shimizu 山崎:yamazaki 森田:morita 池田:ikeda 橋本:hashimoto 阿部:abe 石川:ishikawa
        山下:yamashita 中島:nakajima 石井:ishii 小川:ogawa 前田:maeda 岡田:okada 長谷川:hasegawa
        藤田:fujita 後藤:goto 近藤:kondo 村上:murakami 遠藤:endo 青木:aoki 坂本:sakamoto 福田:fukuda
        太田:ota 西村:nishimura 藤井:fujii 岡本:okamoto 藤原:fujiwara 中野:nakano 三浦:miura
        原田:harada 中川:nakagawa 松田:matsuda 竹内:takeuchi 小野:ono 田村:tamura 和田:wada
        石田:ishida 上田:ueda 柴田:shibata 酒井:sakai 工藤:kudo 横山:yokoyama 宮崎:miyazaki
        宮本:miyamoto 内田:uchida 高木:takagi 安藤:ando 谷口:taniguchi 大野:ono 丸山:maruyama
        今井:imai 高田:takada 藤本:fujimoto 武田:takeda 村田:murata 上野:ueno 杉山:sugiyama
        増田:masuda 平野:hirano 大塚:otsuka 千葉:chiba 久保:kubo 松井:matsui 小島:kojima
        岩崎:iwasaki 桜井:sakurai 野口:noguchi 松尾:matsuo 野村:nomura 木下:kinoshita 菊地:kikuchi
        佐野:sano 大西:onishi 杉本:sugimoto 新井:arai
        """.split()
    )
}


#: Chinese surnames read otherwise as surnames than as words, where anyascii gives the word's
#: reading: 曾 is Zeng (not 'ceng'), 解 Xie (not 'jie'), 尉迟 Yuchi, 单于 Chanyu, 万俟 Moqi. In a
#: surname field only (a given name keeps the word's reading). Their library readings are
#: aliases too (``LIBRARY_READINGS``), but 'Jie', a given name's. Not those whose word
#: reading is itself a surname in Latin letters: 单 Shan ('Dan'), 区 Ou ('Qu'), 仇 Qiu
#: ('Chou'), 覃 Qin ('Tan'), 翟 Zhai ('Di').
CHINESE_SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng",
    "解": "xie",
    "尉迟": "yuchi",
    "尉遲": "yuchi",
    "单于": "chanyu",
    "單于": "chanyu",
    "万俟": "moqi",
    "萬俟": "moqi",
}

#: Readings of those that are names in Latin letters of their own (阿部 'Abu', 菊地 'Jude').
_LATIN_NAMES = frozenset({"abu", "jude", "daye"})
#: Readings that are common Chinese given names, written in the surname field when the fields
#: are swapped (杰 Jie): never read as another surname.
_GIVEN_SYLLABLES = frozenset({"jie"})


def _library_readings() -> dict[str, str]:
    """The Latin spellings a transliteration library gives those surnames (anyascii 'ZuoTeng',
    Unidecode 'Zuo Teng' for 佐藤; 'Gim' for 김), each to its customary spelling: a stream whose
    Latin names were made by a library has them (a surname field's: ``last_name_key``). Not a
    reading of two letters or fewer ('I' for 이, an initial) nor one that is a Chinese syllable
    as well (강 'gang', 윤 'yun', 공 'gong': Chinese surnames of their own)."""
    syllables = {anyascii(chr(code)).lower() for code in range(0x4E00, 0xA000)}
    readings: dict[str, str] = {}
    for written, customary in CUSTOMARY_SURNAMES.items():
        reading = _NOT_ALNUM.sub("", anyascii(written).lower())
        if reading != customary and len(reading) > 2 and reading not in syllables | _LATIN_NAMES:
            readings[reading] = customary
    for written, customary in CHINESE_SURNAME_READINGS.items():
        reading = _NOT_ALNUM.sub("", anyascii(written).lower())
        if reading not in _GIVEN_SYLLABLES:
            readings[reading] = customary  # 'Ceng' is no one's name: 曾, Zeng
    return readings | PINYIN_U_SPELLINGS


#: 吕 (Lü) as pinyin is typed without its 'ü': 'Lv' (pypinyin's and input methods' spelling),
#: 'Lyu' (passports since 2012); 'Lü' itself folds to 'lu', as anyascii reads 吕.
PINYIN_U_SPELLINGS = {"lv": "lu", "lyu": "lu"}


LIBRARY_READINGS = _library_readings()

#: Kana that are small: ゃゅょ (and ャュョ) join the kana before them into one syllable (キョ
#: 'kyo', シュ 'shu'; anyascii reads 'kiyo', 'shiyu'); っ/ッ doubles the consonant after it.
_SMALL_Y = frozenset("ゃゅょャュョｬｭｮ")  # and half-width, as old tills send them
_SMALL_TSU = frozenset("っッｯ")


def _kana(raw: str) -> str:
    """Hepburn of kana as people write their names in Latin letters, long vowels unmarked:
    キョウスケ 'kyousuke' (Kyosuke and Kyousuke are "close"), ハットリ 'hattori'."""
    out = ""
    double = False
    for ch in raw:
        if ch in _SMALL_TSU:
            double = True
            continue
        reading = anyascii(ch).lower()
        if ch in _SMALL_Y and out.endswith("i") and len(out) > 1:
            out = out[:-1]
            if out.endswith(("sh", "ch", "j")):
                reading = reading[1:]  # シュ is 'shu', not 'shyu'
        elif double and reading[:1].isalpha() and reading[:1] not in "aeiou":
            reading = ("t" if reading.startswith("ch") else reading[0]) + reading
        double = False
        out += reading
    return out


def _latin(token: str) -> bool:
    """Latin script (Basic/Latin-1/Extended-A/B, Vietnamese): the digraph rule applies to it."""
    return all(ord(ch) < 0x250 or 0x1E00 <= ord(ch) < 0x1F00 for ch in token)


#: 'St. John', 'Ste-Marie': the abbreviations of Saint in names ('Saint John', 'Sainte-Marie').
_SAINTS = {"st": "saint", "ste": "sainte"}


#: A word of a name and the separators after it.
_WORDS = re.compile(rf"((?:(?!{_SEPARATOR}).)+)({_SEPARATOR}*)", re.DOTALL)


def _word_tokens(raw: str) -> list[str]:
    """The tokens of one word as written (``name_tokens``).

    'dj' is read as 'd': anyascii writes the Latin 'Đ' as 'D' (Vietnamese 'Đặng' is 'Dang')
    but the Cyrillic 'Ђ' as 'Dj', and Serbs and Croats write 'Đorđe Đoković' as 'Djordje
    Djokovic' in plain letters: one name in three spellings."""
    if (customary := CUSTOMARY_SURNAMES.get(raw)) is not None:
        return [customary]
    # The digraph collapse is for Latin-script spellings only: pinyin 'Xue'/'Yue' (薛明 ->
    # 'xueming' vs 许明 'xuming') or romanized Hangul (재 'jae' vs 자 'ja') must stay apart.
    latin = _latin(raw)
    if not latin and _GREEK.search(raw):
        raw = _greek(raw)
    elif not latin and _KANA.search(raw):
        raw = _kana(raw)
    tokens = []
    for part in _SEPARATORS.split(anyascii(raw).lower()):  # anyascii may add separators
        token = _NOT_ALNUM.sub("", part).replace("dj", "d")
        if token:
            tokens.append(_DIGRAPH.sub("", token) if latin else token)
    return tokens


#: What a name field holds beside the name: a remark in brackets ('Smith (gift)', 'Müller
#: (ACME GmbH)') and whom it is in care of ('Müller c/o Schmidt': Schmidt is someone else;
#: a field that starts 'c/o Schmidt' names Schmidt).
_ASIDE = re.compile(r"\([^)]*\)?|\s+c/o\b.*$|^\s*c/o\s+", re.IGNORECASE)

#: A birth name written after the name without brackets ('Müller geb. Schmidt', 'Müller,
#: geborene Schmidt', 'Dupont née Martin', 'Smith born Jones'): the name borne now is the one
#: before it, as with '(geb. Schmidt)'. 'nee' and 'born' in lower case only: Nee and Born are
#: surnames too ('Müller Born').
_BIRTH_NAME = re.compile(r"(?<=\w)[\s,]+(?:(?i:geb\.?|geborene|née|né)|nee|born)(?:\s+|(?<=\.))(?=\w).*$", re.DOTALL)

#: Honorifics written after a name in Japanese, Chinese and Korean (山田太郎様, 王先生, 김민준 님):
#: forms of address, as 'Mme' before one (anyascii reads 様 'Yang', a surname).
_HONORIFIC_AFTER = re.compile(r"\s*(?:様|さま|さん|殿|御中|先生|女士|小姐|님|씨)\s*$")


#: Abbreviations of given names that Spanish and Philippine tills and forms write: 'Mª' and
#: 'Ma.' for María, 'Fco.' for Francisco, 'Fdo.' for Fernando ('Mª José', 'Fco. Javier').
#: The order contract's Unicode normalization (NFKC) makes 'ª' an 'a': 'Mª José' arrives as
#: 'Ma José', 'M.ª' as 'M.a'; 'Ma' is read as María only before another given name there
#: (of three letters or more: 'Ma Li' is a Chinese name).
_ABBREVIATED_GIVEN = (
    (re.compile(r"\bM(?:\.?\s?ª\.?|a\.|\.a\b\.?)\s*(?=[^\W\d_])", re.IGNORECASE), "María "),
    (re.compile(r"^\s*Ma\s+(?=[^\W\d_]{3})", re.IGNORECASE), "María "),
    (re.compile(r"\bFco\b\.?\s*(?=[^\W\d_])", re.IGNORECASE), "Francisco "),
    (re.compile(r"\bFdo\.\s*(?=[^\W\d_])", re.IGNORECASE), "Fernando "),
)


def written_out(text: str) -> str:
    """A given name with its abbreviations written out (``_ABBREVIATED_GIVEN``)."""
    for pattern, name in _ABBREVIATED_GIVEN:
        text = pattern.sub(name, text)
    return text


def without_honorific(text: str) -> str:
    """The name without an honorific after it (``_HONORIFIC_AFTER``); the text as it was if
    nothing else is left."""
    return _HONORIFIC_AFTER.sub("", text) or text


@lru_cache(maxsize=65536)
def name_tokens(text: str) -> tuple[str, ...]:
    """The words of a name as lower-case ASCII, in order.

    ``Müller``/``Mueller``/``Muller`` -> ``('muller',)``; ``Anne-Sophie`` -> ``('anne', 'sophie')``;
    ``O'Brien``/``O Brien``/``OBrien`` -> ``('obrien',)``; ``Иванов`` -> ``('ivanov',)``;
    ``Ελένη`` -> ``('eleni',)``; ``김`` -> ``('kim',)``, ``山田`` -> ``('yamada',)`` (``CUSTOMARY_SURNAMES``);
    ``Müller geb. Schmidt`` -> ``('muller',)`` (a birth name after it is no name borne now).
    Cached: the same names come back with every order and every candidate.

    Feeding a key back in gives the same tokens, except for keys transliterated from a
    non-Latin script that contain ae/oe/ue ('xueming' from 薛明 becomes 'xuming'): the script is
    no longer known then. Give :func:`compare_names` and :func:`name_key` the names as written.
    """
    text = unicodedata.normalize("NFC", text).translate(_GERMAN)  # NFC: 'u'+U+0308 is 'ü' too
    if "(" in text or "/" in text:
        text = _ASIDE.sub(" ", text).strip() or text
    text = _BIRTH_NAME.sub("", text)
    if not text.isascii():
        # Symbols are no part of a name: anyascii spells them as words ('Anna 🌸' would be
        # 'anna cherry blossom', a flag 'fr', '©' '(c)'); nor is an honorific after it.
        text = "".join(ch for ch in without_honorific(text) if unicodedata.category(ch)[0] != "S")
    tokens: list[str] = []
    # Words written with a full stop after them ('D. José', 'O. Smith'): an abbreviation (an
    # initial, Don), never a particle that lost its apostrophe ('D Angelo', 'O Brien').
    abbreviated: set[int] = set()
    for raw, separator in _WORDS.findall(text):
        tokens.extend(_word_tokens(raw))
        if tokens and "." in separator:
            abbreviated.add(len(tokens) - 1)
    tokens = [_SAINTS.get(token, token) for token in tokens]
    merged: list[str] = []
    glue = False
    for index, token in enumerate(tokens):
        # A particle glues to a word ('O Brien'), never to an initial: 'D. J' and 'O J' are
        # two initials (or a title's and an initial), not 'dj'.
        if glue and len(token) > 1:
            merged[-1] += token
        else:
            merged.append(token)
        glue = token in _PARTICLES and index not in abbreviated and merged[-1] == token
    return tuple(merged)


#: Forms of address a cashier or a buyer types before a name ('Dr. Michelle', 'Hr.', 'Mme
#: Dupont'), in the scopes' languages: they are no part of it, and 'Hr.' alone is no given
#: name. Left out on purpose, as they are given names or surnames too: Don, Pan, Pani, Fr, Me,
#: and 'M' (an initial as often as Monsieur). Dona (Doña) is a form of address only before
#: another word (``TITLES_BEFORE_A_NAME``): alone it is a given name, as India's Shri, Sri
#: and Kumari are (and Sri starts many an Indonesian one).
TITLES = frozenset(
    {
        *("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"),
        *("herr", "hr", "frau", "dipl", "ing", "mag", "med", "rer"),  # Dipl.-Ing., Mag., Dr. med.
        *("mme", "mlle", "monsieur", "madame", "mademoiselle"),
        *("sr", "sra", "srta", "senor", "senora", "senorita", "dna"),  # Dña.
        *("sig", "sigra", "signor", "signora", "dott", "dhr", "mevr", "mevrouw", "mw"),
        *("univ", "dra", "lic", "mtro", "mtra", "srita", "arq", "fru", "frk"),  # Univ.Prof., Lic.
        *("herra", "rouva", "hra", "rva", "tohtori", "bayan", "gospodin", "gospozha"),
        *("bc", "mgr", "judr", "mudr", "mvdr", "phdr", "rndr", "paeddr", "slecna"),  # Czech degrees
        *("smt", "shrimati", "km"),  # India's Mrs and Miss ('Smt.', 'Km.' for Kumari)
    }
)

#: Forms of address written as a word and its ending apart ('Sig.ra', 'Sig.na', 'Dott.ssa',
#: 'Ing. arch.'): the ending is no name either, after its word.
_TITLE_ENDINGS = {"sig": frozenset({"ra", "na"}), "dott": frozenset({"ssa"}), "ing": frozenset({"arch"})}


TITLES_BEFORE_A_NAME = frozenset({"dona", "shri", "sri", "kumari"})

#: Forms of address written as one letter and a full stop before a word ('D. José': Don;
#: 'M. Lefot': Monsieur; 'Fr. Heininghardt': Frau). Without the stop, or before another
#: initial ('D. J.'), the letter is an initial and stays.
_ABBREVIATED_TITLE = re.compile(r"^\s*(?:D|M|Fr)\.\s*(?=[^\W\d_]{2})", re.IGNORECASE)


def _untitled(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The name without the forms of address it starts with."""
    start = 0
    while start < len(tokens) and (
        tokens[start] in TITLES
        or (tokens[start] in TITLES_BEFORE_A_NAME and start < len(tokens) - 1)
        or (start > 0 and tokens[start] in _TITLE_ENDINGS.get(tokens[start - 1], ()))
    ):
        start += 1
    return tokens[start:]


_RUN_TOGETHER_INITIALS = re.compile(r"[b-df-hj-np-tv-xz]{2,3}")


def first_name_key(first: str | None) -> str | None:
    """The first name's tokens joined by a space, without a form of address before them
    ('Dr.', 'Mme', 'D. José'); None if it has none ('Hr.' names nobody)."""
    if not first:
        return None
    tokens = _untitled(name_tokens(_ABBREVIATED_TITLE.sub("", written_out(first))))
    # Initials run together ('JP' for Jean-Pierre, 'HJ' for Hans-Jürgen): two or three letters
    # and no vowel, which no given name is, are read as initials (not Ng, a surname in the
    # first-name field when the fields are swapped).
    spread = [
        letter
        for token in tokens
        for letter in (token if _RUN_TOGETHER_INITIALS.fullmatch(token) and token != "ng" else [token])
    ]
    return " ".join(spread) or None


#: Degrees and professions written after a surname ('Smith MD', 'Smith, PhD'): not part of
#: it, as a generation (Jr., III) is (``GENERATION_SUFFIXES``: a namesake son).
CREDENTIALS = frozenset(
    {"phd", "md", "dds", "dvm", "esq", "mba", "cpa", "rn", "msc", "bsc", "llm", "beng", "meng", "csc", "dsc", "dis"}
)
#: Those written with full stops ('Ph.D.', 'B.Sc.', 'M.A.'), whose letters come as tokens of one
#: to three letters; two-letter ones only so (Ba and Ma are surnames).
_DOTTED_CREDENTIALS = CREDENTIALS | {"ba", "ma", "thd", "jd"}


def _credentials_at_the_end(tokens: tuple[str, ...]) -> int:
    """How many of the last tokens are a degree written after a surname, leaving one at least."""
    end = len(tokens)
    while end > 1:
        if tokens[end - 1] in CREDENTIALS:
            end -= 1
            continue
        dotted = next(
            (
                size
                for size in (2, 3)
                if end - size >= 1
                and all(len(t) <= 3 for t in tokens[end - size : end])
                and "".join(tokens[end - size : end]) in _DOTTED_CREDENTIALS
            ),
            None,
        )
        if dotted is None:
            break
        end -= dotted
    return len(tokens) - end


def last_name_key(last: str | None) -> str | None:
    """The last name's tokens joined by a space, without a form of address before them
    ('Mrs Smith' typed as the surname) nor a degree after them ('Smith MD') unless nothing
    else is left; None if it has none."""
    if not last:
        return None
    if (reading := CHINESE_SURNAME_READINGS.get(without_honorific(last).strip())) is not None:
        return reading
    tokens = name_tokens(_ABBREVIATED_TITLE.sub("", last))
    kept = _untitled(tokens) or tokens
    if len(kept) < 3 and last.isascii() and (customary := LIBRARY_READINGS.get("".join(kept))) is not None:
        return customary  # 'Zuo Teng' is how Unidecode reads 佐藤: Sato
    return " ".join(kept[: len(kept) - _credentials_at_the_end(kept)]) or None


def name_key(first: str | None, last: str | None) -> str | None:
    """The whole name, order-free: sorted tokens of first and last joined by a space.

    ``('Anne-Sophie', 'Müller')``, ``('Mueller', 'Anne Sophie')`` -> ``'anne muller sophie'``.
    Sorting makes swapped fields and a name part moved between fields agree.
    """
    tokens = (name_tokens(first) if first else ()) + (name_tokens(last) if last else ())
    return " ".join(sorted(tokens)) or None


Agreement = Literal["exact", "close", "different", "missing"]

#: Jaro-Winkler similarity of two keys from which they count as "close". 0.92 takes
#: Schmidt/Schmitt (0.94), Jon/John (0.93), Katherine/Catherine (0.93); it leaves out
#: Hans/Hanna (0.85), Eva/Eve (0.82), Müller/Möller (0.90). It also takes Paul/Paula (0.96) or
#: Alexander/Alexandra (0.96): "close" is never proof of the same person.
CLOSE_SIMILARITY = 0.92

_SCORE = {"exact": 2, "close": 1, "different": 0, "missing": 0}

# Endings that make a different, usually opposite-gender, given name out of a whole one, never
# a spelling variant of it: Jean/Jeanne, Julien/Julienne, Daniel/Danielle, Michel/Michelle,
# Paul/Pauline, Jan/Janine, Henri/Henriette. Such pairs are typically two members of one
# household (same last name, phone, postcode), so they are "different" although Jaro-Winkler
# rates them close (Jean/Jeanne 0.93). Bare '-a'/'-e' are not here: Ann/Anna/Anne,
# Carolin/Caroline, Christin/Christine are one name. Known gap: Paul/Paula, Louis/Louise,
# Simon/Simone, Martin/Martina stay "close".
_GENDERED_SUFFIXES = ("ne", "le", "ine", "ette")


def _gendered_pair(x: str, y: str) -> bool:
    """Two single-word names that are gendered forms of one stem (see _GENDERED_SUFFIXES),
    or differ by a final -o against -a/-e (Mario/Maria/Marie, Paolo/Paola, Carlo/Carla)."""
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    if len(short) >= 3 and long_.startswith(short) and long_[len(short) :] in _GENDERED_SUFFIXES:
        return True
    return len(x) == len(y) >= 3 and x[:-1] == y[:-1] and {x[-1], y[-1]} in ({"o", "a"}, {"o", "e"})


# Transliteration variants of one name (Cyrillic in particular): Yuliya/Julia/Iulia,
# Aleksey/Alexei, Iwanow/Ivanov, Natalya/Natalia, Sergey/Sergei; and the French and German
# systems' letter clusters for one sound (Щ shch/chtch/schtsch, Ч ch/tch/tsch, Ш sh/sch, У
# u/ou): Shcherbakov/Chtcherbakov/Schtscherbakow, Yuri/Iouri/Juri. Word for word, one
# skeleton is one name, "exact" (a household's 'close' first name may be a sister, Anna and
# Anne; Onufriy and Onufrii are one man, and made a second customer at his street); a
# skeleton within a longer name, or a slip of one, is "close". Side effects, documented:
# Jan/Ian/Yan, Louis/Luis are one name too. Two spellings of one sound in Latin-script names
# fold too: 'ph' and 'f' (Philip, Filip; Stephan, Stefan), a hard 'c' and 'k' (Carl, Karl;
# Eric, Erik; Marc, Mark; Caitlin, Kaitlin; Dominic, Dominik), 'ck' and 'k'. And 'aa', how
# Danes and Norwegians write 'å' without it (Aasa Aaberg is Åsa Åberg, whose 'å' folds to 'a';
# it was "another given name"); a Dutch 'aa' folds with it (Maarten, Marten: close anyway).
_SKELETON = str.maketrans({"j": "i", "y": "i", "w": "v"})
_REPEATED_I = re.compile(r"i+")
_CLUSTERS = re.compile(r"schtsch|chtch|tsch|tch|sch|ou|ph|ck|aa|c(?=[aoulrtk]|$)")
_CLUSTER_SOUND = {
    **{"schtsch": "shch", "chtch": "shch", "tsch": "ch", "tch": "ch", "sch": "sh", "ou": "u"},
    **{"ph": "f", "ck": "k", "c": "k", "aa": "a"},
}


#: A Cyrillic Е after a vowel, which English and passport systems spell 'ye' (Nikolayev,
#: Zuyev, Alekseyev) and anyascii 'e' (Nikolaev, Zuev, Alekseev).
_YE_AFTER_A_VOWEL = re.compile(r"(?<=[aeou])ie")


def _skeleton(key: str) -> str:
    key = _CLUSTERS.sub(lambda found: _CLUSTER_SOUND[found.group()], key)
    skeleton = _REPEATED_I.sub("i", key.replace("x", "ks").translate(_SKELETON))
    if (ye := _YE_AFTER_A_VOWEL.sub("e", skeleton)) != skeleton:
        skeleton = _DIGRAPH.sub("", ye)  # as a Latin 'Nikolaev' reads: 'nikolav'
    # A Cyrillic Е that begins a name is 'Ye' in one spelling, 'E' in another (Yevgeny, Evgeny).
    return skeleton[1:] if skeleton.startswith("ie") else skeleton


#: Diminutives the English table of the ``nicknames`` package (about 1,150 given names) does
#: not have: the scopes' other languages, as shop assistants and buyers write them.
DIMINUTIVES: dict[str, tuple[str, ...]] = {
    # German
    "johannes": ("hans", "hannes", "jo"),
    "josef": ("sepp", "seppi", "beppo", "jupp"),
    "friedrich": ("fritz",),
    "katharina": ("kathi", "kati", "katha", "kathrin", "kate", "katie", "trine", "katja"),
    "stefanie": ("steffi",),
    "susanne": ("susi", "sanne"),
    "andreas": ("andi", "andy", "anderl"),
    "sebastian": ("basti",),
    "florian": ("flo",),
    "wolfgang": ("wolf", "wolfi"),
    "franziska": ("franzi", "fanny"),
    "elisabeth": ("lisa", "liesl", "liesel", "lis", "elli", "sissi", "betty", "liz", "beth"),
    "magdalena": ("lena", "leni", "magda", "madzia"),
    "margarete": ("grete", "gretel", "gretchen"),
    "ulrich": ("uli",),
    "gabriele": ("gabi", "lele"),  # German and Italian
    "cornelia": ("conny",),
    "barbara": ("babsi", "basia"),
    "theresa": ("resi",),
    "therese": ("resi",),
    "anton": ("toni",),
    "nikolaus": ("klaus",),
    "charlotte": ("lotte",),
    "gerhard": ("gerd",),
    "heinrich": ("heinz", "heini"),
    "bernhard": ("bernd",),
    "johanna": ("hanna", "hanni"),
    "wilhelm": ("willi",),
    "alexander": ("sascha", "sasha", "alex"),
    "ursula": ("uschi", "ulla"),
    "karl": ("kalle",),
    # French
    "jean": ("jeannot",),
    "francois": ("francky",),
    "dominique": ("dom",),
    "frederic": ("fred",),
    "christophe": ("chris",),
    "nicolas": ("nico",),
    "guillaume": ("guigui",),
    "catherine": ("cathy", "kate"),
    "isabelle": ("isa", "babette"),
    "emmanuel": ("manu",),
    "marguerite": ("margot",),
    "pierre": ("pierrot",),
    # Spanish
    "francisco": ("paco", "pancho", "curro", "fran"),
    "jose": ("pepe", "chema", "pepito"),
    "manuel": ("manolo", "manu"),
    "ignacio": ("nacho",),
    "enrique": ("quique",),
    "dolores": ("lola",),
    "rosario": ("charo",),
    "concepcion": ("concha", "conchi", "conchita"),
    "guadalupe": ("lupe",),
    "mercedes": ("merche",),
    "pilar": ("pili",),
    "jesus": ("chucho", "chus"),
    "antonio": ("toni", "tono"),
    "alejandro": ("alex", "ale"),
    "alejandra": ("ale", "alex"),
    "josefa": ("pepa",),
    "consuelo": ("chelo",),
    "fernando": ("nando",),
    "guillermo": ("memo",),
    "eduardo": ("lalo",),
    # Italian
    "giuseppe": ("beppe", "peppe", "peppino", "pino"),
    "giuseppina": ("pina", "peppina"),
    "luigi": ("gigi", "gino"),
    "alessandro": ("sandro", "ale", "alex"),
    "alessandra": ("sandra", "ale"),
    "francesco": ("franco", "checco", "cesco"),
    "giovanni": ("gianni", "nanni", "vanni"),
    "domenico": ("mimmo",),
    "salvatore": ("toto", "turi"),
    "vincenzo": ("enzo",),
    "lorenzo": ("enzo",),
    "roberto": ("roby",),
    "federico": ("fede",),
    "raffaele": ("lele",),
    "elisabetta": ("betta", "lisa"),
    "margherita": ("rita",),
    "caterina": ("rina",),
    # Polish
    "krzysztof": ("krzys", "kris"),
    "katarzyna": ("kasia", "kaska"),
    "malgorzata": ("gosia", "malgosia"),
    "tomasz": ("tomek",),
    "wojciech": ("wojtek",),
    "aleksander": ("olek",),
    "agnieszka": ("aga", "agnes"),
    "jozef": ("jozek",),
    "stanislaw": ("staszek", "stan"),
    "zbigniew": ("zbyszek",),
    "joanna": ("asia",),
    "anna": ("ania",),
    "pawel": ("pawelek",),
    "piotr": ("piotrek",),
    "jakub": ("kuba",),
    "michal": ("michalek",),
    "lukasz": ("lukas",),
    # Russian (as transliterated)
    "aleksandr": ("sasha", "sascha", "sanya", "shura"),
    "aleksandra": ("sasha", "sascha", "shura"),
    "mikhail": ("misha",),
    "dmitry": ("dima",),
    "dmitri": ("dima",),
    "nikolai": ("kolya",),
    "ivan": ("vanya",),
    "natalia": ("natasha",),
    "natalya": ("natasha",),
    "maria": ("masha", "mari", "maruja"),
    "ekaterina": ("katya", "katja"),
    "yekaterina": ("katya", "katja"),
    "elena": ("lena",),
    "svetlana": ("sveta",),
    "olga": ("olya",),
    "tatiana": ("tanya",),
    "tatyana": ("tanya",),
    "sergei": ("seryozha",),
    "sergey": ("seryozha",),
    "evgeny": ("zhenya",),
    "evgeniya": ("zhenya",),
    "vladimir": ("volodya", "vova"),
    "anastasia": ("nastya",),
    "yulia": ("yulya",),
    "pavel": ("pasha",),
}


#: Spellings of one name romanized from Arabic, Turkish, Persian or Urdu, as found on European
#: and North American orders (a passport's, a shop's, the buyer's own): each group is one
#: name. Too far apart for a spelling distance (Yusuf/Youssef 0.82 by Jaro-Winkler), too close
#: for a phonetic key that would also join Peter and Petra.
NAME_VARIANTS: tuple[tuple[str, ...], ...] = (
    ("mohammed", "mohamed", "muhammad", "muhammed", "mohammad", "mohamad", "mohamet", "mehmet", "mehmed"),
    ("yusuf", "youssef", "yousef", "yousuf", "yusef", "youssouf", "yussuf"),
    ("ahmed", "ahmad", "ahmet"),
    ("hassan", "hasan"),
    ("hussein", "husain", "hussain", "husein", "hossein", "huseyin"),
    ("mustafa", "moustafa", "mostafa", "moustapha", "mustapha"),
    ("khaled", "khalid", "halit"),
    ("omar", "umar", "omer", "ömer"),
    ("ibrahim", "ebrahim", "ibrahima"),
    ("abdullah", "abdallah", "abdulla"),
    ("abdul", "abdel", "abdal"),
    ("said", "saeed", "saied", "sayed", "sayyid"),
    ("karim", "kareem"),
    ("rashid", "rachid", "rasheed", "reşit", "resit"),
    ("walid", "waleed", "velid"),
    ("jamal", "djamel", "jamel", "cemal"),
    ("nasser", "nasir", "nacer", "naser"),
    ("osman", "othman", "usman", "uthman"),
    ("ali", "aly"),
    ("fatima", "fatma", "fatimah", "fatemeh"),
    ("aisha", "aicha", "ayesha", "aysha", "ayse", "ayşe"),
    ("khadija", "khadidja", "hatice", "khadijah"),
    ("zainab", "zeynep", "zaynab"),
    ("maryam", "meryem", "mariam"),
    ("layla", "leila", "leyla", "laila"),
    ("yasmin", "yasmine", "jasmin", "yasemin"),
    ("nour", "noor", "nur"),
    ("amina", "aminah", "emine"),
    # Greek, as passports (ISO 843) and their bearers (by sound) write them.
    ("georgios", "giorgos", "yiorgos", "yorgos"),
    ("ioannis", "giannis", "yannis", "ioannes"),
    ("dimitrios", "dimitris"),
    ("konstantinos", "kostas", "constantinos"),
    ("panagiotis", "panos", "panayiotis"),
    ("vasileios", "vasilis", "vassilis"),
    ("athanasios", "thanasis", "thanos"),
    ("evangelos", "vangelis"),
    ("christos", "hristos"),
    ("aikaterini", "katerina", "ekaterini"),
    ("eleftheria", "eleutheria"),
    # English spellings of one name that no letter rule joins (a till writes what it hears).
    ("stephen", "steven", "stefan", "stevan"),
    ("jeffrey", "geoffrey", "jeffery", "geoffery"),
    ("sean", "shaun", "shawn"),
    ("aidan", "aiden", "aydan", "ayden"),
    ("caitlin", "kaitlyn", "katelyn", "caitlyn", "kaitlin", "katelynn"),
    ("kathryn", "catherine", "katherine", "kathrine", "cathryn", "katharine", "kathryne"),
    ("isabel", "isabelle", "ysabel", "izabel"),
    ("rebecca", "rebekah", "rebeca", "rebekka"),
)


@lru_cache(maxsize=1)
def _nicknames() -> dict[str, frozenset[str]]:
    """Given name -> its diminutives and other spellings: the ``nicknames`` package's table,
    ``DIMINUTIVES`` and ``NAME_VARIANTS``, read as :func:`name_tokens` writes names (read on
    first use, not at import)."""
    table: dict[str, set[str]] = {}
    variants = ((name, group) for group in NAME_VARIANTS for name in group)
    for name, nicks in (*NickNamer.default_lookup().items(), *DIMINUTIVES.items(), *variants):
        key = "".join(name_tokens(name))
        table.setdefault(key, set()).update("".join(name_tokens(n)) for n in nicks)
        table[key].discard(key)
    return {name: frozenset(nicks) for name, nicks in table.items()}


def is_diminutive(t: str, u: str) -> bool:
    """One word is a diminutive of the other (Liz of Elizabeth, Paco of Francisco, Sasha of
    Aleksandr) or another spelling of it (Youssef, Yusuf): one person's name. Never two forms
    of one diminutive (Alexander and Alexandra are both Alex, and siblings)."""
    table = _nicknames()
    return u in table.get(t, ()) or t in table.get(u, ())


def _token_matches(t: str, u: str) -> bool:
    """Same word, or one is the initial of the other ('j' for 'jean'; a digit is no initial:
    'Buyer 1' is not 'Buyer 12'), or a diminutive of it ('liz' for 'elizabeth')."""
    return (
        t == u
        or (len(t) == 1 and t.isalpha() and u.startswith(t))
        or (len(u) == 1 and u.isalpha() and t.startswith(u))
        or is_diminutive(t, u)
    )


#: Words that begin surnames in the scopes' languages and are dropped, kept or written
#: together with the rest ('de La Fontaine', 'La Fontaine', 'Lafontaine'; 'van der Berg').
SURNAME_PARTICLES = frozenset(
    {"de", "la", "le", "du", "des", "del", "della", "di", "da", "do", "dos", "das", "van", "von", "der", "den"}
    | {"ten", "ter", "zu", "y", "al", "el", "vd"}
)


def _without_particles(tokens: tuple[str, ...]) -> set[str]:
    """The name run together, with none, some or all of its leading particles left out."""
    forms = set()
    for start in range(len(tokens)):
        if start and tokens[start - 1] not in SURNAME_PARTICLES:
            break
        if rest := "".join(tokens[start:]):
            forms.add(rest)
    return forms


def _covered(short: tuple[str, ...], long_: tuple[str, ...]) -> bool:
    """Every word of ``short`` matches a distinct word of ``long_`` (a middle name or a second
    last name on one side only, or initials: 'Jean' ~ 'Jean Pierre', 'J P' ~ 'Jean Pierre'),
    one of them perhaps with a slip of a key ('Cabaredda' ~ 'Cabareda Sánchez')."""
    left = list(long_)
    for t in short:
        hit = next((i for i, u in enumerate(left) if t == u), None)  # whole words first
        if hit is None:
            hit = next((i for i, u in enumerate(left) if _token_matches(t, u)), None)
        if hit is None:
            hit = next((i for i, u in enumerate(left) if _slip(t, u)), None)
        if hit is None:
            return False
        del left[hit]
    return True


def _initialled(x: tuple[str, ...], y: tuple[str, ...]) -> bool:
    """The same names, a later one written as its initial on one side ('Jessica L' and
    'Jessica Lynn', 'Jonathan M' and 'Jonathan Michael') or as an initial on one side only
    ('Linda' and 'Linda A'): one person's full name, as a father and his namesake son share
    theirs whole. Not a middle name written out on one side only ('Jean' and 'Jean Pierre'
    may be father and son)."""
    if x[0] != y[0] or len(x[0]) < 2 or len(x) == len(y) == 1:
        return False
    if len(x) != len(y):
        short, long_ = (x, y) if len(x) < len(y) else (y, x)
        # A digit is no initial: 'Buyer 1' is not 'Buyer 12'.
        return len(short) == 1 and all(len(t) == 1 and t.isalpha() for t in long_[1:])
    return all(
        a == b or (min(len(a), len(b)) == 1 and a[0] == b[0] and a[0].isalpha())
        for a, b in zip(x[1:], y[1:], strict=True)
    )


_DIGRAPH_SOUNDS = re.compile(r"[sczk]h|t[sz]")
_DIGRAPH_LETTER = {"sh": "s", "ch": "c", "zh": "z", "kh": "h", "ts": "c", "tz": "c"}


def _coarse(key: str) -> str:
    """A key with the sounds that transliterations of Cyrillic spell two ways written one way
    (j, y and i as the skeleton has them): a digraph as one letter ('sh', 'ch', 'zh', 'kh', 'ts' of anyascii and
    English-style systems, the 'š', 'č', 'ž', 'h', 'c' of Serbian Latin and ISO 9: Militsa,
    Milica; Zaitseva, Zajceva; Zhuravleva, Žuravleva), and every 'h' a 'g' (Ukrainian passports
    spell Г 'h': Halyna, Hryhorii, Olha; Russian ones, anyascii and Unidecode 'g': Galina,
    Grigorii, Olga). The library ``transliterate`` wrote 112 of Faker's 1,000 Ukrainian names
    so, and ISO 9 17 of 1,000 Russian ones: all "another name" beside their Cyrillic. "close",
    not one name: Latin names that differ only so are other names as often (Harry, Garry;
    Hill, Gill; Bach, Bac)."""
    letters = _REPEATED_I.sub("i", key.replace("x", "ks").translate(_SKELETON))
    return _DIGRAPH_SOUNDS.sub(lambda found: _DIGRAPH_LETTER[found.group()], letters).replace("h", "g")


def _slip(a: str, b: str) -> bool:
    """One key struck wrong, missed, doubled or swapped inside a name of five letters or more,
    its first and last letters kept ('Phnlippe', 'Maon', 'Jaoes'): Jaro-Winkler forgives a
    slip at the end more than one inside. A changed ending is another name (Mario, Maria), and
    so is one vowel for another (Müller, Möller; Karen, Karin)."""
    if max(len(a), len(b)) < 5 or a[0] != b[0] or a[-1] != b[-1] or OSA.distance(a, b, score_cutoff=1) > 1:
        return False
    changed = [pair for pair in zip(a, b, strict=True) if pair[0] != pair[1]] if len(a) == len(b) else []
    return not (len(changed) == 1 and all(letter in "aeiouy" for letter in changed[0]))


def _short_form(x: tuple[str, ...], y: tuple[str, ...]) -> Agreement | None:
    """A given name cut short, as people shorten theirs ('Alex' for 'Alexandre', 'Max' for
    'Maximilian', 'Chris' for 'Christophe'), where no table of diminutives has it: "close".
    Given names only: a surname cut short is another family's (Berg, Bergmann). Not a
    gendered pair (Jean, Jeanne)."""
    if len(x) != 1 or len(y) != 1:
        return None
    short, long_ = sorted((x[0], y[0]), key=len)
    if len(short) < 3 or len(long_) == len(short) or not long_.startswith(short) or _gendered_pair(short, long_):
        return None
    return "close"


@lru_cache(maxsize=65536)
def _agree(x: tuple[str, ...], y: tuple[str, ...]) -> Agreement:
    if not x or not y:
        return "missing"
    if x == y:
        return "exact"
    if len(x) == len(y) and all(_skeleton(a) == _skeleton(b) for a, b in zip(x, y, strict=True)):
        return "exact"  # one name in two transliterations: Aleksey Iwanow, Alexei Ivanov
    kx, ky = " ".join(x), " ".join(y)
    if len(x) == len(y) == 1 and _gendered_pair(kx, ky) and not is_diminutive(kx, ky):
        return "different"  # but two spellings of one name that look gendered: Isabel, Isabelle
    if _initialled(x, y):
        return "exact"
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    if (
        sorted(x) == sorted(y)  # same words, other order ('Sophie Anne')
        or "".join(x) == "".join(y)  # spacing only ('Van der Berg' / 'Vanderberg')
        # and where run together a pinyin 'ue' reads as an umlaut ('Xue Mei', 'Xuemei': 'xumei')
        or name_tokens("".join(x)) == name_tokens("".join(y))
        or bool(_without_particles(x) & _without_particles(y))  # 'de La Fontaine' / 'Lafontaine'
        or _covered(short, long_)
        # Latin and French forms of one name: Anna/Anne, Sophia/Sophie, Maria/Marie (Anna/Anne
        # is only 0.88 by Jaro-Winkler).
        or (len(kx) == len(ky) >= 3 and kx[:-1] == ky[:-1] and {kx[-1], ky[-1]} == {"a", "e"})
        or _skeleton(kx) == _skeleton(ky)
        or JaroWinkler.similarity(kx, ky, score_cutoff=CLOSE_SIMILARITY) >= CLOSE_SIMILARITY
        or _slip(kx, ky)
        or _slip(_skeleton(kx), _skeleton(ky))  # Aleksandr, Alexander
        or _coarse(kx) == _coarse(ky)  # Halyna, Galina; Milica, Militsa: Cyrillic as others spell it
    ):
        return "close"
    return "different"


@dataclass(frozen=True, slots=True)
class NameAgreement:
    """How two names agree, part by part.

    ``first`` is how a's first name agrees with b's first name (with b's last name when
    ``swapped``); ``last`` likewise for a's last name. Each is "exact" (same key), "close"
    (weaker evidence: a typo, a spelling or transliteration variant, a middle name or initial
    on one side only), "different", or "missing" (absent on either side).
    """

    first: Agreement
    last: Agreement
    swapped: bool = False

    @property
    def score(self) -> int:
        """2 per exact part, 1 per close part: how strongly the orientation agrees."""
        return _SCORE[self.first] + _SCORE[self.last]


#: Scripts whose names transliterate one way: anyascii, Unidecode and people write a Cyrillic
#: name alike (Ivanov), and a Chinese one in pinyin (a Han surname read as pinyin tells two
#: families apart: 陈丽 and Li Wang at one street). A name written in any other script has no
#: one Latin spelling: Arabic and Hebrew write no short vowels (يوسف is 'ywsf' to anyascii; its
#: bearer writes Youssef, Yusuf or Yousef), Korean given names are romanized many ways (지훈:
#: jihun, Ji-hoon, Jee Hoon), Greek has a classical and a modern system (Unidecode writes
#: Ζαφείρης 'Zapheires', passports 'Zafeiris': 102 of 200 Greek names of Faker's el_GR read by
#: Unidecode disagreed with our reading), Devanagari, Georgian and Thai are read with long
#: vowels doubled or not, with marks or not (73, 37 and 34 of 200). Compared with one in Latin
#: letters, it may agree (the same transliteration, a customary surname) but never tells two
#: people apart (``name_script``).
COMPARABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "CJK"})


#: Unicode names' first words that are not a script: a letter's width or a modifier ('ʻ').
_NOT_A_SCRIPT = frozenset({"FULLWIDTH", "HALFWIDTH", "MODIFIER", "COMBINING"})


@lru_cache(maxsize=65536)
def name_script(text: str) -> str | None:
    """The script of a name without one Latin spelling (not in ``COMPARABLE_SCRIPTS``), or None.

    A Japanese name is one: written in kana, or with a kanji surname of Japan's
    (``CUSTOMARY_SURNAMES``: 佐藤), its given name in kanji has readings anyascii cannot know
    (明美 is Akemi to its bearer, 'mingmei' read as Chinese): "JAPANESE"."""
    if any(word in CUSTOMARY_SURNAMES and _KANJI.match(word) for word in text.split()):
        return "JAPANESE"
    for ch in text:
        if ch.isalpha() and ord(ch) >= 0x250:
            words = unicodedata.name(ch, "").split()
            if not words:
                continue
            if "HIRAGANA" in words[:2] or "KATAKANA" in words[:2]:
                return "JAPANESE"
            script = words[1] if words[0] in ("FULLWIDTH", "HALFWIDTH") and len(words) > 1 else words[0]
            if script not in COMPARABLE_SCRIPTS and script not in _NOT_A_SCRIPT:
                return script
    return None


#: What a consonant skeleton reads as vowels: the vowels, and w, y and v, which Arabic and
#: Hebrew also write for long vowels (يوسف is 'ywsf' letter by letter, Youssef in Latin letters).
_VOWELS = frozenset("aeiouywv")
_TRAILING_H = re.compile(r"(?<=[^sckgtdzh])h$|(?<=h)h$")  # ة and Fatimah's h; not the h of 'sh', 'kh'


@dataclass(frozen=True)
class Abjad:
    """A name key read as Arabic and Hebrew write names: its consonants (a letter doubled, or
    twice with a vowel between, once: Haddad, حداد) and what stands before each one and after
    the last (``vowels``): in the script a long vowel's letter or nothing (short vowels are
    not written), in Latin letters whatever vowels the spelling has."""

    consonants: str
    vowels: tuple[str, ...]

    def spells(self, written: Abjad) -> bool:
        """This Latin spelling could be the name ``written`` in the script: the same consonants,
        a vowel wherever the script writes a long one, and no long vowel (two letters: 'ou',
        'ei') where it writes none: Mohammed is محمد, Mahmoud is not (محمود is), Hussein is not
        حسن (Hasan)."""
        return self.consonants == written.consonants and all(
            (latin or not script) and (script or len(latin) < 2)
            for latin, script in zip(self.vowels, written.vowels, strict=True)
        )


@lru_cache(maxsize=65536)
def abjad(key: str | None) -> Abjad | None:
    """``Abjad`` of a name key (word breaks are a transliterator's: 'Abd Allah', 'Abdullah');
    under two consonants it tells nothing (علي 'ly', Ali, Leila): None."""
    if not key:
        return None
    text = _TRAILING_H.sub("", key.replace(" ", "").replace("q", "k").replace("'", "").replace("`", ""))
    consonants: list[str] = []
    vowels: list[str] = []
    pending = ""
    for ch in text:
        if ch in _VOWELS:
            pending += ch
        elif consonants and consonants[-1] == ch:
            pending = ""  # one consonant, written twice
        else:
            consonants.append(ch)
            vowels.append(pending)
            pending = ""
    if len(consonants) < 2:
        return None
    return Abjad("".join(consonants), (*vowels, pending))


#: What transliteration systems write differently for one letter: Greek φ 'ph' or 'f', χ 'kh'
#: or 'ch', θ 'th', β 'b' or 'v', ευ/αυ 'eu' or 'ef'/'ev'; Georgian and Devanagari aspirates
#: and affricates ('ts'/'c', 'dz'/'z').
_TRANSLITERATIONS = re.compile(r"[ae]u|ph|kh|ch|th|ts|tz|dz|x|b|v")
_ONE_LETTER = {
    "ph": "f",
    "kh": "h",
    "ch": "h",
    "th": "t",
    "ts": "c",
    "tz": "c",
    "dz": "z",
    "x": "h",
    "b": "f",
    "v": "f",
    "au": "af",
    "eu": "ef",
}
_NOT_LETTERS = re.compile(r"[\s'`]+")
_DOUBLED = re.compile(r"(.)\1+")
_A_VOWEL = re.compile(r"[aeiouyw]")


@lru_cache(maxsize=65536)
def consonants(key: str, *, vowels: bool = True) -> str:
    """A name key's consonants, one letter for each that transliteration systems spell two
    ways, doubled letters once, and each vowel a vowel whichever it is ('V'): 'Zapheires'
    (Unidecode's Ζαφείρης) and 'zafeiris' (ours, the passport's) are both 'zVfVVrVs';
    'Naaraaynn' and 'narayn' are 'nVrVVn'. Not a vowel more or less: 지훈 'jihun' is not
    재훈 'jaehun', キョウスケ 'kyousuke' not Kosuke. Without ``vowels``, for a name read from
    a script that writes few (Hebrew אריה 'aryh', Arieh): the consonants alone."""
    folded = _TRANSLITERATIONS.sub(lambda found: _ONE_LETTER[found.group()], key.lower())
    letters = _DOUBLED.sub(r"\1", _NOT_LETTERS.sub("", folded))
    return _A_VOWEL.sub("V", letters) if vowels else _DOUBLED.sub(r"\1", _A_VOWEL.sub("", letters))


def few_vowels(key: str) -> bool:
    """A key read from a script that writes few vowels (an abjad: anyascii's 'mhmd', 'aryh')."""
    letters = [ch for ch in key if ch.isalpha()]
    return bool(letters) and sum(ch in "aeiou" for ch in letters) * 3 < len(letters)


def written_in_latin(text: str) -> bool:
    """Every letter of ``text`` is a Latin one (accented, Vietnamese and Turkish letters too)."""
    return all(not ch.isalpha() or ord(ch) < 0x250 or unicodedata.name(ch, "").startswith("LATIN ") for ch in text)


#: Suffixes that tell a generation of one family apart, as written after a surname.
GENERATION_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def _generation(last: tuple[str, ...]) -> str | None:
    """The generation a surname is written with ('Smith Jr.'), if any: a namesake son's or
    father's mark. Written on one side only, the two are two people (the one who never wrote
    it may be either, but a merge of a father and son is the costlier mistake)."""
    return next((t for t in last[1:] if t in GENERATION_SUFFIXES), None)


@lru_cache(maxsize=16384)
def compare_names(a_first: str | None, a_last: str | None, b_first: str | None, b_last: str | None) -> NameAgreement:
    """Compare a's name with b's, straight and with b's fields swapped; keep the orientation
    that agrees more (straight on a tie, so swapping needs evidence of its own).

    ``compare_names('Anna', 'Schmidt', 'Anne', 'Schmidt')`` -> first="close", last="exact";
    ``compare_names('Иванов', 'Юлия', 'Yuliya', 'Ivanov')`` -> exact, exact, swapped.
    """
    af, al = name_tokens(a_first) if a_first else (), name_tokens(a_last) if a_last else ()
    bf, bl = name_tokens(b_first) if b_first else (), name_tokens(b_last) if b_last else ()
    last = _agree(al, bl)
    if last != "different" and _generation(al) != _generation(bl):
        last = "different"  # 'Tyler Thornenster Jr.' is not Tyler Thornenster: his son
    straight = NameAgreement(_short_form(af, bf) or _agree(af, bf), last, False)
    if straight.score == 4:
        return straight  # cannot be beaten: skip the swapped comparison
    if ((af and al) or (bf and bl)) and len(af + al) > 1 and af + al == bf + bl:
        # One full name split at another space ('María García' / 'López' from a marketplace's
        # one name field, cut before its last word; 'Rik van' / 'Nus'), or written whole in
        # the last name's field (a till's one 'name' box): the same name.
        return NameAgreement("exact", "exact", False)
    swapped = NameAgreement(_agree(af, bl), _agree(al, bf), True)
    return swapped if swapped.score > straight.score else straight


# --- postal codes ---------------------------------------------------------------------------

#: Countries whose postal codes are 5 digits and may start with 0, so spreadsheets and old
#: systems that stored them as numbers turned '01067' into '1067': DE, FR (and Monaco's 980xx
#: need none), ES, IT (with VA/SM), FI, MX, LT, MY, TR, UA, KR, DZ. A 4-digit code there gets
#: its one zero back. Deliberately not padded: 5-digit countries without leading zeros (SE,
#: GR, HR, EE), and 3-digit remnants where no code starts with two zeros ('100' in Germany,
#: where none does, is no code that lost its zeros).
FIVE_DIGIT_POSTAL_COUNTRIES = frozenset(
    {"DE", "FR", "ES", "IT", "VA", "SM", "FI", "MX", "LT", "MY", "TR", "UA", "KR", "DZ"}
)

#: Those of them with codes that start with two zeros (Rome's 00100-00199, the Vatican's
#: 00120, Helsinki's 00100-00990): three digits there are such a code that lost both its
#: zeros as a number ('100' -> '00100'). Not two digits, though Rome's province has 000xx
#: codes: too little of a code to be sure it is one.
FIVE_DIGIT_POSTAL_COUNTRIES_FROM_TWO_ZEROS = frozenset({"IT", "VA", "FI"})

#: Countries whose postal codes are 4 digits, some starting with 0 (Oslo 0150, Darwin 0800,
#: Auckland 0600, Pretoria 0002): a 3-digit code there gets its one zero back, as above.
#: Not AT, CH, BE, DK, HU, LU: their codes start at 1000.
FOUR_DIGIT_POSTAL_COUNTRIES_FROM_ZERO = frozenset({"NO", "AU", "NZ", "ZA"})

#: Countries whose codes are longer and some start with 0, by length: Brazil's CEP (São
#: Paulo's 01000-000 to 09999-999), Japan's (Hokkaido's 0xx-xxxx), China's (Inner
#: Mongolia's 01xxxx). One lost zero comes back, as above.
LONGER_POSTAL_CODES_FROM_ZERO = {"BR": 8, "JP": 7, "CN": 6}

# Country prefixes written before numeric codes: the old European vehicle codes ('D-70586',
# 'F-75001', 'A-1010', 'CH-8001', 'I-00100') and ISO codes ('DE-70586', 'FR 75001').
_POSTAL_PREFIXES = frozenset(
    {
        "D",
        "DE",
        "F",
        "FR",
        "A",
        "AT",
        "CH",
        "I",
        "IT",
        "E",
        "ES",
        "B",
        "BE",
        "L",
        "LU",
        "DK",
        "S",
        "SE",
        "N",
        "NO",
        "FI",
        "FIN",
        "SF",
        "P",
        "PT",
        "PL",
        "CZ",
        "SK",
        "H",
        "HU",
        "SLO",
        "SI",
        "HR",
        "GR",
        "LI",
        "FL",
        "MC",
        "EE",
        "LV",
        "LT",
        "RO",
        "BG",
        "CY",
        "IS",
        "US",
        "USA",
    }
)
# Countries whose codes contain letters: a leading 'SW', 'D', 'E' is part of the code there
# (GB 'E1 6AN', IE 'D02 X285', CA 'K1A 0B1', NL '1234 AB', MT 'VLT 1117').
_ALPHANUMERIC_POSTAL_COUNTRIES = frozenset(
    {"GB", "UK", "IE", "CA", "NL", "MT", "AR", "BN", "JM", "SO", "GG", "JE", "IM"}
)
_PREFIXED = re.compile(r"^([A-Z]{1,3})[\s\-.]*(\d[\d\s\-.]*)$")
#: The whole postcode of a country whose codes mix letters and digits, as written.
_POSTCODE_SHAPES = {
    "GB": re.compile(r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"),
    "CA": re.compile(r"[A-Z]\d[A-Z]\s*\d[A-Z]\d"),
    "IE": re.compile(r"[A-Z]\d[\dW]\s*[A-Z\d]{4}"),
    "NL": re.compile(r"\d{4}\s*[A-Z]{2}"),
}


#: Each shape as a word of its own in a longer text ('LONDON SW1A 1AA').
_POSTCODE_WORDS = {
    country: re.compile(rf"(?<![A-Z0-9]){shape.pattern}(?![A-Z0-9])") for country, shape in _POSTCODE_SHAPES.items()
}


#: Countries whose postal codes are digits only (a dash or space inside, as PT '1000-001' or
#: PL '00-950'): letters beside them are a town, a CEDEX or a state typed into the field
#: ('70586 Stuttgart', '75008 CEDEX 08', 'NSW 2000'), not part of the code.
_NUMERIC_POSTAL_COUNTRIES = FIVE_DIGIT_POSTAL_COUNTRIES | frozenset(
    {"US", "AT", "CH", "LI", "BE", "LU", "DK", "NO", "SE", "PL", "PT", "CZ", "SK", "HU", "SI", "HR", "GR"}
    | {"EE", "LV", "RO", "BG", "CY", "IS", "AU", "NZ", "JP", "BR", "IN", "CN", "RU", "IL", "ZA", "TH"}
)
_DIGIT_RUN = re.compile(r"\d(?:[\d\s\-.]*\d)?")
_NOT_POSTAL = re.compile(r"[^0-9A-Z]+")


_ZIP_PLUS_4 = re.compile(r"^\s*(\d{3,5})\s*-\s*\d{4}\s*$")


def postal_key(raw: str | None, country: str | None) -> str | None:
    """The postal code as a comparable key: upper case, letters and digits only.

    ``'D-70586'`` -> ``'70586'``; US ``'94105-1234'`` -> ``'94105'``; DE ``'1067'`` ->
    ``'01067'``; IT ``'100'`` -> ``'00100'``; IN ``'११०००१'`` -> ``'110001'``; GB
    ``'sw1a 1aa'`` -> ``'SW1A1AA'``; ``''`` -> None. ``country`` is an ISO 3166 alpha-2 code
    (any case) or None (then no padding is done).
    """
    if not raw:
        return None
    country = country.strip().upper() if country else None
    # Digits of any script ('११०००१', Arabic-Indic '١٠١١٩', Persian '۱۱۳۶۹'): those digits, as
    # in phones and amounts; fold: stray accents gone.
    code = fold(plain_digits(raw)).upper()
    prefixed = _PREFIXED.match(code)
    if prefixed and prefixed.group(1) in _POSTAL_PREFIXES and country not in _ALPHANUMERIC_POSTAL_COUNTRIES:
        code = prefixed.group(2)  # 'D-70586' -> '70586': the prefix only names the country
    if (shape := _POSTCODE_SHAPES.get(country or "")) is not None and not shape.fullmatch(code):
        if (found := _POSTCODE_WORDS[country or ""].search(code)) is not None:
            # 'GB-SW1A 1AA', 'NL-1234 AB', 'SW1A 1AA London', 'Ottawa, ON K1A 0B1': a country's
            # code, a town or a province beside the postcode is no part of it.
            code = found.group()
        elif not any(c.isdigit() for c in code):
            return None  # 'N/A', a town: no code at all
    if country in _NUMERIC_POSTAL_COUNTRIES and re.search("[A-Z]", code):
        digits = _DIGIT_RUN.search(code)
        if digits is None:
            return None  # a town where the code should be: no code at all
        code = digits.group()  # '70586 STUTTGART' -> '70586', 'CEDEX 75001' -> '75001'
    if country == "US" and (zip_plus_4 := _ZIP_PLUS_4.match(code)):
        code = zip_plus_4.group(1)  # '2169-4278' (a spreadsheet ate the zero) -> '02169'
    code = _NOT_POSTAL.sub("", code)
    if not code or not code.strip("0"):
        return None  # '00000': a form's placeholder, no place's code
    if country == "US" and code.isdigit():
        if len(code) in (8, 9):
            # ZIP+4 run together: the +4 is a delivery segment, the ZIP is the area; with 8
            # digits the ZIP lost its leading zero (spreadsheets read ZIPs as numbers).
            return code[: len(code) - 4].zfill(5)
        if 3 <= len(code) <= 4:
            return code.zfill(5)  # ZIPs start with up to two zeros (00501, 02134)
    elif country in FIVE_DIGIT_POSTAL_COUNTRIES and code.isdigit() and len(code) == 4:
        return "0" + code  # one lost leading zero, nothing bolder
    elif country in FIVE_DIGIT_POSTAL_COUNTRIES_FROM_TWO_ZEROS and code.isdigit() and len(code) == 3:
        return "00" + code  # Rome's or Helsinki's '00100', sent as the number 100
    elif country in FOUR_DIGIT_POSTAL_COUNTRIES_FROM_ZERO and code.isdigit() and len(code) == 3:
        return "0" + code
    elif (length := LONGER_POSTAL_CODES_FROM_ZERO.get(country or "")) and code.isdigit() and len(code) == length - 1:
        return "0" + code
    return code


# --- phones ---------------------------------------------------------------------------------


def phone_key(raw: str | None, country: str | None) -> str | None:
    """The number in E.164 (``'+33612345678'``), or None if it cannot be read. Never raises.

    ``country`` (ISO alpha-2, any case) is the region of numbers written without a country
    code. phonenumbers already reads the forms seen on orders ('+33 (0)6 ...', '0049 30 ...',
    '1-415-555-0132', '415.555.0132'); two pre-cleanings are added here:
    - the country is upper-cased (phonenumbers rejects 'fr');
    - a leading '00' is read as '+' with no country known (it is the international prefix
      of most of the world, and without a region phonenumbers cannot read it at all), before
      the country's own code ('0081 80-9141-7776' in Japan, which dial 010), and where the
      country's prefix is another ('001-362-876-2230' in the US, which dial 011).
    A written extension is kept, in RFC 3966's form (``'+13039865797;ext=12345'``).
    """
    if not raw or not isinstance(raw, str):
        return None
    return _phone_key(raw, country if isinstance(country, str) else None)


@lru_cache(maxsize=32768)  # a returning customer's number: parsing it costs about 100 µs
def _phone_key(raw: str, country: str | None) -> str | None:
    region = country.strip().upper() if country and country.strip() else None
    text = _without_labels(raw.strip())
    if text.startswith("00") and (
        region is None or _PUNCTUATION.sub("", text)[2:].startswith(str(phonenumbers.country_code_for_region(region)))
    ):
        # '00' and the country's own code: the number written for callers abroad, in the form
        # of the countries whose international prefix is '00', where the country's own is
        # another ('0081 80-9141-7776' in Japan, which dial 010; '0061 2 4177 7631' in
        # Australia, 0011): read from Japan it was another number (+81 0081...).
        text = "+" + text[2:]
    text = _mexican_mobile(text, region)
    # '+49(0)0801716289': the trunk zero written twice, bracketed and then in the number
    # (phonenumbers keeps the second as a leading zero of the number: +490801716289).
    text = _TRUNK_ZERO_TWICE.sub(" ", text)
    try:
        e164 = normalize_phone(text, region)
    except (InvalidValue, ValueError, TypeError):
        if "(0)" in text:
            # '+34 (0)610 36 20 83': a trunk zero written by habit where the country has none
            # (Spain, the US); phonenumbers drops it only where there is one.
            return _phone_key(text.replace("(0)", " "), country)
        if text.startswith("00") and region is not None:
            # '001-362-876-2230' in the US: '00' is the international prefix of most of the world
            # and typed so where it is not (the US dial 011: Faker writes 15% of its US numbers so).
            return _phone_key("+" + text[2:], None)
        return _first_of_several(text, region)
    if text.startswith("00") and not _valid(e164) and (abroad := _valid("+" + text[2:])):
        # '0049 171 1234567' at a Japanese shop (Japan dials 010 abroad): a number written
        # the European way, which the plan of the shop's country does not assign.
        return abroad
    if region and (digits := _PUNCTUATION.sub("", text)).isdigit() and (bare := _with_country_code(digits, region)):
        return bare
    if _MAYBE_EXTENSION.search(text) and (extension := phonenumbers.parse(text, region).extension):
        # A switchboard's number and an extension (a marketplace's masked number, an office):
        # the number alone is shared by everyone behind it, the extension tells who.
        return f"{e164};ext={extension}"
    return e164


_PUNCTUATION = re.compile(r"[\s\-./()]")


def _without_labels(text: str) -> str:
    """The number without the words written beside it ('0171 1234567 (mobil)', 'Handy',
    '(home)', 'Tel.:'): phonenumbers dials a word of three letters or more as a vanity
    number's letters and adds them to the number ('+49171123456766245'). A word joined to
    digits ('1-800-FLOWERS') and an extension's marker ('ext. 12', 'x12') stay."""
    if not _LETTER.search(text):
        return text
    words = text.split()
    labels = [_is_label(word) for word in words]
    if not any(labels):
        return text
    numbers = [i for i, label in enumerate(labels) if not label]
    if not numbers:
        return text
    # Between two numbers, a word parts them ('06 12 34 56 78 ou 01 45 67 89 10').
    return " ".join(
        word if not label else "/"
        for i, (word, label) in enumerate(zip(words, labels, strict=True))
        if not label or numbers[0] < i < numbers[-1]
    )


def _is_label(word: str) -> bool:
    bare = word.strip("()[]").rstrip(".:")
    return bare.isalpha() and not _EXTENSION_MARKER.fullmatch(bare)


_LETTER = re.compile(r"[^\W\d_]")
#: The words phonenumbers reads as an extension's marker (its own patterns).
_EXTENSION_MARKER = re.compile(r"(?i)ext|extn|extension|x|xtn|anexo|доб|int")
_TRUNK_ZERO_TWICE = re.compile(r"\(0\)[\s\-./]*(?=0)")


def _mexican_mobile(text: str, region: str | None) -> str:
    """A Mexican mobile as written before 2019 and by habit since: '+52 1 55 1234 5678' (the
    '1' international callers dialled before a mobile) or '044 55 1234 5678' / '045 ...' (the
    prefixes for a mobile from a landline): the number is '+52 55 1234 5678' now, and
    phonenumbers refuses the old forms as impossible."""
    digits = _PUNCTUATION.sub("", text)
    international = digits.removeprefix("+") if digits.startswith("+") else digits.removeprefix("00")
    if digits != international and international.startswith("521") and len(international) == 13:
        return "+52" + international[3:]
    if region == "MX" and digits.isdigit() and len(digits) == 13 and digits.startswith(("044", "045")):
        return digits[3:]
    return text


def _valid(number: str, region: str | None = None) -> str | None:
    """``number`` (read as ``region``'s without its country code) in E.164 if the plan assigns it."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    return (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(parsed)
        else None
    )


def _with_country_code(digits: str, region: str) -> str | None:
    """'4917612345678' in Germany: the country code typed without '+' or '00'. Where the
    country dials a trunk zero, a national number starts with it, so digits that start with
    the country code instead are read with '+', if the plan assigns that number. (Germany's
    plan of many lengths assigns '+49 4917...' too, so phonenumbers alone reads it wrong.)"""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    code = str(phonenumbers.country_code_for_region(region))
    if metadata is None or metadata.national_prefix != "0" or digits.startswith("0") or not digits.startswith(code):
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def has_extension(key: str) -> bool:
    """A phone key of a switchboard's number and an extension (``phone_key``): a marketplace's
    masked number or an office's, no line of one household's."""
    return ";ext=" in key


def phone_line(key: str) -> str:
    """A phone key's number without its extension."""
    return key.split(";ext=", 1)[0]


def same_line(a: str, b: str) -> bool:
    """Two phone keys of one line: the same, or one number with an extension written on one
    side only (Faker writes half its US numbers with one, '719.816.9554x369', and a number
    formatted again drops it: '7198169554'; an office's line with and without the buyer's
    extension). Two extensions of one switchboard are two lines: a marketplace's masked
    number tells its buyers apart by them."""
    return a == b or (phone_line(a) == phone_line(b) and not (has_extension(a) and has_extension(b)))


def _first_of_several(text: str, region: str | None) -> str | None:
    """The first number of a field that holds more than one ('07700 900123 / 01234 567890',
    a mobile and a landline typed into one box), as phonenumbers' matcher finds numbers in
    text: the first is the one the buyer gave first. None if there is none."""
    try:
        found = next(iter(phonenumbers.PhoneNumberMatcher(text, region)), None)
    except Exception:  # noqa: BLE001 - a field no matcher can read names no number
        return None
    if found:
        return phonenumbers.format_number(found.number, phonenumbers.PhoneNumberFormat.E164)
    # Parted by a space only ('0171 1234567 030 1234567'), the matcher sees one long number:
    # where the words part into two numbers the plan assigns, the first is the buyer's.
    words = text.split()
    for cut in range(1, len(words)):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        if (number := _valid(first, region)) and _valid(second, region):
            return number
    return None


# What a written extension adds to a number's digits and punctuation: 'ext. 12', 'x12', '#12'.
_MAYBE_EXTENSION = re.compile(r"[^\d\s()+.\-/]")


@lru_cache(maxsize=65536)
def _number_type(e164: str) -> int | None:
    """The type of a number by its numbering plan (phonenumbers.PhoneNumberType), once per number."""
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


_SEQUENCES = "01234567890123456789" + "98765432109876543210"


@lru_cache(maxsize=65536)  # asked of every order with a phone: parsing costs about 16 µs
def is_placeholder_number(e164: str) -> bool:
    """A number typed for a buyer who gave none, or a fictional one: no plan assigns it and
    its digits are a pattern (one or two digits only: '0000000000', '+44 000 000000',
    '0600000000'; a run: '1234567890'), or one digit repeated after the first digit of one
    it assigns ('06 00 00 00 00'), or a North American number in the 555 code or
    exchange (films', examples': Shopify's sample '555-625-1199'). Other numbers no plan
    assigns are kept: a generator's (Faker writes 44% of its US numbers, 20% of its German
    ones at codes not in service) or a buyer's typo typed again on every order identifies
    them as well as a real one, and one typed for many buyers becomes common (shared by too
    many customers) as a real shop number does."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return True
    digits = phonenumbers.national_significant_number(number)
    if phonenumbers.is_valid_number(number):
        # Assigned by the plan, but one digit over and over after the first ('06 00 00
        # 00 00', '+34 600 000 000', '07000 000000'): what a till types for a mobile it
        # was not given, no one's number.
        return len(digits) >= 8 and len(set(digits[1:])) == 1
    if len(set(digits)) <= 2 or digits in _SEQUENCES:
        return True
    return number.country_code == 1 and "555" in (digits[:3], digits[3:6])


def is_mobile(e164: str) -> bool:
    """A mobile number by its numbering plan: one person's phone, where a landline is a
    household's. Plans that do not tell them apart (US and Canada: FIXED_LINE_OR_MOBILE)
    say no."""
    return _number_type(e164) == phonenumbers.PhoneNumberType.MOBILE


def is_landline(e164: str) -> bool:
    """A fixed line by its numbering plan: a home's (or a workplace's), which its people share."""
    return _number_type(e164) == phonenumbers.PhoneNumberType.FIXED_LINE


def is_mobile_or_landline(e164: str) -> bool:
    """A number whose plan does not say whether it is a mobile or a landline (US and Canada:
    FIXED_LINE_OR_MOBILE): one person's phone or a household's, by what else is known. So is
    a North American number at a code not in service (``is_placeholder_number``)."""
    kind = _number_type(e164)
    return kind == phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE or (
        kind == phonenumbers.PhoneNumberType.UNKNOWN and e164.startswith("+1")
    )
