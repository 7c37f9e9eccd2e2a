"""The website widget in a real browser: Debian's Chromium driven by Playwright.

The bot is conftest's ``widget_bot`` (scripts/run.sh with one other website allowed).
Chromium is the system one (`make browser` installs it); Playwright never downloads a
browser here. Pages of "other websites" are supplied by Playwright itself (page.route),
so nothing leaves the machine. Screenshots go to tests/output/ and docs/widget.png.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, WebSocketRoute, expect, sync_playwright

from actions.knowledge import KnowledgeBase
from bot.crisis.regions import REGIONS
from tests.conftest import WIDGET_ALLOWED_ORIGIN, ServedBot
from tests.support import OUTPUT, ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 900, "height": 1000}
WAIT_MS = 90_000  # generous: the machine is shared and slow; nothing here measures speed
NOT_ALLOWED_ORIGIN = "http://localhost:8766"
CRISIS_PHRASE = "i don't want to wake up tomorrow"

expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with an empty profile, phone-sized."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (or `make test`, which installs it)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=PHONE,
        )
        context.set_default_timeout(WAIT_MS)
        # Here the bot listens on loopback, and Chromium asks a visitor before another
        # site's page may reach their own machine; a deployed bot is not on loopback.
        for origin in (WIDGET_ALLOWED_ORIGIN, NOT_ALLOWED_ORIGIN):
            context.grant_permissions(["local-network-access"], origin=origin)
        yield context
        context.close()


@pytest.fixture()
def page(browser: BrowserContext) -> Iterator[Page]:
    """A new tab; any script error on it fails the test."""
    tab = browser.new_page()
    errors: List[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    tab.close()
    assert errors == [], errors


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(text)
    box.press("Enter")


def bot_message(page: Page, text: str) -> Locator:
    return page.locator(".message.bot").filter(has_text=text)


def wait_until_connected(page: Page) -> None:
    expect(page.locator(".status")).to_have_text("")


def test_a_visitor_asks_follows_a_related_topic_reloads_and_continues(
    page: Page, widget_bot: ServedBot, kb: KnowledgeBase
) -> None:
    length, frequency = kb.topic("session_length"), kb.topic("session_frequency")
    page.goto(f"{widget_bot.base_url}/widget/")
    expect(page.locator(".crisis")).to_have_text(REGIONS["US"].banner)
    expect(page.locator(".crisis")).to_contain_text("In crisis? Call or text 988")
    expect(page.locator(".note")).to_contain_text("automated assistant, not a therapist")
    wait_until_connected(page)

    ask(page, "how long is a therapy session")
    answer = bot_message(page, length.short)
    expect(answer).to_be_visible()
    expect(answer.locator(".sources li")).to_have_text(kb.source_titles_of(length))
    expect(answer.locator(".related button")).to_have_text([kb.topic(r).title for r in length.related])
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "widget-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    box = page.locator(".therapy-widget-host").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # The picture in docs/channels.md: on a desktop screen the question, the answer and its sources fit.
    page.set_viewport_size(DESKTOP)
    expect(answer.locator(".sources")).to_be_in_viewport()
    page.locator(".therapy-widget-host").screenshot(path=str(OUTPUT / "widget.png"))
    (ROOT / "docs").mkdir(exist_ok=True)
    shutil.copyfile(OUTPUT / "widget.png", ROOT / "docs" / "widget.png")
    page.set_viewport_size(PHONE)

    answer.get_by_role("button", name=frequency.title).click()
    expect(page.locator(".message.user").last).to_contain_text(frequency.title)
    expect(bot_message(page, frequency.short)).to_be_visible()

    page.reload()
    expect(bot_message(page, length.short)).to_have_count(1)  # the earlier conversation is still there
    expect(bot_message(page, frequency.short)).to_have_count(1)
    wait_until_connected(page)
    ask(page, "tell me more")  # the bot remembers that the last topic was session frequency
    expect(bot_message(page, frequency.long)).to_be_visible()

    ask(page, CRISIS_PHRASE)
    crisis = page.locator(".message.crisis-reply")
    expect(crisis).to_contain_text("988")
    expect(crisis).to_contain_text("911")
    expect(page.locator(".crisis")).to_be_in_viewport()
    page.screenshot(path=str(OUTPUT / "widget-crisis.png"), full_page=True)


def test_a_question_asked_before_the_widget_has_connected_is_answered(
    page: Page, widget_bot: ServedBot, kb: KnowledgeBase
) -> None:
    held: List[Route] = []
    page.route("**/widget/socket.io.min.js", lambda route: held.append(route))  # a slow network, held by hand
    page.goto(f"{widget_bot.base_url}/widget/", wait_until="domcontentloaded")
    ask(page, "how long is a therapy session")
    expect(page.locator(".status")).to_have_text("Connecting to the assistant\u2026")
    for _ in range(WAIT_MS // 100):  # until Playwright has handed the held request over
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    held[0].continue_()
    expect(bot_message(page, kb.topic("session_length").short)).to_be_visible()


def focused(page: Page) -> Dict[str, Any]:
    """What has the keyboard focus inside the widget, and whether the focus is drawn."""
    return page.evaluate(
        """() => {
            const active = document.querySelector('.therapy-widget-host').shadowRoot.activeElement;
            if (!active) return {};
            return {id: active.id, cls: active.className, tag: active.tagName, text: active.textContent,
                    outline: getComputedStyle(active).outlineStyle, href: active.getAttribute('href'),
                    inReply: !!active.closest('.crisis-reply')};
        }"""
    )


def test_the_widget_works_with_the_keyboard_alone_and_announces_messages(
    page: Page, widget_bot: ServedBot, kb: KnowledgeBase
) -> None:
    length = kb.topic("session_length")
    last_related = kb.topic(length.related[-1])
    page.goto(f"{widget_bot.base_url}/widget/")
    wait_until_connected(page)
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("status")).to_have_count(1)

    for link in REGIONS["US"].links:  # the crisis line's call, text and chat links come first
        page.keyboard.press("Tab")
        assert focused(page)["href"] == link.href
    page.keyboard.press("Tab")
    assert focused(page)["cls"] == "log"  # the conversation can be scrolled with the keyboard
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "therapy-widget-input"
    page.keyboard.type("how long is a therapy session")
    page.keyboard.press("Enter")
    expect(log.locator(".message.bot").filter(has_text=length.short)).to_be_visible()  # inside the live region

    page.keyboard.press("Shift+Tab")
    now = focused(page)
    assert (now["tag"], now["text"], now["outline"]) == ("BUTTON", last_related.title, "solid")
    page.keyboard.press("Enter")
    expect(log.locator(".message.bot").filter(has_text=last_related.short)).to_be_visible()


def test_the_crisis_line_and_replies_follow_the_region(page: Page, widget_bot: ServedBot) -> None:
    page.goto(f"{widget_bot.base_url}/widget/?region=gb")
    expect(page.locator(".crisis")).to_have_text(REGIONS["GB"].banner)
    wait_until_connected(page)
    ask(page, CRISIS_PHRASE)
    crisis = page.locator(".message.crisis-reply")
    expect(crisis).to_contain_text("116 123")
    expect(crisis).to_contain_text("999")


@pytest.mark.parametrize("region", ["US", "GB"])
def test_the_crisis_reply_has_call_text_and_chat_links_one_tap_and_one_key_away(
    page: Page, widget_bot: ServedBot, region: str
) -> None:
    """At phone width: each link of the region is there, big enough to tap, named for a screen
    reader, inside the live log (so it is announced), and reachable with the keyboard."""
    links = REGIONS[region].links
    page.goto(f"{widget_bot.base_url}/widget/?region={region.lower()}")
    banner = page.get_by_role("note", name="Crisis support")
    expect(banner.get_by_role("link")).to_have_count(len(links))
    wait_until_connected(page)
    ask(page, CRISIS_PHRASE)
    reply = page.get_by_role("log", name="Conversation").locator(".message.crisis-reply")
    expect(reply).to_have_count(1)
    listed = reply.get_by_role("list", name="Reach a crisis line now")
    expect(listed.get_by_role("link")).to_have_count(len(links))
    for link in links:
        shown = listed.get_by_role("link", name=link.label, exact=True)
        expect(shown).to_have_attribute("href", link.href)
        box = shown.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"], box
    kinds = {link.kind for link in links}
    assert "call" in kinds and "chat" in kinds and (region == "GB" or "text" in kinds)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    page.screenshot(path=str(OUTPUT / f"widget-crisis-links-{region}.png"), full_page=True)

    # From the question box, Shift+Tab walks back through the reply's links, last first.
    page.get_by_label("Your question").focus()
    for link in reversed(links):
        page.keyboard.press("Shift+Tab")
        now = focused(page)
        assert (now["href"], now["inReply"], now["outline"]) == (link.href, True, "solid"), now


def test_html_from_a_person_or_the_bot_is_shown_as_text(page: Page, widget_bot: ServedBot) -> None:
    sockets: List[WebSocketRoute] = []

    def pass_through(socket: WebSocketRoute) -> None:
        socket.connect_to_server()  # forwards everything both ways; the test can add messages
        sockets.append(socket)

    page.route_web_socket(re.compile(r".*/socket\.io/.*"), pass_through)
    page.goto(f"{widget_bot.base_url}/widget/")
    wait_until_connected(page)

    typed = '<img src=x onerror="window.__injected=1"><b>bold</b><script>window.__injected=2</script>'
    ask(page, typed)
    expect(page.locator(".message.user .text")).to_have_text(typed)
    expect(page.locator(".message.bot").first).to_be_visible()

    # A bot message as a broken or hostile server could send it, on the real socket.
    hostile = {
        "text": '<img src=x onerror="window.__injected=3">Plain <i>words</i>',
        "buttons": [{"title": "<b>Click</b>", "payload": "/session_length"}],
        "custom": {"topic": "x", "sources": [
            {"title": "<u>Bad link</u>", "url": "javascript:window.__injected=4"},
            {"title": "Good link", "url": "https://example.org/therapy"},
            "<script>window.__injected=5</script>",
        ]},
    }
    sockets[-1].send("42" + json.dumps(["bot_uttered", hostile]))
    shown = bot_message(page, "Plain <i>words</i>")
    expect(shown.locator(".text")).to_have_text(hostile["text"])
    expect(shown.locator(".related button")).to_have_text(["<b>Click</b>"])
    expect(shown.locator(".sources li")).to_have_text(
        ["<u>Bad link</u>", "Good link", "<script>window.__injected=5</script>"]
    )
    links = shown.locator(".sources a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/therapy")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    for tag in ("img", "b", "i", "u", "script"):
        expect(page.locator(f".therapy-widget-host .log {tag}")).to_have_count(0)
    assert page.evaluate("window.__injected") is None


def embedding_page(server: str) -> str:
    """Another website: its own clashing styles, and the widget's one script tag."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Another website</title>
<style>button {{ background: rgb(255, 0, 0) !important; }} p {{ font-size: 40px; }}</style></head>
<body><h1>Another website</h1>
<script src="{server}/widget/widget.js" data-title="Ask about therapy" data-region="IE" defer></script>
</body></html>"""


def open_other_site(page: Page, origin: str, server: str) -> None:
    page.route(f"{origin}/", lambda route: route.fulfill(content_type="text/html", body=embedding_page(server)))
    page.goto(f"{origin}/")


def test_an_allowed_site_embeds_the_widget_with_one_script_tag(
    page: Page, widget_bot: ServedBot, kb: KnowledgeBase
) -> None:
    open_other_site(page, WIDGET_ALLOWED_ORIGIN, widget_bot.base_url)
    expect(page.get_by_role("heading", name="Ask about therapy")).to_be_visible()
    expect(page.locator(".crisis")).to_have_text(REGIONS["IE"].banner)  # config.json across origins (CORS)
    wait_until_connected(page)
    ask(page, "how long is a therapy session")
    answer = bot_message(page, kb.topic("session_length").short)
    expect(answer).to_be_visible()
    button_colour = answer.locator(".related button").first.evaluate("b => getComputedStyle(b).backgroundColor")
    assert button_colour != "rgb(255, 0, 0)", "the host page's styles do not reach the widget"

    page.get_by_role("button", name="Hide chat").click()
    expect(page.get_by_label("Your question")).to_be_hidden()
    expect(page.locator(".crisis")).to_be_visible()  # the crisis line stays when the chat is hidden
    page.get_by_role("button", name="Show chat").click()
    expect(page.get_by_label("Your question")).to_be_visible()


def test_a_site_that_is_not_allowed_gets_no_answers_but_keeps_a_crisis_line(
    page: Page, widget_bot: ServedBot
) -> None:
    open_other_site(page, NOT_ALLOWED_ORIGIN, widget_bot.base_url)
    expect(page.locator(".status")).to_contain_text("can't reach the assistant")
    expect(page.locator(".crisis")).to_contain_text("In crisis?")
    expect(page.locator(".crisis")).to_contain_text("emergency number")
