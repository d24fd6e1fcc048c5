"""What a burst of replies is mostly about, and the sentence that says so."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.listening.topics import burst_line, clean, mostly_about

SERVICES = ("Wi-Fi", "wifi", "eduroam", "Duo", "VPN", "Canvas")


def test_a_known_service_wins_when_a_third_of_the_replies_name_it() -> None:
    texts = [
        "Is eduroam down in the library?",
        "EDUROAM keeps dropping",
        "no internet at all",
        "Same here in building 4",
        "why is this happening",
        "my laptop says connected, no internet",
    ]
    assert mostly_about(texts, known_terms=SERVICES) == "eduroam"  # 2 of 6: a third


def test_a_known_term_under_30_percent_gives_way_to_what_people_write() -> None:
    texts = [
        "Canvas is fine but the exam page is blank",
        "exam page blank for me",
        "Exam page shows nothing",
        "exam page???",
        "blank screen on the exam page",
        "help",
        "any news",
        "ok",
    ]
    # "Canvas" is in 1 of 8; the exam page is in 5.
    assert mostly_about(texts, known_terms=SERVICES) == "exam page"


def test_known_terms_match_whole_words_case_insensitively() -> None:
    texts = ["I have a duet tonight", "Duolingo streak", "VPNs are great", "vpn-less life", "VPN!"]
    # "duet", "Duolingo" and "VPNs" are not Duo or VPN; "vpn-less" and "VPN!" have VPN as a
    # whole word: 2 of 5.
    assert mostly_about(texts, known_terms=("Duo",)) is None
    assert mostly_about(texts, known_terms=("VPN",)) == "VPN"


def test_terms_with_punctuation_and_spaces_match() -> None:
    texts = ["wi-fi gone", "WI-FI GONE AGAIN", "is the  student portal down", "Student Portal?"]
    assert mostly_about(texts, known_terms=("Wi-Fi",)) == "Wi-Fi"  # as crier.yml writes it
    assert mostly_about(texts, known_terms=("student portal",)) == "student portal"


def test_the_most_frequent_known_term_wins_and_a_tie_goes_to_the_longer() -> None:
    texts = ["duo is slow", "Duo prompt missing", "duo prompt again", "VPN", "vpn", "vpn too"]
    assert mostly_about(texts, known_terms=("VPN", "Duo")) == "VPN"  # 3 texts against 3...
    assert mostly_about(texts, known_terms=("Duo", "VPN")) == "Duo"  # ...so crier.yml's order
    assert mostly_about(texts[:3], known_terms=("Duo", "Duo prompt")) == "Duo"  # 3 against 2
    assert mostly_about(texts[1:3], known_terms=("Duo", "Duo prompt")) == "Duo prompt"


def test_a_known_term_in_a_link_or_a_handle_does_not_count() -> None:
    texts = [
        "see https://status.example.edu/wifi for news",
        "@wifi_team help",
        "@wifi help",
        "anything?",
    ]
    assert mostly_about(texts, known_terms=("wifi",)) is None


def test_a_hashtag_counts_as_its_word() -> None:
    texts = ["#wifi", "#WiFi down", "wifi again", "argh"]
    assert mostly_about(texts, known_terms=("WiFi",)) == "WiFi"


def test_the_duo_prompt_as_it_was_most_often_written() -> None:
    texts = [
        "The Duo prompt never shows up",
        "the duo prompt is not coming",
        "No Duo prompt on my phone",
        "Duo prompt times out!!",
        "I can't log in, the Duo prompt is gone",
        "still nothing",
        "when will it be fixed",
    ]
    assert mostly_about(texts) == "Duo prompt"


def test_a_pair_is_preferred_to_its_word_when_it_covers_half_of_it() -> None:
    texts = [
        "Duo prompt missing",
        "duo prompt missing",
        "Duo is broken",
        "Duo again",
        "duo never",
        "Duo prompt dead",
    ]
    # "duo" is in 6, "duo prompt" in 3: half, so the more telling pair.
    assert mostly_about(texts) == "Duo prompt"
    texts[-1] = "Duo dead"
    # Now 2 of 6 say "Duo prompt": under 3 texts, so the word.
    assert mostly_about(texts) == "Duo"


def test_a_pair_never_joins_across_stop_words_or_sentences() -> None:
    texts = [
        "prompt is broken",
        "prompt. Broken.",
        "the prompt was broken",
        "prompt, broken",
    ]
    # "prompt" and "broken" are each in all four; as a pair in none.
    assert mostly_about(texts) == "prompt"


def test_stop_words_short_words_numbers_and_contractions_are_never_topics() -> None:
    texts = [
        "it's still down, anyone else? 404",
        "still down for me 404 ok",
        "is it down? can't get in 404",
        "Anyone? it's down, 404",
    ]
    assert mostly_about(texts) is None


def test_acronyms_are_topics() -> None:
    assert mostly_about(["2FA codes late", "no 2FA code", "2FA broken"]) == "2FA"


def test_a_phrase_needs_three_texts_and_a_fifth_of_them() -> None:
    assert mostly_about(["printer jam", "printer jam"]) is None  # two texts only
    texts = ["printer jam", "printer jam", "printer jam"] + [f"misc{i}" for i in range(13)]
    assert mostly_about(texts) is None  # 3 of 16 is under a fifth
    texts = ["printer jam", "printer jam", "printer jam"] + [f"misc{i}" for i in range(12)]
    assert mostly_about(texts) == "printer jam"  # 3 of 15 is a fifth


def test_a_phrase_repeated_in_one_text_counts_once() -> None:
    texts = ["outage outage outage outage", "hello", "weather", "lunch"]
    assert mostly_about(texts) is None


def test_no_texts_is_about_nothing() -> None:
    assert mostly_about([]) is None
    assert mostly_about([], known_terms=SERVICES) is None
    assert mostly_about(["", "  "], known_terms=("", " ")) is None


def test_the_answer_is_the_same_whatever_the_order_of_ties() -> None:
    texts = ["alpha beta", "gamma delta", "alpha beta", "gamma delta", "alpha beta", "gamma delta"]
    # Two pairs in three texts each: the one read first, every time.
    assert mostly_about(texts) == "alpha beta"
    assert mostly_about(texts) == mostly_about(list(texts))


def test_clean_takes_out_links_and_handles_and_keeps_hashtag_words() -> None:
    got = clean("@ann.bsky.social see https://x.example/a #WiFi down @jo@mastodon.social")
    assert got.split() == ["see", "WiFi", "down"]


@given(st.lists(st.text(max_size=60), max_size=20), st.lists(st.text(max_size=12), max_size=4))
def test_the_topic_is_a_known_term_or_something_written(texts: list[str], known: list[str]) -> None:
    about = mostly_about(texts, known_terms=known)
    if about is not None:
        lowered = " ".join(" ".join(clean(t).split()) for t in texts).casefold()
        # A known term comes back as crier.yml spells it, without the spaces around it.
        assert about in [k.strip() for k in known] or about.casefold() in lowered


def test_the_burst_line() -> None:
    assert (
        burst_line(37, "Duo prompt", {"Mastodon": 20, "Bluesky": 17})
        == "37 new replies, mostly about “Duo prompt” (Mastodon 20, Bluesky 17)"
    )


def test_the_burst_line_without_a_topic_or_networks() -> None:
    assert burst_line(5, None, {}) == "5 new replies"
    assert burst_line(1, None, {"X": 1}) == "1 new reply (X 1)"
    assert burst_line(1200, "VPN", {"X": 0}) == "1,200 new replies, mostly about “VPN”"


def test_the_busiest_network_comes_first_and_ties_by_name() -> None:
    line = burst_line(9, None, {"X": 3, "Bluesky": 3, "Mastodon": 3, "Facebook": 0})
    assert line == "9 new replies (Bluesky 3, Mastodon 3, X 3)"
    line = burst_line(9, None, {"Bluesky": 1, "Mastodon": 8})
    assert line == "9 new replies (Mastodon 8, Bluesky 1)"


def test_the_burst_line_is_plain_text() -> None:
    # The topic comes from the public: the line adds no markup, and each chat escapes it.
    line = burst_line(3, "*bold* <!channel>", {"Mastodon": 3})
    assert line == "3 new replies, mostly about “*bold* <!channel>” (Mastodon 3)"
