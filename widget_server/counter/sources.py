"""Where a visit came from, and what kind of visitor made it: pure functions over URLs and the
User-Agent, so the rules can be read (and tested) in one place.

The channel of a visit is decided in this order; the first rule that holds wins:

1. ``ads``: the page URL carries a click id (gclid, yclid, fbclid, msclkid, ttclid), or
   ``utm_medium`` names paid traffic (cpc, ppc, paid, paidsearch, cpm, display, ads, …);
2. ``email``: ``utm_medium`` or ``utm_source`` says email / newsletter;
3. ``social``: ``utm_medium`` is social, or ``utm_source`` / the referrer is a social network;
4. ``email``: the referrer is a webmail (mail.google.com, outlook.live.com, …);
5. ``search``: ``utm_medium`` is organic, or the referrer is a search engine;
6. ``referral``: ``utm_medium`` is referral (or affiliate / partner), the referrer is another
   host than the page's own (``www.`` aside), or the URL is tagged with a ``utm_source`` alone;
7. ``direct``: anything else (no referrer, or one from the page's own host).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# In order of preference when a URL carries several.
CLICK_IDS = ("gclid", "yclid", "fbclid", "msclkid", "ttclid")
CHANNELS = ("ads", "search", "social", "referral", "email", "direct")
DEVICES = ("desktop", "mobile", "tablet")

_PAID_MEDIUMS = {
    "cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-search", "cpm", "cpa", "cpv",
    "display", "ads", "ad", "banner", "paid_social", "paidsocial", "paid-social", "retargeting",
    "remarketing", "sem",
}  # fmt: skip
_EMAIL_WORDS = {"email", "e-mail", "e_mail", "mail", "newsletter", "mailing"}
_SOCIAL_MEDIUMS = {"social", "social-network", "social_network", "social-media", "social_media",
                   "socialmedia", "sm", "smm"}  # fmt: skip
_SEARCH_MEDIUMS = {"organic", "seo"}
_REFERRAL_MEDIUMS = {"referral", "affiliate", "partner", "partners"}
# Registrable domains (a referrer matches them and their subdomains).
_SOCIAL_DOMAINS = (
    "facebook.com", "fb.com", "fb.me", "messenger.com", "instagram.com", "t.co", "twitter.com",
    "x.com", "linkedin.com", "lnkd.in", "vk.com", "vk.ru", "ok.ru", "tiktok.com", "youtube.com",
    "youtu.be", "pinterest.com", "reddit.com", "t.me", "telegram.org", "threads.net",
    "snapchat.com", "tumblr.com", "quora.com", "weibo.com", "whatsapp.com", "bsky.app",
    "mastodon.social", "dzen.ru", "my.mail.ru",
)  # fmt: skip
_SOCIAL_SOURCES = {
    "facebook", "fb", "instagram", "ig", "twitter", "x", "linkedin", "vk", "vkontakte", "ok",
    "odnoklassniki", "tiktok", "youtube", "pinterest", "reddit", "telegram", "threads",
    "snapchat", "tumblr", "whatsapp", "bluesky", "mastodon", "dzen",
}  # fmt: skip
_WEBMAIL_DOMAINS = (
    "mail.google.com", "outlook.live.com", "outlook.office.com", "outlook.office365.com",
    "mail.yahoo.com", "e.mail.ru", "mail.yandex.ru", "mail.yandex.com", "mail.proton.me",
    "mail.aol.com",
)  # fmt: skip
# A search brand followed by a country or generic suffix: google.com, google.co.uk, yandex.com.tr.
_SEARCH_HOST = re.compile(
    r"(^|\.)(google|bing|yandex|duckduckgo|yahoo|baidu|ecosia|qwant|startpage|naver|seznam"
    r"|sogou|yep|so)\.(com?\.)?[a-z]{2,3}$"
)
_SEARCH_DOMAINS = ("ya.ru", "go.mail.ru", "search.brave.com", "search.aol.com")

# Automated clients by User-Agent: crawlers, monitors, headless browsers, HTTP libraries.
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|HeadlessChrome|Lighthouse|PhantomJS|Puppeteer|Playwright|"
    r"facebookexternalhit|Mediapartners|AdsBot|bingpreview|ia_archiver|archive\.org|"
    r"Pingdom|UptimeRobot|StatusCake|GTmetrix|PageSpeed|Prerender|preview|scrapy|"
    r"curl/|wget/|python-requests|python-httpx|aiohttp|Go-http-client|okhttp|Java/|axios/|"
    r"node-fetch|libwww|httpclient|YandexMetrika|YandexMobileBot",
    re.IGNORECASE,
)
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|Nexus (7|9|10)|Android(?!.*Mobile)", re.I)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|Opera Mini|IEMobile", re.I)


@dataclass(frozen=True)
class Source:
    """A visit's source, read from its landing URL and referrer."""

    utm: dict[str, str]  # every name of UTM_PARAMS, "" when absent
    click_id_kind: str  # one of CLICK_IDS, or ""
    click_id: str
    referrer_domain: str  # "" without an external referrer
    channel: str


def host_of(url: str) -> str:
    """The lower-cased host of an http(s) URL without a leading ``www.``; "" if there is none."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https"):
        return ""
    return host.removeprefix("www.")


def _matches(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def is_search_engine(host: str) -> bool:
    return bool(_SEARCH_HOST.search(host)) or _matches(host, _SEARCH_DOMAINS)


def is_social(host: str) -> bool:
    return _matches(host, _SOCIAL_DOMAINS)


def is_webmail(host: str) -> bool:
    return _matches(host, _WEBMAIL_DOMAINS)


def query_of(url: str) -> dict[str, str]:
    """The URL's query parameters (the first value of each name), stripped."""
    try:
        pairs = parse_qsl(urlsplit(url).query, keep_blank_values=False)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for name, value in pairs:
        found.setdefault(name.lower(), value.strip())
    return found


def channel_of(utm: dict[str, str], click_id: str, referrer_host: str, page_host: str) -> str:
    medium = utm.get("utm_medium", "").lower()
    source = utm.get("utm_source", "").lower()
    external = bool(referrer_host) and referrer_host != page_host
    if click_id or medium in _PAID_MEDIUMS or "cpc" in medium:
        return "ads"
    if medium in _EMAIL_WORDS or source in _EMAIL_WORDS:
        return "email"
    if medium in _SOCIAL_MEDIUMS or source in _SOCIAL_SOURCES:
        return "social"
    if external and is_social(referrer_host):
        return "social"
    if external and is_webmail(referrer_host):
        return "email"
    if medium in _SEARCH_MEDIUMS or (external and is_search_engine(referrer_host)):
        return "search"
    if medium in _REFERRAL_MEDIUMS or external or source:
        return "referral"
    return "direct"


def source_of(page_url: str, referrer: str) -> Source:
    """The source of a visit landing on ``page_url`` from ``referrer`` (the same object for the
    same two strings while they stay in the cache: treat it as read-only)."""
    return _source_of(page_url, referrer)


@functools.lru_cache(maxsize=1024)  # campaigns land many visitors on one tagged URL
def _source_of(page_url: str, referrer: str) -> Source:
    params = query_of(page_url)
    utm = {name: params.get(name, "")[:255] for name in UTM_PARAMS}
    kind = next((name for name in CLICK_IDS if params.get(name)), "")
    click_id = params[kind][:255] if kind else ""
    page_host = host_of(page_url)
    referrer_host = host_of(referrer)
    channel = channel_of(utm, click_id, referrer_host, page_host)
    external = referrer_host if referrer_host != page_host else ""
    return Source(
        utm=utm,
        click_id_kind=kind,
        click_id=click_id,
        referrer_domain=external[:255],
        channel=channel,
    )


def device_of(user_agent: str) -> str:
    """``tablet``, ``mobile`` or ``desktop`` (the default, also for an empty User-Agent)."""
    if len(user_agent) <= MAX_CACHED_AGENT:
        return _agent(user_agent)[1]
    return _device_of(user_agent)


def is_bot(user_agent: str) -> bool:
    """An automated client: a known crawler, monitor or headless browser, or no User-Agent."""
    if len(user_agent) <= MAX_CACHED_AGENT:
        return _agent(user_agent)[0]
    return _is_bot(user_agent)


# Every hit asks is_bot and every new visit device_of, and a site's traffic comes from a few
# hundred distinct User-Agents: the regular expressions run once per string (20-30 µs each).
MAX_CACHED_AGENT = 512


@functools.lru_cache(maxsize=2048)
def _agent(user_agent: str) -> tuple[bool, str]:
    return _is_bot(user_agent), _device_of(user_agent)


def _device_of(user_agent: str) -> str:
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def _is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or bool(BOT_USER_AGENT.search(user_agent))
