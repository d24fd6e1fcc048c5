// The Crier sandbox page: polls the server's state and turns clicks and typing into its API calls.
// Everything shown is rendered (and escaped) on the server; this script only swaps fragments in.
"use strict";
(() => {
  const POLL_MS = 700;
  const body = document.body;
  const boot = JSON.parse(body.dataset.boot || "{}");
  const commands = JSON.parse(body.dataset.commands || "[]");
  const $ = (id) => document.getElementById(id);
  const timeline = $("timeline");
  const published = $("published");
  const mailbox = $("mailbox"); // the subscribers' mailbox; absent without email subscriptions
  const modalLayer = $("modal-layer");
  const notice = $("notice");
  const composer = $("composer");
  const message = $("message");
  const hint = $("command-hint");
  const whoami = $("whoami");
  const dialog = $("confirm");
  let user = boot.user;
  const channel = boot.channel;
  const folded = new Set(); // threads the person folded
  let last = { timeline: null, published: null, mailbox: null, modal: null };
  let timer = null;
  let noticeTimer = null;

  async function call(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    return response.ok ? response.json() : { notice: `The sandbox answered ${response.status}.` };
  }

  function showNotice(text) {
    if (!text) return;
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.hidden = true; }, 10000);
  }

  // ----- times: in the reader's zone as Slack shows them; the sandbox's people are the
  // organisation's, so its zone (the one in the posts and on the clock), not the browser's -----
  const zone = { timeZone: boot.zone || undefined };
  const hourMinute = { ...zone, hour: "numeric", minute: "2-digit" };
  function localize(root) {
    for (const el of root.querySelectorAll("time.msg-time")) {
      const at = new Date(el.getAttribute("datetime"));
      el.textContent = at.toLocaleTimeString([], hourMinute);
      el.title = at.toLocaleString([], zone);
    }
    for (const el of root.querySelectorAll("time.bk-date")) {
      const at = new Date(el.getAttribute("datetime"));
      const format = el.dataset.format || "{time}";
      el.textContent = format
        .replace(/\{time(_secs)?\}/g, (_, s) => at.toLocaleTimeString([], s
          ? { ...hourMinute, second: "2-digit" } : hourMinute))
        .replace(/\{date_num\}/g, at.toLocaleDateString("en-CA", zone))
        .replace(/\{date\w*\}/g, at.toLocaleDateString([], zone));
      el.title = at.toLocaleString([], zone);
    }
    for (const el of root.querySelectorAll("time.pub-time")) {
      el.title = new Date(el.getAttribute("datetime")).toLocaleString([], zone);
    }
  }

  function applyFolds() {
    for (const thread of timeline.querySelectorAll(".thread")) {
      thread.classList.toggle("folded", folded.has(thread.dataset.thread));
    }
  }

  // ----- answers: what Crier shows only to this person answers their own gesture, so a new
  // one is brought into view even when they had scrolled up to read older messages -----
  let answered = new Set();
  function showNewAnswers(firstLook) {
    const answers = [...timeline.querySelectorAll(".msg[data-ephemeral]")];
    const fresh = answers.filter((el) => !answered.has(el.dataset.ts));
    answered = new Set(answers.map((el) => el.dataset.ts));
    if (firstLook || fresh.length === 0) return;
    const newest = fresh.reduce((a, b) => (Number(b.dataset.ts) > Number(a.dataset.ts) ? b : a));
    const thread = newest.closest(".thread.folded");
    if (thread) {
      folded.delete(thread.dataset.thread);
      applyFolds();
    }
    newest.scrollIntoView({ block: "nearest" });
  }

  // ----- results: what a form or a click asked for (the draft after Post update, "Post 1 is
  // out" after Publish) lands at the bottom of its thread; someone who scrolled up to the
  // incident to click would not see it come, so the first new message is brought into view -----
  const RESULT_WAIT_MS = 20000;
  let before = null; // the messages on the page when the person acted
  let resultDeadline = 0;
  function expectResult() {
    before = new Set([...timeline.querySelectorAll(".msg[data-ts]")].map((el) => el.dataset.ts));
    resultDeadline = Date.now() + RESULT_WAIT_MS;
  }
  function showResult() {
    if (before === null) return;
    if (Date.now() > resultDeadline) { before = null; return; }
    const fresh = [...timeline.querySelectorAll(".msg[data-ts]:not([data-ephemeral])")]
      .filter((el) => !before.has(el.dataset.ts));
    if (fresh.length === 0) return;
    before = null;
    const first = fresh.reduce((a, b) => (Number(b.dataset.ts) < Number(a.dataset.ts) ? b : a));
    const thread = first.closest(".thread.folded");
    if (thread) {
      folded.delete(thread.dataset.thread);
      applyFolds();
    }
    const shown = timeline.getBoundingClientRect();
    const box = first.getBoundingClientRect();
    const outOfSight = box.bottom <= shown.top || box.top >= shown.bottom;
    if (outOfSight) first.scrollIntoView({ block: "nearest" });
  }

  // ----- state -----
  async function refresh() {
    const query = new URLSearchParams({ user, channel });
    const response = await fetch(`/api/state?${query}`, { cache: "no-store" });
    if (!response.ok) return;
    const state = await response.json();
    if (state.timeline !== last.timeline) {
      const atBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
      timeline.innerHTML = state.timeline;
      applyFolds();
      localize(timeline);
      if (atBottom || last.timeline === null) timeline.scrollTop = timeline.scrollHeight;
      showNewAnswers(last.timeline === null);
      showResult();
      last.timeline = state.timeline;
    }
    if (state.clock) $("clock-now").textContent = state.clock;
    if (state.published !== last.published) {
      published.innerHTML = state.published;
      localize(published);
      last.published = state.published;
    }
    if (mailbox && state.mailbox != null && state.mailbox !== last.mailbox) {
      // A new email replaces the list: the emails the person opened stay open.
      const opened = [...mailbox.querySelectorAll("details[open]")].map((el) => el.id);
      mailbox.innerHTML = state.mailbox;
      for (const id of opened) {
        const again = document.getElementById(id);
        if (again) again.open = true;
      }
      localize(mailbox);
      last.mailbox = state.mailbox;
    }
    const modalKey = state.modal ? `${state.modal.id}/${state.modal.hash}` : "";
    if (modalKey !== last.modal) {
      modalLayer.innerHTML = state.modal ? state.modal.html : "";
      modalLayer.hidden = !state.modal;
      if (state.modal) {
        localize(modalLayer);
        const first = modalLayer.querySelector("input, textarea, select");
        if (first) first.focus();
      }
      last.modal = modalKey;
    }
  }

  async function tick() {
    try { await refresh(); } catch (error) { /* the server restarts: try again soon */ }
    timer = setTimeout(tick, POLL_MS);
  }

  function refreshSoon() {
    clearTimeout(timer);
    tick();
  }

  // ----- the message box -----
  function showHint() {
    const text = message.value;
    const word = text.split(/\s/, 1)[0].toLowerCase();
    const matches = text.startsWith("/")
      ? commands.filter((c) => c.command.startsWith(word) || word.startsWith(c.command))
      : [];
    hint.replaceChildren();
    for (const c of matches) {
      const row = document.createElement("div");
      const name = document.createElement("b");
      name.textContent = c.command;
      row.append(name, ` ${c.hint}`);
      const about = document.createElement("small");
      about.textContent = c.description;
      row.append(about);
      hint.append(row);
    }
    hint.hidden = matches.length === 0;
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = message.value;
    if (!text.trim()) return;
    message.value = "";
    showHint();
    expectResult();
    const outcome = await call("/api/command", { user, channel, text });
    showNotice(outcome.notice);
    refreshSoon();
  });
  message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  message.addEventListener("input", showHint);

  // ----- buttons in messages, with Slack's confirm dialog -----
  function confirmFirst(spec) {
    return new Promise((resolve) => {
      $("confirm-title").textContent = spec.title;
      $("confirm-text").textContent = spec.text;
      $("confirm-ok").textContent = spec.confirm;
      $("confirm-ok").className = `bk-btn ${spec.style === "danger" ? "bk-danger" : "bk-primary"}`;
      $("confirm-deny").textContent = spec.deny;
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
    });
  }

  async function clickButton(button) {
    const holder = button.closest(".msg");
    if (!holder) return;
    if (button.dataset.confirm && !(await confirmFirst(JSON.parse(button.dataset.confirm)))) {
      return;
    }
    button.disabled = true;
    expectResult();
    try {
      const outcome = await call("/api/action", {
        user,
        channel: holder.dataset.channel,
        ts: holder.dataset.ts,
        block_id: button.dataset.blockId,
        action_id: button.dataset.actionId,
      });
      showNotice(outcome.notice);
    } finally {
      button.disabled = false;
      refreshSoon();
    }
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const toggle = target.closest(".thread-toggle");
    if (toggle) {
      const ts = toggle.closest(".thread").dataset.thread;
      if (folded.has(ts)) folded.delete(ts); else folded.add(ts);
      applyFolds();
      return;
    }
    const button = target.closest("button[data-action-id]");
    if (button && timeline.contains(button)) {
      clickButton(button);
      return;
    }
    const close = target.closest("[data-close]");
    if (close && modalLayer.contains(close)) {
      const form = close.closest("form.modal");
      modalLayer.hidden = true;
      call("/api/close", { user, view_id: form.dataset.viewId }).then(refreshSoon);
      return;
    }
    const link = target.closest("a.side-channel");
    if (link) {
      event.preventDefault();
      location.href = `/?${new URLSearchParams({ channel: link.dataset.channel, user })}`;
    }
  });

  // ----- modals -----
  function entered(form) {
    const values = {};
    for (const box of form.querySelectorAll(".bk-input")) {
      const id = box.dataset.blockId;
      if (box.dataset.type === "checkboxes") {
        values[id] = [...box.querySelectorAll("input:checked")].map((i) => i.value);
      } else {
        const field = box.querySelector("input, textarea, select");
        values[id] = field ? field.value : "";
      }
    }
    return values;
  }

  function showErrors(form, errors) {
    for (const box of form.querySelectorAll(".bk-input")) {
      const text = (errors || {})[box.dataset.blockId];
      const slot = box.querySelector(".bk-error");
      slot.textContent = text || "";
      slot.hidden = !text;
      box.classList.toggle("has-error", Boolean(text));
    }
    const first = form.querySelector(".has-error");
    if (first) first.scrollIntoView({ block: "center" });
  }

  modalLayer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target.closest("form.modal");
    const submit = form.querySelector("button[type=submit]");
    if (submit) submit.disabled = true;
    try {
      const outcome = await call("/api/submit", {
        user, view_id: form.dataset.viewId, values: entered(form),
      });
      showErrors(form, outcome.errors);
      const problem = form.querySelector(".modal-error");
      problem.textContent = outcome.notice || "";
      problem.hidden = !outcome.notice;
      if (outcome.closed) {
        modalLayer.hidden = true;
        expectResult();
      }
    } finally {
      if (submit) submit.disabled = false;
      refreshSoon();
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || modalLayer.hidden || dialog.open) return;
    const close = modalLayer.querySelector("[data-close]");
    if (close) close.click();
  });

  // ----- the clock: jump ahead so reminders come due -----
  for (const button of document.querySelectorAll(".clock-jump")) {
    button.addEventListener("click", async () => {
      const jumps = document.querySelectorAll(".clock-jump");
      for (const one of jumps) one.disabled = true; // a day's jump runs every reminder on its way
      try {
        const outcome = await call("/api/clock", { minutes: Number(button.dataset.minutes) });
        showNotice(outcome.notice);
      } finally {
        for (const one of jumps) one.disabled = false;
        refreshSoon();
      }
    });
  }

  // ----- the public on a network: replies to its newest post, or a surge of mentions; the
  // panels are redrawn as the state changes, so their buttons are found as they are clicked -----
  published.addEventListener("click", async (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const button = target ? target.closest("button.listen-btn") : null;
    if (!button || button.disabled) return;
    const buttons = published.querySelectorAll("button.listen-btn");
    for (const one of buttons) one.disabled = true; // the poll runs at once: one at a time
    expectResult();
    try {
      const outcome = await call("/api/listen", {
        network: button.dataset.network, what: button.dataset.listen,
      });
      showNotice(outcome.notice);
    } finally {
      last.published = null; // redrawn: the buttons come back as the server says
      refreshSoon();
    }
  });

  // ----- who am I -----
  whoami.addEventListener("change", () => {
    user = whoami.value;
    const name = whoami.options[whoami.selectedIndex].text.split(" — ")[0];
    $("side-me").textContent = name;
    history.replaceState(null, "", `/?${new URLSearchParams({ channel, user })}`);
    last = { timeline: null, published: null, mailbox: null, modal: null };
    refreshSoon();
  });

  localize(document);
  applyFolds();
  timeline.scrollTop = timeline.scrollHeight;
  last.modal = modalLayer.hidden ? "" : null;
  timer = setTimeout(tick, POLL_MS);
})();
