"""Property tests: the parser never crashes, and NOT, phrases, NEAR, AND/OR mean what they say."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from listeners.rules import Post, RuleError, TokenizedPost, compile_rule, parse_rule
from listeners.rules.nodes import render

FAST = settings(max_examples=150, deadline=None)

_PIECES = ["a", "bag", "Skyway", "AND", "OR", "NOT", "NEAR/2", "NEAR", "(", ")", '"', "-", "*", "#", "@",
           "lang:en", "author:", ":", "refund*", "😡", "天空", " ", "  ", "\t", "é", "\u0301", "\ufe0f", "x:y"]
VOCAB = ["bag", "lost", "skyway", "air", "refund", "refunds", "late"]
SEPARATORS = [" ", ", ", "!! ", " - ", "... ", " (", ") "]


def matches(rule: str, text: str) -> bool:
    return compile_rule(rule).test(TokenizedPost(Post(text)))


@FAST
@given(st.text(max_size=80))
def test_parser_only_raises_rule_errors_on_any_text(text: str) -> None:
    try:
        tree = parse_rule(text)
    except RuleError as exc:
        assert exc.column is None or 1 <= exc.column <= len(text) + 1
        return
    assert parse_rule(render(tree)) == tree  # whatever parses has a canonical form that parses back


@FAST
@given(st.lists(st.sampled_from(_PIECES), max_size=25), st.text(max_size=40))
@example(["a", "\ufe0f", "\u0301", "a"], "")  # a variation selector once stopped the accent composing
def test_parser_never_crashes_on_rule_like_text(pieces: list[str], post: str) -> None:
    rule = " ".join(pieces) if len(pieces) % 2 else "".join(pieces)
    try:
        compiled = compile_rule(rule)
    except RuleError:
        return
    compiled.test(TokenizedPost(Post(post)))
    assert parse_rule(render(compiled.node)) == compiled.node


# -- a grammar of valid rules over a small vocabulary, and posts made of the same words ----------------
_term = st.sampled_from([*VOCAB, "refund*", '"skyway air"', '"lost bag"', "#skyway", "@skyway"])
rules = st.recursive(
    _term,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} {p[1]})"),
        inner.map(lambda r: f"NOT ({r})"),
    ),
    max_leaves=6,
)
words = st.lists(st.sampled_from(VOCAB), max_size=12)


@st.composite
def posts(draw: st.DrawFn) -> str:
    out = ""
    for w in draw(words):
        w = draw(st.sampled_from([w, w.upper(), w.title(), f"#{w}", f"@{w}"]))
        out += w + draw(st.sampled_from(SEPARATORS))
    return out


@FAST
@given(rules, posts())
def test_not_is_the_complement(rule: str, post: str) -> None:
    assert matches(f"NOT ({rule})", post) is not matches(rule, post)
    assert matches(f"-({rule})", post) is not matches(rule, post)


@FAST
@given(rules, rules, posts())
def test_and_or_are_boolean(left: str, right: str, post: str) -> None:
    a, b = matches(left, post), matches(right, post)
    assert matches(f"({left}) AND ({right})", post) is (a and b)
    assert matches(f"({left}) ({right})", post) is (a and b)
    assert matches(f"({left}) OR ({right})", post) is (a or b)


@FAST
@given(st.sampled_from(VOCAB), st.sampled_from(VOCAB), words, st.sampled_from(SEPARATORS))
def test_phrase_means_consecutive_words(first: str, second: str, post_words: list[str], sep: str) -> None:
    expected = any(post_words[i : i + 2] == [first, second] for i in range(len(post_words)))
    assert matches(f'"{first} {second}"', sep.join(post_words)) is expected


@FAST
@given(st.sampled_from(VOCAB), st.sampled_from(VOCAB), st.integers(0, 4), words)
def test_near_means_at_most_n_words_between(x: str, y: str, n: int, post_words: list[str]) -> None:
    expected = any(a == x and b == y and i != j and abs(i - j) - 1 <= n
                   for i, a in enumerate(post_words) for j, b in enumerate(post_words))
    assert matches(f"{x} NEAR/{n} {y}", " ".join(post_words)) is expected


@FAST
@given(st.sampled_from(VOCAB), words)
def test_a_term_ignores_case_and_punctuation_around_it(term: str, post_words: list[str]) -> None:
    plain = " ".join(post_words)
    noisy = " ".join(f"({w.upper()}!!)," for w in post_words)
    assert matches(term, plain) is matches(term, noisy) is (term in post_words)
