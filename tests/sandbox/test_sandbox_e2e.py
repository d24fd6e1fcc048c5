"""Story: someone evaluating Crier opens the sandbox in a browser and plays the whole flow:
declare (a catalog service or *Other*), approve (and see who may not), edit, reject, update,
resolve, and the posts in the network panels.

Headless Chromium from Debian's package, driven by Playwright with its executable path: no
browser is downloaded. Screenshots go to ``test-output/sandbox/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers.sandbox.app import Sandbox
from tests.browser import chromium, skip_without_chromium

skip_without_chromium()

from playwright.async_api import Browser, Page, expect  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "sandbox"
TIME = re.compile(r"\d{1,2}:\d{2} [AP]M E[SD]T")
NETWORKS = ("x", "facebook", "mastodon", "bluesky", "statuspage", "site")
WAIT_MS = 15_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def page(browser: Browser, sandbox: Sandbox) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    await opened.goto(sandbox.url)
    yield opened
    await context.close()
    assert not problems, f"the page's script failed: {problems}"


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def type_message(page: Page, text: str) -> None:
    await page.fill("#message", text)
    await page.press("#message", "Enter")


async def be(page: Page, user_id: str) -> None:
    await page.select_option("#whoami", user_id)


async def declare(page: Page) -> None:
    await type_message(page, "/outage Blackboard: students cannot log in")
    await expect(page.locator(".bk-header").first).to_contain_text(
        "Blackboard: students cannot log in", timeout=WAIT_MS
    )
    await expect(page.get_by_role("button", name="Approve & publish")).to_be_visible(
        timeout=WAIT_MS
    )


async def approve(page: Page) -> None:
    """Click Approve & publish and confirm: Crier asks only who may publish ("Publish now?")."""
    await page.get_by_role("button", name="Approve & publish").click()
    modal = page.locator("form.modal")
    await expect(modal).to_contain_text("Publish now?")
    await modal.get_by_role("button", name="Publish").click()
    await expect(modal).to_have_count(0)


async def test_declare_then_an_approver_publishes_to_every_network(page: Page) -> None:
    await declare(page)
    thread = page.locator(".thread").first
    await expect(thread).to_contain_text("First public post")
    await expect(thread).to_contain_text(re.compile(r"X · \d+/280 weighted characters"))
    await expect(thread).to_contain_text("⏱ marks a time set when the post goes out")
    await expect(page.locator(".msg.ephemeral")).to_contain_text("Drafting the posts")

    await be(page, "U0VISITOR1")  # someone else may not approve
    await expect(page.locator(".msg.ephemeral")).to_have_count(0)  # the analyst's, not theirs
    await page.get_by_role("button", name="Approve & publish").click()
    await expect(page.locator(".msg.ephemeral")).to_contain_text("Only approvers")
    await expect(page.locator("form.modal")).to_have_count(0)  # refused first, never asked
    await expect(page.locator(".net article")).to_have_count(0)

    await be(page, "U0APPROVER1")
    await approve(page)
    for network in NETWORKS:
        post = page.locator(f".net-{network} article").first
        await expect(post).to_be_visible(timeout=WAIT_MS)
        await expect(post.locator(".pub-time")).to_have_text(TIME)
    x_post = page.locator(".net-x article").first
    await expect(x_post.locator(".pub-text")).to_contain_text(TIME)  # the time in the post
    await expect(x_post.locator(".pub-text")).to_contain_text("students cannot log in")
    await expect(x_post.locator(".len")).to_contain_text("/280 weighted characters")
    await expect(page.locator(".net-statuspage .sp-title")).to_have_text(
        "Blackboard: students cannot log in"
    )
    await expect(thread).to_contain_text("Approved by @Avery Approver", timeout=WAIT_MS)
    await expect(thread).to_contain_text("is out on X, Facebook, Mastodon, Bluesky, Status page")
    await screenshot(page, "published")


async def test_an_edited_revision_is_approved_and_its_text_published(page: Page) -> None:
    await declare(page)
    await page.get_by_role("button", name="Edit").click()
    modal = page.locator("form.modal")
    await expect(modal).to_contain_text("Edit the draft")
    x_text = modal.locator('[data-block-id="text_x"] textarea')
    drafted = await x_text.input_value()
    # The form shows where the time of publishing goes, not a time that would silently change.
    assert "{time}" in drafted and not TIME.search(drafted), drafted
    await expect(modal).to_contain_text("{time} becomes the time the post goes out")
    await x_text.fill("EDITED by the desk. " + drafted)
    await screenshot(page, "edit-modal")
    await modal.get_by_role("button", name="Save revision").click()
    await expect(modal).to_have_count(0)

    thread = page.locator(".thread").first
    await expect(thread).to_contain_text("revision 2", timeout=WAIT_MS)
    await expect(thread).to_contain_text("Replaced by a newer revision below")
    await expect(page.get_by_role("button", name="Approve & publish")).to_have_count(1)

    await be(page, "U0APPROVER2")
    await approve(page)
    x_post = page.locator(".net-x article").first
    await expect(x_post).to_contain_text("EDITED by the desk.", timeout=WAIT_MS)
    await expect(x_post.locator(".pub-text")).to_contain_text(TIME)
    await expect(page.locator(".net-facebook article").first).not_to_contain_text("EDITED")
    await screenshot(page, "edited-published")


async def test_a_rejected_draft_says_why_in_the_thread(page: Page) -> None:
    await declare(page)
    await be(page, "U0APPROVER1")
    await page.get_by_role("button", name="Reject").click()
    modal = page.locator("form.modal")
    await expect(modal).to_contain_text("Reject the draft")
    await modal.get_by_role("button", name="Reject").click()  # no reason: Slack refuses
    await expect(modal.locator(".bk-error")).to_have_text("Please complete this required field.")
    await modal.locator("textarea").fill("Wrong service: it is the portal, not Blackboard.")
    await modal.get_by_role("button", name="Reject").click()
    await expect(modal).to_have_count(0)

    thread = page.locator(".thread").first
    await expect(thread).to_contain_text("Rejected by @Avery Approver", timeout=WAIT_MS)
    await expect(thread).to_contain_text(
        "@Ana Analyst, your draft was rejected by @Avery Approver: Wrong service: it is the "
        "portal, not Blackboard."
    )
    await expect(page.get_by_role("button", name="Approve & publish")).to_have_count(0)
    await expect(page.locator(".net article")).to_have_count(0)
    await screenshot(page, "rejected")


async def test_the_declare_form_opens_from_outage_alone_and_drafts(page: Page) -> None:
    await type_message(page, "/outage")
    modal = page.locator("form.modal")
    await expect(modal).to_contain_text("Declare an outage", timeout=WAIT_MS)
    await modal.locator('[data-block-id="service"] select').select_option("Email")
    await modal.locator('[data-block-id="summary"] input').fill("staff cannot send mail")
    await modal.locator('[data-block-id="next_update_minutes"] input').fill("soon")
    await modal.get_by_role("button", name="Draft posts").click()
    error = modal.locator('[data-block-id="next_update_minutes"] .bk-error')
    await expect(error).to_be_visible(timeout=WAIT_MS)  # Crier's own response_action: errors
    await screenshot(page, "declare-form-error")
    await modal.locator('[data-block-id="next_update_minutes"] input').fill("20")
    await modal.get_by_role("button", name="Draft posts").click()
    await expect(modal).to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator(".bk-header").first).to_contain_text("Email: staff cannot send mail")
    await expect(page.locator(".thread").first).to_contain_text("First public post")


async def test_a_service_outside_the_catalog_is_declared_as_other(page: Page) -> None:
    await type_message(page, "/outage Zoom: meetings drop after a minute")
    refusal = page.locator(".msg.ephemeral", has_text="I don't know a service called")
    await expect(refusal).to_contain_text("pick Other", timeout=WAIT_MS)

    await type_message(page, "/outage")
    modal = page.locator("form.modal")
    await expect(modal).to_contain_text("Declare an outage", timeout=WAIT_MS)
    other = "Other (not in the catalog)"
    await modal.locator('[data-block-id="service"] select').select_option(label=other)
    await modal.locator('[data-block-id="summary"] input').fill("meetings drop after a minute")
    await modal.get_by_role("button", name="Draft posts").click()
    name_error = modal.locator('[data-block-id="other_service"] .bk-error')
    await expect(name_error).to_contain_text("Name the service", timeout=WAIT_MS)
    await modal.locator('[data-block-id="other_service"] input').fill("Zoom")
    await modal.get_by_role("button", name="Draft posts").click()
    await expect(modal).to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator(".bk-header").first).to_contain_text(
        "Zoom: meetings drop after a minute", timeout=WAIT_MS
    )
    await expect(page.locator(".thread").first).to_contain_text(
        "Zoom is not in Crier's catalog: the post links to the help page", timeout=WAIT_MS
    )


async def test_an_answer_comes_into_view_when_the_channel_is_scrolled_up(page: Page) -> None:
    await declare(page)
    # Reading the incident from its top: what is added at the bottom lands out of sight.
    below = await page.locator("#timeline").evaluate(
        "el => { el.scrollTop = 0; return el.scrollHeight - el.clientHeight; }"
    )
    assert below > 300
    await type_message(page, "/outage list")
    answer = page.locator(".msg.ephemeral", has_text="Open incidents")
    await expect(answer).to_be_in_viewport(timeout=WAIT_MS)
    await screenshot(page, "answer-in-view")


async def test_an_update_changes_severity_and_channels_then_the_incident_is_resolved(
    page: Page,
) -> None:
    """The walk-through's second half: Post update (its draft comes into view though the
    person scrolled up to the incident to click), Edit refused over the limit, Resolve."""
    await declare(page)
    await be(page, "U0APPROVER1")
    await approve(page)
    thread = page.locator(".thread").first
    await expect(thread).to_contain_text("Post 1 is out on", timeout=WAIT_MS)

    await be(page, "U0ANALYST1")
    await page.locator("#timeline").evaluate("el => { el.scrollTop = 0; }")
    await page.get_by_role("button", name="Post update").first.click()
    modal = page.locator("form.modal")
    await expect(modal).to_contain_text("Post an update", timeout=WAIT_MS)
    await modal.locator('[data-block-id="status"] select').select_option("identified")
    await modal.locator('[data-block-id="severity"] select').select_option("sev2")
    await modal.locator('[data-block-id="what_we_are_doing"] textarea').fill("A fix is under way.")
    for network in ("facebook", "bluesky", "statuspage"):
        await modal.locator(f'[data-block-id="channels"] input[value="{network}"]').uncheck()
    await screenshot(page, "update-form")
    await modal.get_by_role("button", name="Draft update").click()
    await expect(modal).to_have_count(0, timeout=WAIT_MS)
    draft = thread.locator(".msg", has_text="A fix is under way.")
    await expect(draft).to_be_in_viewport(timeout=WAIT_MS)
    await expect(draft).to_contain_text("Update · status Identified")
    await screenshot(page, "update-drafted")

    await draft.get_by_role("button", name="Edit").click()
    await expect(modal).to_contain_text("Edit the draft", timeout=WAIT_MS)
    await modal.locator('[data-block-id="text_x"] textarea').fill("Too long. " * 40)
    await modal.get_by_role("button", name="Save revision").click()
    error = modal.locator('[data-block-id="text_x"] .bk-error')
    await expect(error).to_contain_text("over X's limit", timeout=WAIT_MS)
    await modal.get_by_role("button", name="Cancel").click()
    await expect(modal).to_have_count(0)

    await be(page, "U0APPROVER2")
    await approve(page)
    card = page.locator("#timeline > .msg").filter(has=page.locator(".bk-header")).first
    await expect(card).to_contain_text("Major", timeout=WAIT_MS)
    await expect(card).to_contain_text("X, Mastodon")
    await expect(thread).to_contain_text("Post 2 is out on X, Mastodon", timeout=WAIT_MS)

    await card.get_by_role("button", name="Resolve").click()
    await expect(modal).to_contain_text("Resolve the outage", timeout=WAIT_MS)
    await expect(modal).to_contain_text("It was a false alarm")
    await modal.locator('[data-block-id="what_happened"] textarea').fill("The server restarted.")
    await modal.get_by_role("button", name="Draft all-clear").click()
    await expect(modal).to_have_count(0, timeout=WAIT_MS)
    await expect(thread.locator(".msg", has_text="All-clear")).to_be_in_viewport(timeout=WAIT_MS)
    await be(page, "U0APPROVER1")
    await approve(page)
    await expect(card).to_contain_text("Resolved", timeout=WAIT_MS)
    await expect(page.locator(".net-mastodon article").first).to_contain_text("Resolved")
    await expect(page.locator(".net-facebook article")).to_have_count(1)  # not told since
    await screenshot(page, "resolved")


async def test_a_post_is_scheduled_with_the_calendar_forms_date_and_time_fields(page: Page) -> None:
    """Slack's date and time pickers are the browser's own fields, found by their labels."""
    await type_message(page, "/outage calendar add")
    modal = page.locator("form.modal")
    await expect(modal).to_contain_text("Schedule a post", timeout=WAIT_MS)
    await modal.locator('[data-block-id="calendar_text"] textarea').fill("Tip: lock your screen.")
    day = modal.get_by_label("Day", exact=True)
    await expect(day).to_have_attribute("type", "date")
    await day.fill("2099-07-31")
    clock = modal.get_by_label(re.compile(r"^Time"))
    await expect(clock).to_have_value("10:00")  # the element's initial_time
    await clock.fill("14:45")
    await modal.locator('[data-block-id="channels"] input[value="x"]').check()
    await screenshot(page, "calendar-form")
    await modal.get_by_role("button", name="Propose").click()
    await expect(modal).to_have_count(0, timeout=WAIT_MS)
    proposed = page.locator(".msg", has_text="Tip: lock your screen.")
    # 14:45 on a July day in the organisation's zone (America/New_York): daylight time.
    await expect(proposed).to_contain_text("2:45 PM EDT", timeout=WAIT_MS)


def minute_of_day(label: str) -> int:
    """``"12:07 PM"`` anywhere in ``label`` as minutes since midnight."""
    found = re.search(r"(\d{1,2}):(\d{2}) ([AP]M)", label)
    assert found, label
    hour, minute, half = int(found.group(1)) % 12, int(found.group(2)), found.group(3)
    return (hour + (12 if half == "PM" else 0)) * 60 + minute


async def test_after_a_jump_ahead_every_time_on_the_page_is_the_simulated_one(page: Page) -> None:
    await declare(page)
    await page.get_by_role("button", name="+15 min").click()
    await expect(page.locator("#clock-now")).to_contain_text("(+0 h 15 min)", timeout=WAIT_MS)
    thread = page.locator(".thread").first
    await expect(thread).to_contain_text("A draft has waited 15 minutes", timeout=WAIT_MS)
    await expect(thread).to_contain_text("A draft has waited 5 minutes")
    await expect(thread).not_to_contain_text("unavailable")

    await be(page, "U0APPROVER1")
    await approve(page)
    x_post = page.locator(".net-x article").first
    await expect(x_post).to_be_visible(timeout=WAIT_MS)
    out = page.locator(".msg", has_text="is out on X").last
    await expect(out).to_be_visible(timeout=WAIT_MS)
    times = {
        "the clock": await page.locator("#clock-now").inner_text(),
        "the panel's heading": await x_post.locator(".pub-time").inner_text(),
        "the post's text": await x_post.locator(".pub-text").inner_text(),
        "the message": await out.locator(".msg-time").first.inner_text(),
    }
    minutes = {where: minute_of_day(label) for where, label in times.items()}
    assert max(minutes.values()) - min(minutes.values()) <= 1, times  # a minute may turn
    await screenshot(page, "after-a-jump")


@pytest.mark.parametrize("width", [1024, 800])
async def test_the_page_fits_a_narrower_window(page: Page, width: int) -> None:
    await declare(page)
    await be(page, "U0APPROVER1")
    await approve(page)
    await expect(page.locator(".net-x article").first).to_be_visible(timeout=WAIT_MS)
    await page.set_viewport_size({"width": width, "height": 768})
    boxes = await page.evaluate(
        """() => {
          const box = (el) => { const r = el.getBoundingClientRect();
            return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; };
          const one = (css) => box(document.querySelector(css));
          return {
            topbar: one(".topbar"),
            inTopbar: [...document.querySelectorAll(".topbar > *")]
              .filter((el) => el.getClientRects().length).map(box),
            channelHead: one(".channel-head"),
            channel: one(".channel"),
            published: one(".published"),
            panels: [...document.querySelectorAll(".net")].map(box),
          };
        }"""
    )
    await screenshot(page, f"published-{width}px")
    topbar = boxes["topbar"]
    for inside in boxes["inTopbar"]:  # nothing spills out of the top bar
        assert topbar["top"] <= inside["top"] and inside["bottom"] <= topbar["bottom"], boxes
        assert inside["right"] <= width, boxes
    assert topbar["bottom"] <= boxes["channelHead"]["top"], boxes
    assert boxes["channel"]["right"] - boxes["channel"]["left"] >= 300, boxes
    published = boxes["published"]
    assert published["right"] <= width, boxes  # the Published panel is whole
    for panel in boxes["panels"]:
        assert published["left"] <= panel["left"] and panel["right"] <= published["right"]
        assert panel["right"] - panel["left"] >= 260, boxes


async def test_a_newcomer_subscribes_confirms_from_the_mailbox_and_is_told_of_a_post(
    page: Page,
) -> None:
    mailbox = page.locator("#mailbox")
    await expect(mailbox).to_contain_text("No email yet")
    site = await page.context.new_page()  # the status site, as the page's link opens it
    await site.goto(page.url.split("?")[0].rstrip("/") + "/status/subscribe/")
    await site.get_by_label("Your email address").fill("ada@example.edu")
    await site.get_by_role("button", name="Subscribe").click()
    await expect(site.get_by_role("heading", level=1)).to_have_text("Check your inbox")

    asked = mailbox.locator(".mail").first
    await expect(asked).to_contain_text("To ada@example.edu", timeout=WAIT_MS)
    await expect(asked.locator(".pub-time")).to_have_text(TIME)
    await asked.locator("summary").click()
    async with page.context.expect_page() as opened:
        await asked.locator("a", has_text="/status/subscribe/confirm/").click()
    confirm = await opened.value
    await confirm.get_by_role("button", name="Confirm").click()
    await expect(confirm.get_by_role("heading", level=1)).to_have_text("You are subscribed")

    await declare(page)
    await be(page, "U0APPROVER1")
    await approve(page)
    await expect(mailbox.locator(".mail")).to_have_count(2, timeout=WAIT_MS)
    told = mailbox.locator(".mail").first
    await expect(told).to_contain_text("students cannot log in")
    await expect(mailbox.locator(".mail").nth(1)).to_have_attribute("open", "")  # still open
    await told.locator("summary").click()
    await expect(told.locator(".mail-text")).to_contain_text("students cannot log in")
    await screenshot(page, "mailbox")


async def test_the_public_replies_and_surges_from_the_network_panels(page: Page) -> None:
    mastodon = page.locator(".net-mastodon")
    replies = mastodon.get_by_role("button", name="Receive replies")
    await expect(replies).to_be_disabled()  # nothing of an open incident to answer yet
    await expect(mastodon.locator(".listen-why")).to_contain_text("Replies need a post")
    await expect(page.locator(".net-x .listen-btn")).to_have_count(0)  # X: not listened to

    await declare(page)
    await be(page, "U0APPROVER1")
    await approve(page)
    await expect(mastodon.locator("article").first).to_be_visible(timeout=WAIT_MS)
    await expect(replies).to_be_enabled(timeout=WAIT_MS)
    await replies.click()
    await expect(page.locator("#notice")).to_contain_text("3 people replied on Mastodon")
    thread = page.locator(".thread").first
    await expect(thread).to_contain_text("3 new replies to incident #1's posts", timeout=WAIT_MS)
    await expect(thread.get_by_role("button", name="Reply")).to_have_count(3)

    surge = page.locator(".net-bluesky").get_by_role("button", name="Receive a surge of mentions")
    await surge.click()
    alert = page.locator(".msg", has_text="Mentions of Wi-Fi are surging")
    await expect(alert).to_be_visible(timeout=WAIT_MS)
    await expect(alert.get_by_role("button", name="Declare outage")).to_be_visible()
    await screenshot(page, "listening")
