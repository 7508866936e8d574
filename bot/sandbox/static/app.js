// The sandbox page: a thin shell around the sandbox server.
// The server renders Block Kit to (escaped) HTML and turns every click into Slack's own signed
// payload for the bot; this script only shows what the server sends and reports what was
// clicked, typed or picked. Plain JavaScript, no build step.
"use strict";

const $ = (id) => document.getElementById(id);

const ui = {
  user: localStorage.getItem("sandbox.user") || "",
  target: localStorage.getItem("sandbox.target") || "channel:C0MLPLATFORM",
  tab: "home",
  version: -1,
  seen: JSON.parse(localStorage.getItem("sandbox.seen") || "{}"),
  state: null,
  shown: { messages: null, home: null, modalKey: null },
  poller: null,
};

function channelId() {
  if (ui.target.startsWith("channel:")) return ui.target.slice("channel:".length);
  return ui.state ? ui.state.dm : "";
}

function isApp() {
  return ui.target === "app";
}

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: ui.user, ...body }),
  });
  let data = {};
  try {
    data = await response.json();
  } catch (error) {
    data = { ok: false, error: `the sandbox answered ${response.status}` };
  }
  if (!data.ok && data.error) toast(data.error, true);
  return data;
}

function toast(text, bad) {
  const box = $("toast");
  box.textContent = text;
  box.classList.toggle("toast-bad", Boolean(bad));
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 5000);
}

// ----------------------------------------------------------------------------- polling

async function poll(immediate) {
  if (ui.poller) ui.poller.abort();
  const controller = new AbortController();
  ui.poller = controller;
  const params = new URLSearchParams({ user: ui.user, channel: channelId() });
  if (!immediate && ui.version >= 0) params.set("since", String(ui.version));
  try {
    const response = await fetch(`/sandbox/state?${params}`, { signal: controller.signal });
    const state = await response.json();
    if (controller.signal.aborted) return;
    ui.state = state;
    ui.version = state.version;
    render(state);
  } catch (error) {
    if (controller.signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (ui.poller === controller) setTimeout(() => poll(false), 0);
}

function refresh() {
  ui.version = -1;
  ui.shown = { messages: null, home: null, modalKey: null };
  poll(true);
}

// ----------------------------------------------------------------------------- rendering

function render(state) {
  if (!ui.user || !state.people.some((p) => p.id === ui.user)) {
    ui.user = state.people[0].id;
    localStorage.setItem("sandbox.user", ui.user);
  }
  if (ui.target === "dm") ui.target = "channel:" + state.dm;
  $("workspace-name").textContent = state.workspace;
  $("clock-label").textContent = state.clock.label;
  renderSwitcher(state);
  renderSidebar(state);
  renderPane(state);
  renderModal(state.modal);
}

function renderSwitcher(state) {
  const select = $("user-switcher");
  if (select.options.length !== state.people.length) {
    select.replaceChildren(
      ...state.people.map((person) => {
        const option = document.createElement("option");
        option.value = person.id;
        option.textContent = `${person.name} (${person.title})`;
        return option;
      }),
    );
  }
  select.value = ui.user;
}

function sideButton(label, prefix, key, count, active) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "side-item" + (active ? " active" : "");
  button.dataset.target = key;
  const icon = document.createElement("span");
  icon.className = "side-icon";
  icon.textContent = prefix;
  button.append(icon, document.createTextNode(" " + label));
  const unseen = count - (ui.seen[`${ui.user}:${key}`] || 0);
  if (unseen > 0 && !active) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = String(unseen);
    button.append(badge);
    button.classList.add("unread");
  }
  return button;
}

function renderSidebar(state) {
  const current = channelId();
  $("channel-list").replaceChildren(
    ...state.channels.map((c) =>
      sideButton(c.name, "#", "channel:" + c.id, state.counts[c.id] || 0, !isApp() && current === c.id),
    ),
  );
  const dmKey = "channel:" + state.dm;
  const dm = sideButton("MLOps maturity bot", "🤖", dmKey, state.counts[state.dm] || 0,
    !isApp() && current === state.dm);
  dm.id = "dm-link";
  $("dm-link").replaceWith(dm);
  $("app-home-link").classList.toggle("active", isApp());
  if (!isApp()) {
    ui.seen[`${ui.user}:channel:${current}`] = state.counts[current] || 0;
    localStorage.setItem("sandbox.seen", JSON.stringify(ui.seen));
  }
}

function renderPane(state) {
  const app = isApp();
  const onHome = app && ui.tab === "home";
  $("app-tabs").hidden = !app;
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab.dataset.tab === ui.tab);
  }
  const channel = state.channels.find((c) => c.id === state.channel);
  if (app) {
    $("pane-title").textContent = "MLOps maturity bot";
    $("pane-topic").textContent = "App · Home shows your teams; Messages is your DM with the bot";
  } else if (channel) {
    $("pane-title").textContent = "# " + channel.name;
    $("pane-topic").textContent = channel.topic;
  } else {
    $("pane-title").textContent = "MLOps maturity bot";
    $("pane-topic").textContent = "Direct message with the app";
  }
  $("home").hidden = !onHome;
  $("messages").hidden = onHome;
  $("composer").hidden = onHome;
  if (onHome) {
    const html = state.home
      ? state.home.blocks
      : '<div class="empty">Opening the Home tab… (the bot publishes it on <code>app_home_opened</code>)</div>';
    if (html !== ui.shown.home) {
      $("home").innerHTML = html;
      ui.shown.home = html;
    }
    return;
  }
  const html = state.messages || '<div class="empty">No messages yet. Try <code>/mlops help</code>.</div>';
  if (html !== ui.shown.messages) {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    box.innerHTML = html;
    if (atBottom || ui.shown.messages === null) box.scrollTop = box.scrollHeight;
    ui.shown.messages = html;
  }
  $("composer-input").placeholder = channel
    ? `Message #${channel.name}, or ${state.command} help`
    : `Message MLOps maturity bot, or ${state.command} help`;
}

function renderModal(modal) {
  const backdrop = $("modal-backdrop");
  if (!modal) {
    backdrop.hidden = true;
    ui.shown.modalKey = null;
    return;
  }
  const key = `${modal.id}:${modal.hash}`;
  backdrop.hidden = false;
  if (key === ui.shown.modalKey) return; // keep what the person typed
  ui.shown.modalKey = key;
  $("modal").dataset.viewId = modal.id;
  $("modal-title").innerHTML = modal.title;
  $("modal-body").innerHTML = modal.blocks;
  $("modal-close").innerHTML = modal.close;
  $("modal-submit").innerHTML = modal.submit;
  $("modal-submit").hidden = !modal.submit;
  const first = $("modal-body").querySelector("input, textarea, select");
  if (first) first.focus();
}

// ----------------------------------------------------------------------------- state values

function option(el) {
  return { text: { type: "plain_text", text: el.dataset.text || el.textContent, emoji: true }, value: el.value };
}

function inputValue(el, meta) {
  const type = meta.type;
  if (["plain_text_input", "number_input", "email_text_input", "url_text_input"].includes(type)) {
    return { type, value: el.value === "" ? null : el.value };
  }
  if (type === "datepicker") return { type, selected_date: el.value || null };
  if (type === "timepicker") return { type, selected_time: el.value || null };
  if (type === "checkboxes") {
    return { type, selected_options: [...el.querySelectorAll("input:checked")].map(option) };
  }
  if (type === "radio_buttons") {
    const picked = el.querySelector("input:checked");
    return { type, selected_option: picked ? option(picked) : null };
  }
  const picked = [...el.selectedOptions].filter((o) => o.value !== "");
  const values = picked.map((o) => o.value);
  switch (type) {
    case "static_select":
      return { type, selected_option: picked.length ? option(picked[0]) : null };
    case "multi_static_select":
      return { type, selected_options: picked.map(option) };
    case "users_select":
      return { type, selected_user: values[0] || null };
    case "multi_users_select":
      return { type, selected_users: values };
    case "conversations_select":
      return { type, selected_conversation: values[0] || null };
    case "multi_conversations_select":
      return { type, selected_conversations: values };
    case "channels_select":
      return { type, selected_channel: values[0] || null };
    case "multi_channels_select":
      return { type, selected_channels: values };
    default:
      return { type, value: el.value || null };
  }
}

function collectState(root) {
  const values = {};
  const pickers = "[data-input], select[data-action], input[data-action], .bk-choices[data-action]";
  for (const el of root.querySelectorAll(pickers)) {
    const meta = JSON.parse(el.dataset.input || el.dataset.action);
    values[meta.block_id] = values[meta.block_id] || {};
    values[meta.block_id][meta.action_id] = inputValue(el, meta);
  }
  return values;
}

// ----------------------------------------------------------------------------- interactions

function where(el) {
  const modal = el.closest("#modal");
  if (modal) return { view_id: modal.dataset.viewId, root: $("modal-body") };
  if (el.closest("#home")) {
    const home = ui.state && ui.state.home;
    return { view_id: home ? home.id : "", root: $("home") };
  }
  const message = el.closest(".msg");
  return {
    channel: channelId(),
    ts: message.dataset.ts,
    ephemeral: message.dataset.ephemeral === "true",
    root: message,
  };
}

async function sendAction(el, action) {
  const place = where(el);
  const root = place.root;
  delete place.root;
  await api("/sandbox/action", { ...place, action, state: collectState(root) });
}

document.addEventListener("click", async (event) => {
  const el = event.target.closest("[data-action]");
  // Pickers (selects, dates, checkboxes) act when they change, not when clicked.
  if (!el || ["SELECT", "INPUT"].includes(el.tagName) || el.classList.contains("bk-choices")) {
    return;
  }
  event.preventDefault();
  const action = JSON.parse(el.dataset.action);
  if (action.confirm && !window.confirm(action.confirm)) return;
  if (action.url) window.open(action.url, "_blank", "noopener");
  const menu = el.closest("details");
  if (menu) menu.open = false;
  el.disabled = true;
  try {
    await sendAction(el, action);
  } finally {
    el.disabled = false;
  }
});

document.addEventListener("change", async (event) => {
  const el = event.target.closest("select[data-action], input[data-action], .bk-choices[data-action]");
  if (!el) return;
  const meta = JSON.parse(el.dataset.action);
  await sendAction(el, { ...meta, ...inputValue(el, meta) });
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  $("composer-hint").hidden = true;
  await api("/sandbox/send", { channel: channelId(), text });
});

// Like Slack, typing a slash command shows what it understands; a click fills it in.
function showHint() {
  const box = $("composer-hint");
  const text = $("composer-input").value;
  const state = ui.state;
  if (!state || !text.startsWith("/") || text.includes("\n")) {
    box.hidden = true;
    return;
  }
  const [command, typed = ""] = text.split(/\s+/, 2);
  const matches = state.command.startsWith(command) && !text.slice(command.length).trim().includes(" ")
    ? state.usage.filter((u) => u.name.startsWith(typed.toLowerCase()))
    : [];
  if (!matches.length) {
    box.hidden = true;
    return;
  }
  box.replaceChildren(
    ...matches.map((u) => {
      const row = document.createElement("button");
      row.type = "button";
      row.className = "hint-row";
      row.dataset.fill = `${state.command} ${u.name} `;
      const name = document.createElement("code");
      name.textContent = `${state.command} ${u.name}${u.args ? " " + u.args : ""}`;
      const what = document.createElement("span");
      what.textContent = u.what;
      row.append(name, what);
      return row;
    }),
  );
  box.hidden = false;
}

$("composer-input").addEventListener("input", showHint);
$("composer-hint").addEventListener("click", (event) => {
  const row = event.target.closest(".hint-row");
  if (!row) return;
  $("composer-input").value = row.dataset.fill;
  $("composer-input").focus();
  showHint();
});

$("composer-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("modal").addEventListener("submit", async (event) => {
  event.preventDefault();
  const viewId = $("modal").dataset.viewId;
  for (const box of document.querySelectorAll("#modal .bk-error")) box.hidden = true;
  const answer = await api("/sandbox/submit", { view_id: viewId, state: collectState($("modal-body")) });
  for (const [blockId, message] of Object.entries(answer.errors || {})) {
    const block = $("modal-body").querySelector(`[data-block-id="${CSS.escape(blockId)}"] .bk-error`);
    if (block) {
      block.textContent = message;
      block.hidden = false;
    }
  }
});

// Like Slack, an input's error goes away as soon as the person changes that input.
$("modal-body").addEventListener("input", (event) => {
  const block = event.target.closest("[data-block-id]");
  const error = block && block.querySelector(".bk-error");
  if (error) error.hidden = true;
});

async function closeModal() {
  await api("/sandbox/close", { view_id: $("modal").dataset.viewId });
}
$("modal-close").addEventListener("click", closeModal);
$("modal-x").addEventListener("click", closeModal);

document.querySelector(".sidebar").addEventListener("click", async (event) => {
  const item = event.target.closest(".side-item");
  if (!item) return;
  if (item.dataset.target === "home") {
    ui.target = "app";
    ui.tab = "home";
    await openApp("home");
  } else {
    ui.target = item.dataset.target;
  }
  localStorage.setItem("sandbox.target", ui.target);
  refresh();
});

async function openApp(tab) {
  await api("/sandbox/open-app", { tab });
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", async () => {
    ui.tab = tab.dataset.tab;
    await openApp(ui.tab);
    refresh();
  });
}

$("user-switcher").addEventListener("change", async (event) => {
  ui.user = event.target.value;
  localStorage.setItem("sandbox.user", ui.user);
  if (ui.target.startsWith("channel:D")) ui.target = "dm"; // each person has their own DM
  if (isApp() && ui.tab === "home") await openApp("home");
  refresh();
});

async function jump(body) {
  const answer = await api("/sandbox/clock", body);
  if (answer.ok) {
    const counts = Object.entries(answer.counts || {})
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    toast(`Ran the worker at ${new Date(answer.now).toUTCString().slice(0, 22)} UTC` +
      (counts ? `: ${counts}` : ": nothing was due"));
  }
}

for (const button of document.querySelectorAll("[data-preset]")) {
  button.addEventListener("click", () => jump({ preset: button.dataset.preset }));
}
$("clock-go").addEventListener("click", () => {
  const at = $("clock-at").value;
  if (at) jump({ at: at + ":00+00:00" });
});

// The messages tab of the app is the DM: keep the two views of it in step.
function targetFromStorage() {
  if (ui.target === "app") ui.tab = "home";
}

targetFromStorage();
if (isApp()) openApp("home");
poll(true);
