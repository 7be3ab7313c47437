from stream.spikes.terms import add_capped, tokens, top_terms


def test_tokens_drop_urls_handles_stop_words_and_numbers() -> None:
    assert tokens("@SkywayAir my flight SK12 was CANCELLED https://t.co/x 2024 #fail it's") == [
        "flight", "sk12", "cancelled", "#fail",
    ]


def test_top_terms_name_what_the_spike_is_about() -> None:
    spike = ["flight cancelled again, stranded in Denver", "cancelled and stranded with kids", "why cancelled?"] * 4
    base = ["lost my bag", "rude staff at the gate", "flight delayed two hours", "bag still missing"] * 20
    terms = top_terms(spike, base, 3)
    assert terms[:2] == ["cancelled", "stranded"]
    assert "bag" not in terms


def test_top_terms_of_nothing_is_empty() -> None:
    assert top_terms([], ["anything"], 5) == []


def test_baseline_vocabulary_stays_bounded() -> None:
    counts: dict[str, float] = {}
    for i in range(50):
        add_capped(counts, {f"w{i}": 1.0, "common": 1.0}, cap=20)
    assert len(counts) <= 21
    assert max(counts, key=lambda t: counts[t]) == "common"
