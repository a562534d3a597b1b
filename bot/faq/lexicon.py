"""The words of POS work, written once in ``data/lexicon/``: brands, domain vocabulary, fillers, typos.

* **Brands** (``brands.yml``): payment providers and terminal makers. A brand name is not
  the question: ``clean`` removes it from every text before it is searched (queries and KB
  wordings alike), so "拉卡拉POS机不打单" is searched as "POS机不打单"; ``find_brand``
  tells which brand a merchant named (the provider line of provider-specific answers).
  Rasa's ``brand`` entity (lookup, context regexes, synonyms: ``data/nlu/brands.yml``) is
  generated from the same file (``posbot faq lexicon --write``).
* **Domain vocabulary** (``domain.yml``): ``domain_signal`` says whether a message is about
  POS work (``core`` words: always; ``domain`` words: unless a known out-of-scope question
  is closer) and which area it hints at; the bot then never gives up on it.
* **Fillers and typos**: openings such as "请问" or "你好我想问一下" are dropped from the
  start of a text; common misspellings and homophones ("刷咔", "手序费", "破死机") are
  replaced by what they mean.

``fingerprint()`` changes whenever any of this changes; it is part of the KB's index hash,
so a new brand or typo re-encodes the wordings it affects.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

LEXICON_DIR = Path(__file__).resolve().parents[2] / "data" / "lexicon"
BRAND_KINDS = ("provider", "maker")
AREAS = ("settlement", "fees", "activation", "fault", "other")
# What may follow a contextual brand spelling ("快钱pos机", "中付的机器", "通联电签").
_POS_AFTER = r"(?=\s?的?\s?(?:pos|刷卡机|机器|机子|电签|收款|商户|客服|app|平台|公司|支付|大机|小机))"
# A text without its brand names must keep this many letters/digits (or a POS word) to lose them.
MIN_REST = 4
_PUNCT_AFTER_FILLER = " ,，.。!！?？~～、:：;；"


class LexiconError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("lexicon invalid:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Brand:
    name: str
    kind: str
    aliases: tuple[str, ...]
    contextual: tuple[str, ...] = ()

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def free_spellings(self) -> tuple[str, ...]:
        """Spellings matched anywhere (not only before a POS word)."""
        return tuple(s for s in self.spellings if s not in self.contextual)


@dataclass(frozen=True)
class DomainSignal:
    level: str  # "core" | "domain" | "none"
    words: tuple[str, ...]
    areas: tuple[str, ...]  # areas hinted at, most hinted first

    @property
    def in_domain(self) -> bool:
        return self.level != "none"


@dataclass(frozen=True)
class Lexicon:
    brands: tuple[Brand, ...]
    core: tuple[str, ...]
    domain: tuple[str, ...]
    areas: dict[str, tuple[str, ...]]
    fillers: tuple[str, ...]
    typos: dict[str, str]
    vague_problems: tuple[str, ...] = ()
    vague_words: tuple[str, ...] = ()
    _compiled: dict = field(default_factory=dict, compare=False, repr=False)

    # --- matching -------------------------------------------------------------------

    def _regex(self, name: str) -> re.Pattern:
        pat = self._compiled.get(name)
        if pat is None:
            pat = self._compiled[name] = re.compile(self._pattern(name), re.IGNORECASE)
        return pat

    def _pattern(self, name: str) -> str:
        def alt(words) -> str:
            return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))

        if name == "brand":

            def spelling(w: str) -> str:
                # an ASCII spelling must not be part of a longer word ("pax" in "paxos")
                return rf"(?<![a-z]){re.escape(w)}(?![a-z])" if w.isascii() else re.escape(w)

            def alts(words) -> str:
                return "|".join(spelling(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))

            free = alts(s for b in self.brands for s in b.free_spellings)
            ctx = alts(s for b in self.brands for s in b.contextual)
            parts = [f"(?:{free})"] if free else []
            if ctx:
                parts.append(f"(?:{ctx}){_POS_AFTER}")
            return "|".join(parts) or r"(?!x)x"
        if name == "filler":
            sep = re.escape(_PUNCT_AFTER_FILLER)
            return rf"^(?:(?:{alt(self.fillers)})[{sep}\s]*)+" if self.fillers else r"(?!x)x"
        if name == "typo":
            return alt(self.typos) if self.typos else r"(?!x)x"
        raise KeyError(name)

    def _brand_owner(self) -> dict[str, Brand]:
        owner = self._compiled.get("_owner")
        if owner is None:
            owner = self._compiled["_owner"] = {s.lower(): b for b in self.brands for s in b.spellings}
        return owner

    def find_brands(self, text: str) -> list[Brand]:
        """Brands named in ``text``, in order, each once."""
        seen: list[Brand] = []
        owner = self._brand_owner()
        for m in self._regex("brand").finditer(_fold(text)):
            b = owner.get(m.group(0).lower())
            if b is not None and b not in seen:
                seen.append(b)
        return seen

    def find_brand(self, text: str) -> Brand | None:
        found = self.find_brands(text)
        return found[0] if found else None

    def brand(self, name: str | None) -> Brand | None:
        """The brand a slot value or spelling stands for."""
        return self._brand_owner().get((name or "").strip().lower())

    def clean(self, text: str) -> str:
        """``text`` (already NFKC'd, simplified and lowercased) with typos fixed, without
        leading fillers, and without brand names when the rest still says what the question
        is (a POS word, or at least ``MIN_REST`` characters): "拉卡拉POS机不打单" becomes
        "POS机不打单", while "拉卡拉怎么样" keeps its brand, which is then the question."""
        t = self._regex("typo").sub(lambda m: self.typos[m.group(0).lower()], text)
        without = self._regex("filler").sub("", t.strip())
        if _content(without):
            t = without
        stripped = re.sub(rf"(?:{self._pattern('brand')})(?:\s?的)?", " ", t, flags=re.IGNORECASE)
        rest = _content(stripped)
        if rest and (rest >= MIN_REST or any(w in stripped for w in (*self.core, *self.domain))):
            t = stripped
        return re.sub(r"\s+", " ", t).strip()

    def is_vague(self, text: str) -> bool:
        """Something is wrong, but the message does not say what: only general problem words
        ("有点问题", "坏了"), the device and glue, nothing that could pick an entry."""
        if not self.vague_problems:
            return False
        t = self._regex("typo").sub(lambda m: self.typos[m.group(0).lower()], _fold(text))
        t = self._regex("filler").sub("", t.strip())
        t = re.sub(r"[\W_]+", "", t)
        if not any(p in t for p in self.vague_problems):
            return False
        for w in sorted((*self.vague_problems, *self.vague_words), key=len, reverse=True):
            t = t.replace(w, "")
        return not t

    def domain_signal(self, text: str) -> DomainSignal:
        """Whether ``text`` is about POS work, and which areas it hints at."""
        t = self._regex("typo").sub(lambda m: self.typos[m.group(0).lower()], _fold(text))
        core = tuple(w for w in self.core if w in t)
        dom = tuple(w for w in self.domain if w in t)
        if self.find_brands(t):
            core = (*core, "<brand>")
        hits: list[tuple[int, int, str]] = []
        for i, (area, words) in enumerate(self.areas.items()):
            n = sum(1 for w in words if w in t)
            if n:
                hits.append((-n, i, area))
        areas = tuple(a for _, _, a in sorted(hits))
        level = "core" if core else "domain" if dom else "none"
        return DomainSignal(level, core + dom, areas)

    # --- Rasa training data -----------------------------------------------------------

    def rasa_brands(self) -> dict:
        """``data/nlu/brands.yml``: lookup of the free spellings, a context regex for the
        contextual ones (the match is the spelling only) and one synonym per brand."""
        nlu: list[dict] = []
        free = sorted({s for b in self.brands for s in b.free_spellings}, key=lambda w: (-len(w), w))
        nlu.append({"lookup": "brand", "examples": _block(free)})
        ctx = sorted({s for b in self.brands for s in b.contextual}, key=lambda w: (-len(w), w))
        if ctx:
            alt = "|".join(re.escape(w) for w in ctx)
            nlu.append({"regex": "brand", "examples": _block([f"(?:{alt}){_POS_AFTER}"])})
        for b in self.brands:
            if b.aliases:
                nlu.append({"synonym": b.name, "examples": _block(list(b.aliases))})
        return {"version": "3.1", "nlu": nlu}


def _block(lines: list[str]) -> str:
    return "".join(f"- {line}\n" for line in lines)


def _fold(text: str) -> str:
    from bot.faq.encoders import to_simplified  # local import: import cycle (encoders imports this module)

    return to_simplified(unicodedata.normalize("NFKC", text or "")).lower()


def _content(text: str) -> int:
    """How many letters and digits ``text`` has."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def _texts(value, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and str(v).strip() for v in value):
        problems.append(f"{where}: expected a list of non-empty texts")
        return ()
    return tuple(_fold(str(v).strip()) for v in value)


def load_lexicon(directory: Path | str = LEXICON_DIR) -> Lexicon:
    """Load and validate ``brands.yml`` and ``domain.yml``; all problems at once (``LexiconError``)."""
    directory = Path(directory)
    problems: list[str] = []

    def read(name: str) -> dict:
        try:
            doc = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{directory / name}: cannot read: {exc}")
            return {}
        if not isinstance(doc, dict):
            problems.append(f"{directory / name}: expected a mapping")
            return {}
        return doc

    bdoc, ddoc = read("brands.yml"), read("domain.yml")
    brands: list[Brand] = []
    owner: dict[str, str] = {}
    for pos, item in enumerate(bdoc.get("brands") or [], start=1):
        if not isinstance(item, dict) or not str(item.get("name") or "").strip():
            problems.append(f"brands.yml: brand #{pos}: needs a 'name'")
            continue
        name = str(item["name"]).strip()
        where = f"brands.yml: brand '{name}'"
        kind = item.get("kind")
        if kind not in BRAND_KINDS:
            problems.append(f"{where}: kind {kind!r}; expected one of {', '.join(BRAND_KINDS)}")
        aliases = _texts(item.get("aliases"), where + " aliases", problems)
        contextual = _texts(item.get("contextual"), where + " contextual", problems)
        spellings = (_fold(name), *aliases)
        for c in contextual:
            if c not in spellings:
                problems.append(f"{where}: contextual '{c}' is neither its name nor an alias")
        for s in spellings:
            if s in owner and owner[s] != name:
                problems.append(f"{where}: spelling '{s}' also belongs to '{owner[s]}'")
            owner[s] = name
        brands.append(
            Brand(
                name=name, kind=str(kind), aliases=tuple(a for a in aliases if a != _fold(name)), contextual=contextual
            )
        )
    core = _texts(ddoc.get("core"), "domain.yml core", problems)
    domain = _texts(ddoc.get("domain"), "domain.yml domain", problems)
    areas: dict[str, tuple[str, ...]] = {}
    raw_areas = ddoc.get("areas") or {}
    if not isinstance(raw_areas, dict):
        problems.append("domain.yml areas: expected a mapping of area -> words")
        raw_areas = {}
    for area, words in raw_areas.items():
        if area not in AREAS:
            problems.append(f"domain.yml areas: unknown area '{area}'; expected one of {', '.join(AREAS)}")
        areas[area] = _texts(words, f"domain.yml areas.{area}", problems)
    fillers = _texts(ddoc.get("fillers"), "domain.yml fillers", problems)
    typos_raw = ddoc.get("typos") or {}
    if not isinstance(typos_raw, dict):
        problems.append("domain.yml typos: expected a mapping of misspelling -> meaning")
        typos_raw = {}
    typos = {_fold(str(k)): _fold(str(v)) for k, v in typos_raw.items() if str(k).strip() and str(v).strip()}
    for k, v in typos.items():
        if k == v:
            problems.append(f"domain.yml typos: '{k}' maps to itself")
    for w in set(core) & set(domain):
        problems.append(f"domain.yml: '{w}' is in both core and domain")
    raw_vague = ddoc.get("vague") or {}
    if not isinstance(raw_vague, dict):
        problems.append("domain.yml vague: expected a mapping with 'problems' and 'words'")
        raw_vague = {}
    vague_problems = _texts(raw_vague.get("problems"), "domain.yml vague.problems", problems)
    vague_words = _texts(raw_vague.get("words"), "domain.yml vague.words", problems)
    if problems:
        raise LexiconError(problems)
    return Lexicon(tuple(brands), core, domain, areas, fillers, typos, vague_problems, vague_words)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_lexicon(LEXICON_DIR)


def fingerprint(lexicon: Lexicon | None = None) -> str:
    """Changes whenever brands, fillers or typos change (what ``clean`` does to a text)."""
    lx = lexicon or default_lexicon()
    payload = [
        [[b.name, list(b.aliases), list(b.contextual)] for b in lx.brands],
        list(lx.fillers),
        sorted(lx.typos.items()),
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:16]
