"""Channels, devices and bots: the pure rules of counter/sources.py."""

from __future__ import annotations

import pytest

from widget_server.counter import sources
from widget_server.counter.sources import channel_of, device_of, host_of, is_bot, source_of

PAGE = "https://shop.example.com/pricing"


def channel(url: str, referrer: str = "") -> str:
    return source_of(url, referrer).channel


@pytest.mark.parametrize(
    ("url", "referrer", "expected"),
    [
        (PAGE, "", "direct"),
        (PAGE, "https://shop.example.com/blog", "direct"),
        (PAGE, "https://www.shop.example.com/", "direct"),
        (PAGE + "?gclid=abc", "", "ads"),
        (PAGE + "?yclid=1", "https://ya.ru/", "ads"),
        (PAGE + "?fbclid=x", "https://facebook.com/", "ads"),
        (PAGE + "?msclkid=x", "", "ads"),
        (PAGE + "?ttclid=x", "", "ads"),
        (PAGE + "?utm_source=google&utm_medium=cpc", "https://www.google.com/", "ads"),
        (PAGE + "?utm_medium=PPC", "", "ads"),
        (PAGE + "?utm_medium=paidsearch", "", "ads"),
        (PAGE + "?utm_medium=cpm", "", "ads"),
        (PAGE + "?utm_medium=display", "", "ads"),
        (PAGE + "?utm_medium=ads", "", "ads"),
        (PAGE + "?utm_medium=yandex_cpc", "", "ads"),
        (PAGE + "?utm_medium=email&utm_source=march", "", "email"),
        (PAGE + "?utm_source=newsletter", "", "email"),
        (PAGE + "?utm_medium=social&utm_source=partner", "", "social"),
        (PAGE + "?utm_source=facebook", "", "social"),
        (PAGE, "https://l.facebook.com/l.php?u=x", "social"),
        (PAGE, "https://t.co/abc", "social"),
        (PAGE, "https://x.com/someone", "social"),
        (PAGE, "https://www.linkedin.com/feed/", "social"),
        (PAGE, "https://vk.com/wall1", "social"),
        (PAGE, "https://ok.ru/", "social"),
        (PAGE, "https://www.youtube.com/watch?v=1", "social"),
        (PAGE, "https://old.reddit.com/r/x", "social"),
        (PAGE, "https://www.tiktok.com/@x", "social"),
        (PAGE, "https://mail.google.com/mail/u/0/", "email"),
        (PAGE, "https://outlook.live.com/", "email"),
        (PAGE, "https://www.google.com/", "search"),
        (PAGE, "https://www.google.co.uk/", "search"),
        (PAGE, "https://www.google.com.br/", "search"),
        (PAGE, "https://www.bing.com/search?q=x", "search"),
        (PAGE, "https://yandex.ru/search/?text=x", "search"),
        (PAGE, "https://yandex.com.tr/", "search"),
        (PAGE, "https://duckduckgo.com/", "search"),
        (PAGE, "https://search.yahoo.com/", "search"),
        (PAGE, "https://www.baidu.com/", "search"),
        (PAGE, "https://www.ecosia.org/", "search"),
        (PAGE, "https://www.qwant.com/", "search"),
        (PAGE, "https://search.brave.com/", "search"),
        (PAGE + "?utm_medium=organic", "", "search"),
        (PAGE, "https://blog.partner.org/post", "referral"),
        (PAGE, "https://google.example.org/", "referral"),
        (PAGE, "https://example.com/", "referral"),
        (PAGE + "?utm_medium=referral", "", "referral"),
        (PAGE + "?utm_source=partner", "", "referral"),
        (PAGE, "android-app://com.slack/", "direct"),
        (PAGE, "not a url", "direct"),
    ],
)
def test_channel(url: str, referrer: str, expected: str) -> None:
    assert channel(url, referrer) == expected
    assert expected in sources.CHANNELS


def test_source_reads_utm_and_the_first_click_id() -> None:
    found = source_of(
        PAGE + "?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=kettle"
        "&utm_content=ad%201&fbclid=F&gclid=G",
        "https://www.google.com/search?q=kettle",
    )
    assert found.utm == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_term": "kettle",
        "utm_content": "ad 1",
    }
    assert (found.click_id_kind, found.click_id) == ("gclid", "G")
    assert found.referrer_domain == "google.com"
    assert found.channel == "ads"


def test_source_without_parameters_is_empty() -> None:
    found = source_of(PAGE, "")
    assert found.utm == dict.fromkeys(sources.UTM_PARAMS, "")
    assert (found.click_id_kind, found.click_id, found.referrer_domain) == ("", "", "")


def test_own_host_is_not_a_referrer_domain() -> None:
    assert source_of(PAGE, "https://shop.example.com/a").referrer_domain == ""
    assert source_of(PAGE, "https://blog.example.com/a").referrer_domain == "blog.example.com"


def test_long_values_are_cut_to_the_column_size() -> None:
    found = source_of(PAGE + "?utm_source=" + "s" * 400 + "&gclid=" + "g" * 400, "")
    assert len(found.utm["utm_source"]) == len(found.click_id) == 255


def test_blank_click_id_is_ignored() -> None:
    found = source_of(PAGE + "?gclid=&yclid=Y", "")
    assert (found.click_id_kind, found.click_id) == ("yclid", "Y")


def test_host_of() -> None:
    assert host_of("https://WWW.Example.COM:8443/x") == "example.com"
    assert host_of("ftp://example.com/") == ""
    assert host_of("http://[::1") == ""
    assert host_of("") == ""


def test_channel_of_is_case_insensitive_on_medium() -> None:
    assert channel_of({"utm_medium": "Email"}, "", "", "a.com") == "email"


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36", "desktop"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Version/17.5 Safari/605.1.15", "desktop"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", "desktop"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148", "mobile"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/126.0 Mobile Safari/537.36", "mobile"),
        ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1", "tablet"),
        ("Mozilla/5.0 (Linux; Android 13; SM-X700) Chrome/126.0 Safari/537.36", "tablet"),
        ("Mozilla/5.0 (Linux; U; Android 4.0; Kindle Fire) Silk/3.0", "tablet"),
        ("", "desktop"),
    ],
)
def test_device(user_agent: str, device: str) -> None:
    assert device_of(user_agent) == device


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/126.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 11; moto g power) Chrome-Lighthouse",
        "facebookexternalhit/1.1",
        "Screaming Frog SEO Spider/19.0",
        "curl/8.5.0",
        "python-requests/2.32",
        "python-httpx/0.27",
        "",
        "   ",
    ],
)
def test_bots(user_agent: str) -> None:
    assert is_bot(user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148",
        "Mozilla/5.0 (Linux; Android 14) YaBrowser/24.4 Mobile Safari/537.36",
    ],
)
def test_people_are_not_bots(user_agent: str) -> None:
    assert not is_bot(user_agent)
