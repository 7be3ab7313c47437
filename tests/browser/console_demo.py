"""Demo data for the console's screenshots and its story test: loyalty members, the handles they post from,
their history over the last two weeks, and a morning's live mentions about Skyway and its competitors.
Everything goes in as raw mentions, so the real worker scores, enriches and ranks it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from stream.schema import Mention, format_time


@dataclass(frozen=True)
class DemoMember:
    loyalty_id: str
    name: str
    tier: str
    email: str
    platform: str
    handle: str  # as linked in the console, without the leading @


MARIA = DemoMember("RR48201937", "Maria Gonzalez", "platinum", "maria.gonzalez@example.com", "mastodon",
                   "maria_flies@mastodon.social")
JAMES = DemoMember("RR30577120", "James Carter", "gold", "jcarter@example.net", "bluesky", "jcarter.bsky.social")
PRIYA = DemoMember("RR77310458", "Priya Natarajan", "silver", "priya.n@example.org", "reddit", "priya_travels")
MEMBERS = (MARIA, JAMES, PRIYA)

_URLS = {
    "mastodon": "https://{host}/@{user}/{n}",
    "bluesky": "https://bsky.app/profile/{user}/post/{n}",
    "reddit": "https://www.reddit.com/r/flying/comments/{n}/",
}


def _mention(n: int, platform: str, handle: str, name: str, text: str, at: datetime, brand: str = "skyway",
             followers: int | None = None) -> Mention:
    user, _, host = handle.partition("@")
    return Mention(
        id=f"{platform}:{n}",
        platform=platform,
        text=text,
        created_at=format_time(at),
        author_handle="@" + handle,
        author_name=name,
        author_followers=followers,
        url=_URLS[platform].format(host=host or "mastodon.social", user=user, n=n),
        lang="en",
        brand=brand,
        competitor=brand in ("northwind", "bluejet"),
        source="demo",
    )


def history(now: datetime) -> list[Mention]:
    """What the linked members posted over the last two weeks (their profiles' history)."""
    def days(d: int, h: int = 0) -> datetime:
        return now - timedelta(days=d, hours=h)

    m, j = MARIA, JAMES
    return [
        _mention(1101, m.platform, m.handle, m.name, "Love the new Skyway boarding groups, so much smoother at DEN!",
                 days(13, 3)),
        _mention(1102, m.platform, m.handle, m.name,
                 "SK 1290 delayed two hours and I missed my connection in DAL. Not great, Skyway.", days(10, 5)),
        _mention(1103, m.platform, m.handle, m.name,
                 "Thank you @SkywayAir for rebooking me so fast yesterday, Tasha at the DAL desk was wonderful.",
                 days(8, 2)),
        _mention(1104, m.platform, m.handle, m.name, "Another delay on SK 1423. Third time this month, Skyway.",
                 days(4, 6)),
        _mention(1105, m.platform, m.handle, m.name, "Is the Skyway app down? Can't see my boarding pass.",
                 days(2, 1)),
        _mention(2101, j.platform, j.handle, j.name, "Upgraded to the front cabin on SK 44, thank you Skyway!",
                 days(6, 4)),
    ]


def live(now: datetime) -> list[Mention]:
    """A busy morning: the queue the agents see. Maria's cancellation should rank first."""
    def mins(n: int) -> datetime:
        return now - timedelta(minutes=n)

    m, j = MARIA, JAMES
    return [
        _mention(3001, "mastodon", "danielle@fosstodon.org", "Danielle",
                 "Shoutout to the Skyway crew on SK 212 this morning, the captain kept us updated through the "
                 "whole ground hold. Class act ✈️", mins(14)),
        _mention(3002, "reddit", "throwaway_flyer", "throwaway_flyer",
                 "Has anyone gotten a refund from Skyway Vacations for a cancelled hotel package? Three weeks "
                 "and counting.", mins(13), brand="skyway-vacations"),
        _mention(3003, "bluesky", "travelwithtom.bsky.social", "Tom",
                 "Northwind cancelled every evening flight out of ATL again. Switching to Skyway for good.",
                 mins(12), brand="northwind", followers=48_000),
        _mention(3004, "mastodon", "kenji@mstdn.jp", "Kenji", "Is the Skyway lounge at DEN open before 6am?",
                 mins(10)),
        _mention(3005, j.platform, j.handle, j.name,
                 "My bag didn't make it to BWI on SK 881. Tracking says it's still in Dallas and my medication is "
                 "in it. @SkywayAir please help", mins(9)),
        _mention(3006, "reddit", "carryon_carl", "carryon_carl", "BlueJet charged me $75 for a carry-on. Never again.",
                 mins(8), brand="bluejet"),
        _mention(3007, "bluesky", "amara.bsky.social", "Amara",
                 "Stuck on the tarmac in PHX for two hours on SK 1707, no water and the kids are melting. "
                 "@SkywayAir please do something", mins(6), followers=2_300),
        _mention(3008, "mastodon", "leo@hachyderm.io", "Leo",
                 "The Skyway app keeps crashing when I try to check in. Flight leaves in 3 hours.", mins(4)),
        _mention(3009, m.platform, m.handle, m.name,
                 "@SkywayAir SK 1423 to PHX cancelled at the gate, the second time this month. Platinum for six "
                 "years, stranded in DEN, nobody can rebook me and I'm going to miss my daughter's graduation.",
                 mins(2)),
    ]


def verification_post(now: datetime, code: str) -> Mention:
    return _mention(1199, MARIA.platform, MARIA.handle, MARIA.name, f"Hi @SkywayAir, my verification code is {code}",
                    now - timedelta(minutes=20))
