"""cadence/demo/leaks.py: the scanner run over Prefect logs and artifacts (by tests and the month bench) catches
what it must, and only that."""

from __future__ import annotations

from cadence.demo.leaks import ANY_EMAIL, PLATFORM_TOKENS, SENDGRID_KEY, find_leaks

# Built at run time, so no key-shaped text is committed (secret scanners would flag it).
KEY = ".".join(["SG", "abcdefghijklmnop", "QRSTUVWXYZ0123456789"])
PASSWORD = "s3cret-pw"
ANN = "ann.lee@client.example"


def test_a_secret_is_found_with_where_and_offset_but_not_repeated():
    leaks = find_leaks([("run sweep-2026-11-25 log 3", f"connecting with {PASSWORD} now")], secrets=[PASSWORD])
    assert leaks == ["run sweep-2026-11-25 log 3 at 16: secret s3c… (9 chars)"]
    assert PASSWORD not in leaks[0], "the report must not leak the secret again"


def test_every_occurrence_in_every_text_is_reported():
    texts = iter([("log 1", f"{KEY} and {KEY}"), ("artifact recap-acme", "clean"), ("log 2", KEY)])
    assert [leak.split(":")[0] for leak in find_leaks(texts, secrets=[KEY])] == [
        "log 1 at 0", f"log 1 at {len(KEY) + 5}", "log 2 at 0"]


def test_empty_secrets_are_ignored_rather_than_matching_everywhere():
    assert find_leaks([("log", "nothing to see")], secrets=[None, ""]) == []


def test_a_client_email_is_found():
    assert find_leaks([("log", f"sent to {ANN}.")], emails=[ANN]) == [f"log at 8: email as {ANN!r}"]


def test_a_client_email_is_found_in_another_case_and_percent_encoded():
    text = "To: Ann.Lee@Client.EXAMPLE; link mailto:ANN.LEE%40client.example"
    assert [leak.split(": ", 1)[0] for leak in find_leaks([("artifact", text)], emails=[ANN])] == [
        "artifact at 4", f"artifact at {text.index('ANN.LEE%40')}"]


def test_other_addresses_and_masked_forms_are_not_that_client_email():
    text = "jo.ann.lee@client.example, ann.lee@client.example.org, a***@client.example, ann.lee@***.example"
    assert find_leaks([("log", text)], emails=[ANN]) == []


def test_any_email_pattern_finds_unknown_addresses_but_not_masked_ones():
    text = "owner bob@agency.example; contact a***@example.com; contact ***@example.com"
    assert find_leaks([("log", text)], patterns=[ANY_EMAIL]) == [
        f"log at 6: {ANY_EMAIL.pattern!r} matched 'bob@agency.example'"]


def test_a_secret_pattern_is_reported_masked():
    leaks = find_leaks([("worker log", f"Authorization: Bearer {KEY}")], secret_patterns=[SENDGRID_KEY])
    assert len(leaks) == 1 and leaks[0].startswith("worker log at 22: ") and KEY not in leaks[0]


def test_clean_text_has_no_leaks():
    text = "recap for acme (client #7): 3 messages queued for Ann Lee; key **********"
    assert find_leaks([("log", text)], secrets=[PASSWORD, KEY], emails=[ANN], patterns=[ANY_EMAIL],
                      secret_patterns=[SENDGRID_KEY]) == []


def test_platform_tokens_are_found_by_shape_and_shown_masked():
    tail = "AbCdEfGhIjKlMnOpQrStUv"  # token-shaped text is built here, never committed whole
    refresh, access, meta = "1//0g" + tail[:21], "ya29.a0Af" + tail + "YzAb", "EAABsbCS1iHg" + tail + "WxYz12ab"
    text = f"refresh {refresh}, access {access}, meta {meta}; path /v1//short and ya29.x are no tokens"
    found = find_leaks([("log", text)], secret_patterns=PLATFORM_TOKENS)
    assert [f.split(" matched ")[1] for f in found] == [f"{t[:3]}… ({len(t)} chars)" for t in (refresh, access, meta)]
    assert not any(tail in f for f in found)
