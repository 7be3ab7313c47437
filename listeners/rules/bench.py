"""A seeded synthetic workload for measuring rule matching: N expressions over brands, and posts to match.

Pure (no clock): the `rules bench` command times it. `anchored=False` builds rules that all start with a
wildcard-only clause, so the word index cannot skip any of them: the worst case.
"""

from __future__ import annotations

import random
from typing import Any

from listeners.rules.post import Post

_FILLER = tuple(
    [
        "the",
        "my",
        "flight",
        "was",
        "at",
        "and",
        "to",
        "again",
        "today",
        "why",
        "is",
        "this",
        "so",
        "we",
        "our",
        "gate",
        "crew",
        "seat",
        "still",
        "waiting",
        "hour",
        "hours",
        "late",
        "great",
        "thanks",
        "never",
        "ever",
        "plane",
        "airport",
        "home",
        "trip",
        "friend",
        "love",
        "hate",
        "booked",
        "called",
        "phone",
        "app",
        "email",
        "said",
        "told",
    ]
)
_TOPIC_WORDS = tuple(
    [
        "bag",
        "luggage",
        "suitcase",
        "delayed",
        "delay",
        "cancelled",
        "refund",
        "refunds",
        "voucher",
        "rude",
        "helpful",
        "agent",
        "booking",
        "reservation",
        "stuck",
        "tarmac",
    ]
)
_EXTRA = ["😡", "✈️", "!!", "#fail", "https://example.com/x", "don't", "it's"]


def bench_rules(total: int = 100, brands: int = 10, anchored: bool = True) -> dict[str, Any]:
    """A rule-set dict with `total` expressions (own rules, competitor rules, topic rules, exclusions)."""
    per_brand = max(total // brands, 4)
    out: list[dict[str, Any]] = []
    made = 0
    for b in range(brands):
        name = f"brand{b}"
        lead = "(brand* OR airl*) AND " if not anchored else ""
        own = [
            f'{lead}(@{name} OR "{name} air" OR #{name})',
            f'{lead}{name} AND (bag* OR luggage) -"{name} bridge"',
        ]
        comp = [f'{lead}(@rival{b} OR "rival{b} airlines")']
        topics = {
            "baggage": f"{lead}(bag OR bags OR luggage OR suitcase*)",
            "delays": f"{lead}(delay* OR late OR (stuck NEAR/3 (gate OR tarmac)))",
            "refunds": f'{lead}(refund* OR voucher* OR "money back")',
            "staff": f"{lead}(crew OR agent* OR rude OR helpful)",
        }
        excl = [f'"{name} bridge" OR "{name} system"']
        n = len(own) + len(comp) + len(topics) + len(excl)
        extra = [f"{lead}{name} AND w{b}x{i}* NOT spam{i}" for i in range(max(per_brand - n, 0))]
        made += n + len(extra)
        out.append(
            {
                "name": name,
                "rules": own + extra,
                "competitors": [{"name": f"rival{b}", "rules": comp}],
                "topics": topics,
                "exclude": excl,
            }
        )
    return {"version": 1, "brands": out, "_expressions": made}


def bench_posts(count: int, brands: int = 10, seed: int = 7) -> list[Post]:
    """Posts of 12-40 words; about a third mention a brand, a third of those a topic word."""
    rng = random.Random(seed)
    posts = []
    for _ in range(count):
        words = rng.choices(_FILLER, k=rng.randint(12, 40))
        roll = rng.random()
        if roll < 0.35:
            b = rng.randrange(brands)
            words.insert(
                rng.randrange(len(words)),
                rng.choice([f"@brand{b}", f"#Brand{b}", f"brand{b} air", f"@Rival{b}'s"]),
            )
            if rng.random() < 0.4:
                words.insert(rng.randrange(len(words)), rng.choice(_TOPIC_WORDS))
        if rng.random() < 0.3:
            words.append(rng.choice(_EXTRA))
        posts.append(Post(" ".join(words), author=f"user{rng.randrange(1000)}", lang="en", source="bench"))
    return posts
