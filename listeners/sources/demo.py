"""Demo source: a seeded generator of realistic posts about the demo brands, with scenarios.

Everything here is pure: `generate` turns (scenario, seed, start) into the same timed posts every time,
so a scenario replays exactly in tests, in `backtest` and on the console. `live` paces a scenario
against the wall clock for `make run`.

Posts arrive as a non-homogeneous Poisson process (drawn by thinning): a background stream with a daily
rhythm, plus scenario surges (an incident for one brand and topic climbs for 20 minutes, then fades).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from listeners.sources.base import Batch, Item
from listeners.sources.pacing import Clock, Sleep, pace
from stream.schema import Mention, format_time

PLATFORM = "demo"
SCENARIOS = ("normal", "incident", "competitor_outage", "praise_burst")
# Named as in the default rule set's topics, so a rule-matched demo post carries the topic it was written for.
COMPLAINT_TOPICS = ("delays", "cancellations", "baggage", "refunds", "staff", "booking")
KINDS = ("complaint", "question", "praise", "neutral")
KIND_WEIGHTS = (0.38, 0.24, 0.28, 0.1)


@dataclass(frozen=True)
class Brand:
    key: str
    handle: str
    names: tuple[str, ...]
    flight_prefix: str
    competitor: bool
    share: float  # of background volume
    complaint_topics: tuple[str, ...] = ()  # empty: every complaint topic


BRANDS: tuple[Brand, ...] = (
    Brand("skyway", "@SkywayAir", ("Skyway Airlines", "Skyway Air", "#SkywayAir"), "SK", False, 0.45),
    Brand("skyway-vacations", "@SkywayVacations", ("Skyway Vacations", "#SkywayVacations"), "SK", False,
          0.12, ("booking", "refunds", "staff")),
    Brand("northwind", "@NorthwindAir", ("Northwind Air", "Northwind Airlines", "#NorthwindAir"), "NW", True,
          0.27),
    Brand("bluejet", "@BlueJet", ("BlueJet", "BlueJet Airways", "#BlueJet"), "BJ", True, 0.16),
)
BRAND_BY_KEY = {b.key: b for b in BRANDS}

AIRPORTS = ("DEN", "DAL", "MDW", "PHX", "LAS", "BWI", "OAK", "ATL", "MCO", "AUS", "HOU", "SAN", "BNA", "SJC")
EMOJI = ("", "", "", " 😡", " 🙄", " 😤", " 😭", " 🤬")
HAPPY = ("", "", " 🙌", " ❤️", " ✈️", " 😍", " 👏")

# {b} brand reference, {f} flight, {a}/{a2} airports, {h} hours, {d} days, {e} emoji.
COMPLAINTS: dict[str, tuple[str, ...]] = {
    "delays": (
        "{b} flight {f} delayed AGAIN. {h} hours sitting at {a} with zero updates{e}",
        "Third delay today on {f} {a}->{a2}. Come on {b}{e}",
        "{b} why does the app still say on time when the gate says delayed {h}h?{e}",
        "Missed my connection in {a} because {f} was late. Thanks {b}{e}",
        "Stuck on the tarmac at {a} for {h} hours, no water, no info. {b} this is unacceptable",
        "{b} your delays are ruining my sister's wedding weekend{e}",
    ),
    "cancellations": (
        "{b} just cancelled {f} with no explanation and the next seat is in {d} days{e}",
        "Flight cancelled at the gate in {a}. {b} rebooked me on a flight that doesn't exist{e}",
        "{b} cancelled my flight to {a2} and the hold time is {h} hours. What am I supposed to do?",
        "Another cancellation from {b}. Stranded in {a} with two kids{e}",
        "{b} {f} cancelled, hotel voucher refused, sleeping on the floor at {a}{e}",
        "Is {b} cancelling everything out of {a} today?? Mine just got cancelled too{e}",
    ),
    "baggage": (
        "{b} lost my bag on {f}. {d} days and nobody can tell me where it is{e}",
        "My luggage went to {a2} and I went to {a}. Thanks {b}{e}",
        "{b} my bag never came off the belt at {a}. Claim filed {d} days ago, no reply",
        "Checked bag arrived soaked and ripped. {b} who pays for this?{e}",
        "{b} where is my suitcase?? tracking says {a} since Tuesday{e}",
        "Damaged stroller and a lost bag from {b} flight {f}{e}",
    ),
    "refunds": (
        "{b} still waiting on my refund for {f}, it's been {d} weeks{e}",
        "{b} cancelled the flight but only offers a voucher, I want my money back{e}",
        "Refund 'processing' for {d} weeks. {b} you took my money in seconds{e}",
        "{b} charged me twice for the same booking and won't refund the duplicate{e}",
        "Requested a refund from {b} in March. Still nothing. Filing a DOT complaint",
    ),
    "staff": (
        "The gate agent at {a} was incredibly rude to an elderly passenger. {b} do better{e}",
        "{b} flight attendant on {f} yelled at my kid for crying{e}",
        "{b} customer service agent hung up on me twice today{e}",
        "Nobody on the {b} staff in {a} knew anything and they just shrugged{e}",
        "Crew on {f} ignored the call button for an hour. {b}{e}",
    ),
    "booking": (
        "{b} booking website keeps crashing at checkout, tried {h} times{e}",
        "{b} app logged me out mid-booking and now the fare went up{e}",
        "Can't check in online, {b} site says error 500{e}",
        "{b} your website charged my card but shows no reservation{e}",
        "The {b} app won't let me check in or pick a seat{e}",
        "{b} double booked our resort in {a2}, we arrived to no reservation{e}",
    ),
}
QUESTIONS = (
    "{b} can I bring a guitar as a carry-on on {f}?",
    "Hey {b}, how early should I get to {a} for a 6am flight?",
    "{b} does the fare include a checked bag to {a2}?",
    "{b} is {f} from {a} on time today?",
    "Does anyone know if {b} lets you change flights for free?",
    "{b} how do I add my loyalty number to an existing booking?",
    "{b} can my dog fly in the cabin {a}->{a2}?",
    "What's the {b} policy on car seats for infants?",
    "{b} is there wifi on the {a}-{a2} route?",
)
PRAISE = {
    "staff": (
        "Shoutout to the crew on {b} {f}, they made my nervous flyer mom feel so safe{e}",
        "The {b} gate agent at {a} rebooked me in 2 minutes with a smile{e}",
        "{b} flight attendants singing happy birthday to a kid on {f}. Love this airline{e}",
        "Huge thanks to {b} staff at {a} for finding my lost phone{e}",
    ),
    "general": (
        "Early arrival into {a2} on {b}, smooth flight, great snacks{e}",
        "{b} never lets me down. On time {a}->{a2} again{e}",
        "Booked a whole family trip with {b} in 5 minutes, easiest ever{e}",
        "Free bags and friendly people, {b} is the only way I fly{e}",
        "Best landing I've ever had, {b} pilot on {f} nailed it{e}",
    ),
}
NEUTRAL = (
    "Flying {b} to {a2} tomorrow, wish me luck",
    "At {a} waiting for my {b} flight",
    "{b} announced new routes out of {a} this summer",
    "Comparing {b} fares for spring break",
)
SWITCHERS = (
    "{o} is a mess today, booked {b} instead for {a}->{a2}",
    "{b} do you have seats {a} to {a2} tonight? {o} left us stranded",
    "Switching to {b} after this {o} meltdown{e}",
)
# Rare other languages: (kind, lang) -> templates.
FOREIGN: dict[tuple[str, str], tuple[str, ...]] = {
    ("complaint", "es"): (
        "{b} perdieron mi maleta en {a}, nadie responde{e}",
        "Vuelo {f} cancelado sin aviso, {b} qué vergüenza{e}",
    ),
    ("complaint", "fr"): ("{b} vol {f} retardé de {h} heures à {a}, aucune information{e}",),
    ("complaint", "pt"): ("{b} cancelou meu voo {f} e ninguém ajuda{e}",),
    ("complaint", "de"): ("{b} mein Koffer ist seit {d} Tagen verschwunden{e}",),
    ("praise", "es"): ("Gracias {b} por un vuelo perfecto a {a2}{e}",),
    ("praise", "fr"): ("Merci {b}, équipage adorable sur le vol {f}{e}",),
    ("question", "es"): ("{b} ¿puedo llevar mi perro en cabina?",),
    ("question", "de"): ("{b} kann ich meinen Flug {f} kostenlos umbuchen?",),
}
FOREIGN_TOPIC = {"perdieron mi maleta": "baggage", "Koffer": "baggage", "cancelado": "cancellations",
                 "cancelou": "cancellations", "retardé": "delays"}
NOISE = (
    "Walked the skyway downtown in the snow, beautiful morning",
    "The northwind is brutal today, bundle up",
    "Saw a blue jet of water shoot out of the fountain",
)

FIRST = ("jenny", "mark", "aisha", "carlos", "li", "sam", "priya", "tom", "maria", "dev", "kate", "omar",
         "lucy", "ben", "nina", "jose", "emma", "raj", "chloe", "ahmed", "zoe", "luis", "hannah", "kwame")
LAST = ("smith", "garcia", "nguyen", "patel", "brown", "kim", "lopez", "okafor", "miller", "chen", "silva")
SUFFIX = ("", "_travels", "_tx", "flies", "_atx", "_mom", "_dad", "x", "_pdx", "_den", "_on_the_go")
LANGS = (("es", 0.45), ("fr", 0.2), ("pt", 0.15), ("de", 0.2))


@dataclass(frozen=True)
class Author:
    handle: str
    name: str
    followers: int
    lang: str


def make_authors(seed: int, count: int = 400) -> list[Author]:
    """A seeded population; a Zipf pick over it gives the repeat authors real feeds have."""
    rng = random.Random(f"authors-{seed}")
    authors: list[Author] = []
    seen: set[str] = set()
    while len(authors) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        handle = f"{first}{rng.choice(SUFFIX)}{rng.randint(1, 999) if rng.random() < 0.6 else ''}"
        if handle in seen:
            continue
        seen.add(handle)
        # Log-normal reach, with a few influencers: follower count drives priority downstream.
        followers = int(rng.lognormvariate(5.5, 1.6))
        if rng.random() < 0.02:
            followers = rng.randint(50_000, 900_000)
        lang = "en"
        if rng.random() < 0.06:
            lang = rng.choices([code for code, _ in LANGS], [w for _, w in LANGS])[0]
        authors.append(Author(handle, f"{first.title()} {last.title()[0]}.", followers, lang))
    return authors


@dataclass(frozen=True)
class Kind:
    """What one stream of posts is about; `None` fields are drawn from the background mix."""

    brand: str | None = None
    kind: str | None = None  # complaint | question | praise | neutral | switcher
    topic: str | None = None
    other: str | None = None  # for switchers: the brand they leave


RateFn = Callable[[float, datetime], float]  # (seconds since start, event time) -> posts per second


@dataclass(frozen=True)
class Stream:
    rate: RateFn
    peak: float  # an upper bound of `rate`, for thinning
    kind: Kind


def daily_rhythm(when: datetime) -> float:
    """Relative volume by UTC hour of day: quietest near 04:00, busiest near 16:00, mean 1."""
    hour = when.hour + when.minute / 60
    return 1 - (2 / 3) * math.cos(2 * math.pi * (hour - 4) / 24)


def surge(peak: float, onset: float, climb: float = 20 * 60, fade: float = 30 * 60) -> RateFn:
    """Zero until `onset`, a linear climb to `peak` over `climb` seconds, then a linear fade."""

    def rate(t: float, _when: datetime) -> float:
        if t < onset:
            return 0.0
        if t < onset + climb:
            return peak * (t - onset) / climb
        return max(0.0, peak * (1 - (t - onset - climb) / fade))

    return rate


def scenario_streams(scenario: str, per_minute: float, brand: str | None, topic: str | None) -> list[Stream]:
    base = per_minute / 60

    def background(_t: float, when: datetime) -> float:
        return base * daily_rhythm(when)

    streams = [Stream(background, base * (5 / 3), Kind())]
    if scenario == "normal":
        return streams
    if scenario == "incident":
        b, tp = brand or "skyway", topic or "cancellations"
        return [*streams, Stream(surge(base * 1.5, 30 * 60), base * 1.5, Kind(b, "complaint", tp))]
    if scenario == "competitor_outage":
        b, tp = brand or "northwind", topic or "delays"
        own = next(x.key for x in BRANDS if not x.competitor)
        return [
            *streams,
            Stream(surge(base * 2.5, 30 * 60, fade=60 * 60), base * 2.5, Kind(b, "complaint", tp)),
            Stream(surge(base * 0.5, 40 * 60, fade=60 * 60), base * 0.5, Kind(own, "switcher", None, b)),
        ]
    if scenario == "praise_burst":
        b, tp = brand or "skyway", topic or "staff"
        return [*streams, Stream(surge(base * 2, 30 * 60, climb=10 * 60), base * 2, Kind(b, "praise", tp))]
    raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")


DEFAULT_DURATION = {
    "normal": timedelta(hours=24),
    "incident": timedelta(hours=2),
    "competitor_outage": timedelta(hours=3),
    "praise_burst": timedelta(hours=2),
}


class _Writer:
    """Turns a drawn `Kind` into post text and metadata, using the shared generator's random stream."""

    def __init__(self, rng: random.Random, authors: list[Author]) -> None:
        self.rng = rng
        self.authors = authors
        # Zipf-like with a flattened head: a few regulars post often, nobody floods the feed.
        self.author_weights = [1 / (rank + 10) for rank in range(len(authors))]

    def _brand(self, key: str | None) -> Brand:
        if key is not None:
            return BRAND_BY_KEY[key]
        return self.rng.choices(BRANDS, [b.share for b in BRANDS])[0]

    def _ref(self, brand: Brand) -> str:
        # People mostly tag the handle; some write the name or a hashtag.
        return brand.handle if self.rng.random() < 0.7 else self.rng.choice(brand.names)

    def _fill(
        self, template: str, brand: Brand, other: Brand | None = None, emoji: tuple[str, ...] = EMOJI
    ) -> str:
        rng = self.rng
        a, a2 = rng.sample(AIRPORTS, 2)
        return template.format(
            b=self._ref(brand), o=self._ref(other) if other else "",
            f=f"{brand.flight_prefix}{rng.randint(100, 3999)}", a=a, a2=a2,
            h=rng.randint(2, 9), d=rng.randint(2, 14), e=rng.choice(emoji),
        )

    def write(self, kind: Kind) -> tuple[str, Author, str, dict[str, Any]]:
        rng = self.rng
        author = rng.choices(self.authors, self.author_weights)[0]
        if kind.brand is None and rng.random() < 0.03:
            truth = {"brand": "", "competitor": False, "kind": "noise", "topic": None}
            return rng.choice(NOISE), author, "en", truth
        brand = self._brand(kind.brand)
        what = kind.kind or rng.choices(KINDS, KIND_WEIGHTS)[0]
        topic = kind.topic
        lang = author.lang
        text: str
        if what == "switcher":
            other = BRAND_BY_KEY[kind.other or "northwind"]
            text = self._fill(rng.choice(SWITCHERS), brand, other)
            lang = "en"
        elif lang != "en" and (what, lang) in FOREIGN and kind.topic is None:
            mood = HAPPY if what == "praise" else EMOJI
            text = self._fill(rng.choice(FOREIGN[(what, lang)]), brand, emoji=mood)
            topic = next((t for word, t in FOREIGN_TOPIC.items() if word in text), None)
        elif what == "complaint":
            topic = topic or rng.choice(brand.complaint_topics or COMPLAINT_TOPICS)
            text = self._fill(rng.choice(COMPLAINTS[topic]), brand)
            lang = "en"
        elif what == "praise":
            topic = topic or rng.choice(tuple(PRAISE))
            text = self._fill(rng.choice(PRAISE[topic]), brand, emoji=HAPPY)
            lang = "en"
        elif what == "question":
            text = self._fill(rng.choice(QUESTIONS), brand)
            lang = "en"
        else:
            text = self._fill(rng.choice(NEUTRAL), brand)
            lang = "en"
        truth = {"brand": brand.key, "competitor": brand.competitor, "kind": what, "topic": topic}
        return text, author, lang, truth


def generate(
    scenario: str,
    seed: int,
    start: datetime,
    *,
    duration: timedelta | None = None,
    per_minute: float = 6.0,
    brand: str | None = None,
    topic: str | None = None,
) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """Timed posts of a scenario: the same (scenario, seed, start, options) always give the same posts.

    Each post is a dict in the demo platform's shape: id, text, author, author_name, author_followers,
    lang, created_at, url, and `truth` (the brand, kind and topic it was written about) for tests and
    backtests. `per_minute` is the mean background volume; surges are relative to it.
    """
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    streams = scenario_streams(scenario, per_minute, brand, topic)
    length = (duration or DEFAULT_DURATION[scenario]).total_seconds()
    rng = random.Random(f"{scenario}-{seed}")
    writer = _Writer(rng, make_authors(seed))
    peak = sum(s.peak for s in streams)
    stamp = start.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    t, n = 0.0, 0
    while True:
        t += rng.expovariate(peak)
        if t > length:
            return
        when = start + timedelta(seconds=t)
        rates = [s.rate(t, when) for s in streams]
        total = sum(rates)
        if rng.random() * peak >= total:
            continue  # thinning: rejected candidate
        kind = rng.choices(streams, rates)[0].kind
        text, author, lang, truth = writer.write(kind)
        n += 1
        native = f"{stamp}-{seed}-{n}"
        yield when, {
            "id": native,
            "text": text,
            "author": author.handle,
            "author_name": author.name,
            "author_followers": author.followers,
            "lang": lang,
            "created_at": format_time(when),
            "url": f"https://demo.skyway.invalid/@{author.handle}/{native}",
            "truth": truth,
        }


def to_mention(post: dict[str, Any], *, with_truth: bool = False) -> Mention:
    """The normalised contract; `with_truth` fills brand and topics from what the generator meant."""
    mention = Mention(
        id=f"{PLATFORM}:{post['id']}",
        platform=PLATFORM,
        text=post["text"],
        created_at=post["created_at"],
        author_handle=post["author"],
        author_name=post.get("author_name", ""),
        author_followers=post.get("author_followers"),
        url=post.get("url", ""),
        lang=post.get("lang", ""),
        source=PLATFORM,
    )
    if with_truth:
        truth = post.get("truth") or {}
        mention.brand = truth.get("brand", "")
        mention.competitor = bool(truth.get("competitor"))
        mention.topics = [truth["topic"]] if truth.get("topic") else []
    return mention


def write_jsonl(path: Path, scenario: str, seed: int, start: datetime, **options: Any) -> int:
    """Write a scenario as JSON lines of Mention dicts (brand from the generator) for `backtest`.

    Off-topic noise posts are left out: they name no brand. Returns how many lines were written.
    """
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for _when, post in generate(scenario, seed, start, **options):
            mention = to_mention(post, with_truth=True)
            if not mention.brand:
                continue
            out.write(json.dumps(mention.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count


def live(
    scenario: str,
    seed: int,
    rate_per_second: float,
    now: Callable[[], datetime],
    clock: Clock,
    sleep: Sleep,
    duration: timedelta | None = None,
) -> Iterator[dict[str, Any]]:
    """A scenario at real pace from `now()`, at `rate_per_second` mean background volume (`make run`).

    Without a duration it runs for a year, which is forever for a demo.
    """
    events = generate(scenario, seed, now(), duration=duration or timedelta(days=365),
                      per_minute=rate_per_second * 60)
    for _when, post in pace(events, clock, sleep):
        yield post


class DemoSource:
    """The generator as a listener source: live at `rate` posts a second, or the whole scenario at once."""

    name = PLATFORM

    def __init__(
        self,
        scenario: str,
        seed: int,
        rate_per_second: float,
        now: Callable[[], datetime],
        clock: Clock,
        sleep: Sleep,
        *,
        paced: bool = True,
        duration: timedelta | None = None,
    ) -> None:
        self.scenario, self.seed, self.rate = scenario, seed, rate_per_second
        self.now, self.clock, self.sleep = now, clock, sleep
        self.paced, self.duration = paced, duration
        scenario_streams(scenario, 1.0, None, None)  # refuse an unknown scenario before the first post

    def _posts(self) -> Iterator[dict[str, Any]]:
        if self.paced:
            return live(self.scenario, self.seed, self.rate, self.now, self.clock, self.sleep, self.duration)
        events = generate(self.scenario, self.seed, self.now(), duration=self.duration,
                          per_minute=self.rate * 60)
        return (post for _when, post in events)

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        # No cursor: a generated post has no history to resume, a restart simply starts a new run.
        for post in self._posts():
            item = Item(to_mention(post, with_truth=True), json.dumps(post, ensure_ascii=False))
            yield Batch([item])
