// Eddy console. One small script, no dependencies: each server-rendered
// page names itself in <body data-page>, and the matching function below
// fills it from the JSON API. Text from the server is only ever set with
// textContent, never parsed as HTML.
"use strict";

const $ = (sel) => document.querySelector(sel);
const body = document.body;
const WRITES = body.dataset.writes === "true";
const PARAM = body.dataset.param;

// el builds an element: el("td", {class: "num"}, "text", child, ...).
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) {
    if (k === undefined || k === null) continue;
    e.append(k instanceof Node ? k : String(k));
  }
  return e;
}

function fill(tbody, rows, empty, cols) {
  tbody.replaceChildren(...rows);
  if (!rows.length && empty) tbody.append(el("tr", {}, el("td", { colspan: cols, class: "muted" }, empty)));
}

// api fetches a JSON route; server errors become exceptions whose message
// says in words what went wrong and what to do, with the server's own
// message ({"error": {"code", "message"}}).
async function api(path, opts) {
  const res = await fetch(path, opts);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) {
    // Eddy's errors are {"error": {"code", "message"}}; the schema
    // registry's are Confluent's {"error_code", "message"}.
    const msg = data && data.error ? data.error.message : data && data.message ? data.message : text || res.statusText;
    const code = data && data.error ? data.error.code : data && data.error_code ? data.error_code : "";
    const err = new Error(explain(res.status, code, msg, (opts && opts.method) || "GET", path));
    err.status = res.status;
    err.code = code;
    throw err;
  }
  return data;
}

// explain words an error answer with what to do about it. 401 and 403
// are the answers of an authenticating, authorizing server: the browser
// signs in with HTTP Basic (its own prompt), so the way to change user is
// to sign in again.
function explain(status, code, msg, method, path) {
  const what = `${method} ${path.split("?")[0]}`;
  if (status === 401) return `Not signed in, or the user name or password was refused (401 on ${what}: ${msg}). Reload the page and sign in with an Eddy user; ask an administrator if you have none.`;
  if (status === 403 && /--console-write/.test(msg)) return `This server is read-only (403 on ${what}): ${msg}`;
  if (status === 403) return `Your user may not do this (403 on ${what}: ${msg}). Ask an administrator for an ACL that allows it, or sign in as another user (reload the page).`;
  if (status === 404) return `Not found (404 on ${what}): ${msg}. It may have been deleted; go back to the list and reload.`;
  if (status === 409) return `Refused (409 ${code} on ${what}): ${msg}`;
  if (status === 400) return `The request was refused (400 ${code}): ${msg}. Correct the named field and try again.`;
  if (status === 503) return `The server is not ready (503 on ${what}): ${msg}. Wait a moment and retry.`;
  if (status >= 500) return `The server failed (${status} ${code} on ${what}): ${msg}. Retry; if it persists, check the server log.`;
  return `${status} ${code}: ${msg}`;
}

const jsonPost = (path, body, method) => api(path, { method: method || "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function showError(err) {
  const box = $("#error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = String(err.message || err);
  box.hidden = false;
}

const fmtNum = (n) => (n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US"));
function fmtBytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
function fmtDur(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}
const fmtTime = (ms) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
const fmtRetention = (ms) => (ms < 0 ? "forever" : fmtDur(ms / 1000));
const qs = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v !== "" && v !== undefined && v !== null)).toString();

// confirmAction asks in a modal dialog naming what will happen; resolves
// true only when the user confirms.
function confirmAction(text, okLabel) {
  const d = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = okLabel || "Confirm";
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
    d.returnValue = "";
    d.showModal();
    $("#confirm-cancel").focus();
  });
}

// Chart draws line series on a canvas: series = [{values, color}] over
// the same time axis.
function drawChart(canvas, series, unit) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 36;
  const css = getComputedStyle(document.documentElement);
  ctx.clearRect(0, 0, W, H);
  let maxV = 1;
  for (const s of series) for (const v of s.values) maxV = Math.max(maxV, v);
  ctx.strokeStyle = css.getPropertyValue("--line");
  ctx.fillStyle = css.getPropertyValue("--muted");
  ctx.font = "11px system-ui, sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = H - pad / 2 - ((H - pad) * i) / 4;
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(W - 4, y); ctx.stroke();
    ctx.fillText(fmtCompact((maxV * i) / 4), 2, y + 4);
  }
  ctx.fillText(unit || "", pad + 4, 12);
  // The x axis spans the samples kept, at least two minutes' worth, so a
  // fresh page does not squeeze its first points into a corner.
  const span = Math.max(60, ...series.map((s) => s.values.length));
  ctx.fillText(`last ${fmtDur((span * POLL_MS) / 1000)}`, W - 90, H - 2);
  for (const s of series) {
    const n = s.values.length;
    if (n < 2) continue;
    ctx.strokeStyle = css.getPropertyValue(s.color);
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const x = pad + ((W - pad - 4) * (i + (span - n))) / (span - 1);
      const y = H - pad / 2 - ((H - pad) * v) / maxV;
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
    ctx.lineWidth = 1;
  }
  canvas.dataset.points = series.map((s) => s.values.length).join(",");
}
const fmtCompact = (v) => (v >= 1e6 ? (v / 1e6).toFixed(1) + "M" : v >= 1e3 ? (v / 1e3).toFixed(1) + "k" : v >= 10 ? Math.round(v) : +v.toFixed(1));
const POLL_MS = 2000;
const MAX_POINTS = (15 * 60 * 1000) / POLL_MS; // 15 minutes of samples

// poll runs fn now and every POLL_MS while the page is visible.
function poll(fn) {
  let timer = null;
  const tick = async () => {
    try { await fn(); } catch (e) { showError(e); }
    timer = setTimeout(tick, POLL_MS);
  };
  tick();
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(timer); timer = null; } else if (!timer) tick();
  });
}

// ---- pages ----

const pagesJS = {
  async overview() {
    // The first request is the cheapest (totals only, no per-topic or
    // per-group work on the server), so the cards fill at once; the top
    // lists come with the next one, then every POLL_MS.
    const inSeries = [], outSeries = [], latSeries = [], diskSeries = [];
    let prev = null, top = 0;
    const canvas = $("#chart-throughput");
    poll(async () => {
      const ov = await api("/v1/overview?top=" + top);
      showError(null);
      $("#st-ready").textContent = ov.ready ? "ready" : "not ready";
      $("#st-version").textContent = ov.version || "dev";
      $("#st-uptime").textContent = fmtDur(ov.uptimeSeconds);
      $("#st-topics").textContent = fmtNum(ov.topicCount);
      $("#st-partitions").textContent = fmtNum(ov.partitionCount);
      $("#st-bytes").textContent = fmtBytes(ov.bytesStored);
      $("#st-groups").textContent = fmtNum(ov.groupCount + ov.shareGroupCount);
      const now = { t: Date.now(), in: ov.recordsIn, out: ov.recordsOut, n: ov.produceRequests, s: ov.produceSeconds };
      if (prev) {
        const dt = (now.t - prev.t) / 1000;
        inSeries.push(Math.max(0, (now.in - prev.in) / dt));
        outSeries.push(Math.max(0, (now.out - prev.out) / dt));
        const dn = now.n - prev.n, ds = now.s - prev.s;
        latSeries.push(dn > 0 ? (1000 * ds) / dn : 0);
        if (inSeries.length > MAX_POINTS) { inSeries.shift(); outSeries.shift(); latSeries.shift(); }
        $("#tp-now").textContent = `now: produce ${fmtCompact(inSeries.at(-1))}/s, fetch ${fmtCompact(outSeries.at(-1))}/s`;
      }
      prev = now;
      drawChart(canvas, [{ values: inSeries, color: "--in" }, { values: outSeries, color: "--out" }], "records/s");
      diskSeries.push(ov.bytesStored);
      if (diskSeries.length > MAX_POINTS) diskSeries.shift();
      drawChart($("#chart-latency"), [{ values: latSeries, color: "--in" }], "ms");
      drawChart($("#chart-disk"), [{ values: diskSeries, color: "--out" }], "bytes");
      if (top === 0) {
        top = 10;
        setTimeout(() => api("/v1/overview?top=10").then(showTop).catch(showError), 0);
      } else showTop(ov);
    });
    const showTop = (ov) => {
      fill($("#top-topics tbody"), (ov.topTopics || []).map((t) => el("tr", {},
        el("td", {}, el("a", { href: "/ui/topics/" + encodeURIComponent(t.name) }, t.name)),
        el("td", { class: "num" }, fmtCompact(t.recordsPerSecond)),
        el("td", { class: "num" }, fmtNum(t.records)))), "no topics", 3);
      fill($("#top-lag tbody"), (ov.topLag || []).map((g) => el("tr", {},
        el("td", {}, el("a", { href: "/ui/groups/" + encodeURIComponent(g.group) }, g.group)),
        el("td", {}, g.state), el("td", { class: "num" }, fmtNum(g.lag)))), "no consumer groups", 3);
    };
  },

  async topics() {
    const stack = [""]; // after= cursors of the pages seen
    let next = "";
    const params = new URLSearchParams(location.search);
    $("#topic-prefix").value = params.get("prefix") || "";
    const load = async () => {
      const page = await api("/v1/topics?" + qs({ prefix: $("#topic-prefix").value, after: stack.at(-1), limit: 50 }));
      showError(null);
      next = page.next || "";
      $("#topic-count").textContent = `${fmtNum(page.total)} topics`;
      $("#topics-prev").disabled = stack.length < 2;
      $("#topics-next").disabled = !next;
      fill($("#topics tbody"), page.topics.map((t) => el("tr", {},
        el("td", {}, el("a", { href: "/ui/topics/" + encodeURIComponent(t.name) }, t.name)),
        el("td", { class: "num" }, fmtNum(t.partitions)),
        el("td", { class: "num" }, fmtNum(t.records)),
        el("td", { class: "num" }, fmtBytes(t.bytes)),
        el("td", {}, fmtRetention(t.retentionMs)),
        el("td", {}, t.viewOf ? el("span", { class: "badge", title: t.filter }, "view of " + t.viewOf) : t.streams ? el("span", { class: "badge" }, "eddy.streams") : ""),
        WRITES ? el("td", {}, t.viewOf ? "" : el("button", { type: "button", class: "danger", "aria-label": "Delete topic " + t.name, onclick: () => deleteTopic(t, load) }, "Delete…")) : null,
      )), "no topics match", 7);
    };
    $("#topic-search").addEventListener("submit", (e) => { e.preventDefault(); stack.length = 1; load().catch(showError); });
    $("#topics-next").addEventListener("click", () => { stack.push(next); load().catch(showError); });
    $("#topics-prev").addEventListener("click", () => { stack.pop(); load().catch(showError); });
    if (WRITES) {
      $("#topic-create").addEventListener("submit", async (e) => {
        e.preventDefault();
        const name = $("#create-name").value.trim(), partitions = Number($("#create-partitions").value) || 1;
        const configs = {};
        if ($("#create-retention").value) configs["retention.ms"] = $("#create-retention").value;
        if (!(await confirmAction(`Create topic "${name}" with ${partitions} partition(s)?`, "Create"))) return;
        try {
          await api("/v1/topics", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name, partitions, configs }) });
          $("#create-name").value = "";
          await load();
        } catch (err) { showError(err); }
      });
    }
    await load();
  },

  async topic() {
    const name = PARAM;
    const t = await api("/v1/topics/" + encodeURIComponent(name));
    $("#t-kind").textContent = t.viewOf ? `view of ${t.viewOf}` : t.streams ? "event store" : "topic";
    $("#t-records").textContent = fmtNum(t.records);
    $("#t-bytes").textContent = fmtBytes(t.bytes);
    $("#t-retention").textContent = fmtRetention(t.retentionMs);
    fill($("#partitions tbody"), t.partitionList.map((p) => el("tr", {},
      el("td", { class: "num" }, p.partition), el("td", { class: "num" }, fmtNum(p.logStartOffset)),
      el("td", { class: "num" }, fmtNum(p.highWatermark)), el("td", { class: "num" }, fmtNum(p.logEndOffset)),
      el("td", { class: "num" }, fmtNum(p.highWatermark - p.logStartOffset)), el("td", { class: "num" }, fmtBytes(p.bytes)),
      el("td", { class: "num" }, p.segments),
      el("td", {}, el("a", { href: "/ui/messages?" + qs({ topic: name, partition: p.partition }) }, "browse")))), "", 8);
    const showConfigs = (configs) => fill($("#configs tbody"), Object.entries(configs).sort().map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v),
      WRITES && !t.viewOf ? el("td", {}, el("button", { type: "button", class: "danger", "aria-label": `Remove config ${k}`, onclick: () => changeConfig(k, null, configs) }, "Remove…")) : null)), "none (server defaults)", WRITES ? 3 : 2);
    const changeConfig = async (k, v, configs) => {
      const was = configs[k] !== undefined ? `(was ${configs[k]})` : "(now the server default)";
      const text = v === null ? `Remove the override ${k} of topic "${name}" (now ${configs[k]}), back to the server default?` : `Set ${k} of topic "${name}" to ${v} ${was}?`;
      if (!(await confirmAction(text, v === null ? "Remove" : "Set config"))) return;
      try {
        const body = v === null ? { delete: [k] } : { set: { [k]: v } };
        const res = await jsonPost(`/v1/topics/${encodeURIComponent(name)}/configs`, body, "PATCH");
        showError(null);
        showConfigs(res.configs);
        const fresh = await api("/v1/topics/" + encodeURIComponent(name));
        $("#t-retention").textContent = fmtRetention(fresh.retentionMs);
      } catch (err) { showError(err); }
    };
    showConfigs(t.configs);
    const cf = $("#config-set");
    if (cf) cf.addEventListener("submit", (e) => { e.preventDefault(); changeConfig($("#c-name").value.trim(), $("#c-value").value.trim(), t.configs).then(async () => { t.configs = (await api("/v1/topics/" + encodeURIComponent(name))).configs; }).catch(showError); });
    const del = $("#topic-delete");
    if (del) del.addEventListener("click", () => deleteTopic(t, () => { location.href = "/ui/topics"; }));
  },

  async messages() {
    const params = new URLSearchParams(location.search);
    for (const k of ["topic", "partition", "offset", "order", "limit", "filter"]) if (params.has(k)) $("#m-" + k).value = params.get(k);
    api("/v1/topics?limit=1000").then((p) => $("#topic-list").replaceChildren(...p.topics.map((t) => el("option", { value: t.name })))).catch(() => {});
    const tbody = $("#messages tbody");
    let nextOffset = null;
    const form = () => {
      const time = $("#m-time").value ? new Date($("#m-time").value + "Z").getTime() : "";
      return { topic: $("#m-topic").value.trim(), partition: $("#m-partition").value, offset: $("#m-offset").value, time, order: $("#m-order").value, limit: $("#m-limit").value, filter: $("#m-filter").value.trim() };
    };
    const browse = async (more) => {
      const f = form();
      if (!f.topic) return;
      if (more) f.offset = nextOffset;
      const page = await api(`/v1/topics/${encodeURIComponent(f.topic)}/messages?` + qs({ partition: f.partition, offset: f.offset, time: f.time, order: f.order, limit: f.limit, filter: f.filter }));
      showError(null);
      if (!more) tbody.replaceChildren();
      for (const m of page.messages) tbody.append(messageRow(m));
      nextOffset = page.next ?? null;
      $("#m-more").hidden = nextOffset === null;
      $("#m-summary").textContent = `${tbody.rows.length} shown, ${fmtNum(page.scanned)} scanned` + (page.truncated ? " (scan limit reached; narrow the filter or set an offset)" : "");
      history.replaceState(null, "", "?" + qs({ topic: f.topic, partition: f.partition, offset: more ? "" : f.offset, order: f.order, filter: f.filter }));
    };
    $("#browse").addEventListener("submit", (e) => { e.preventDefault(); stopTail(); browse(false).catch(showError); });
    $("#m-more").addEventListener("click", () => browse(true).catch(showError));

    // Live tail: an EventSource on the topic's subscribe route, starting at
    // the current end of every partition; pause closes it and remembers the
    // cursor, resume reopens from there so nothing is missed or repeated.
    // Events are buffered and drawn once per animation frame: at 1,000
    // messages/s that is a few rows per frame in one insertion, not a
    // layout per message; a frame with more than TAIL_CAP pending draws
    // only the newest TAIL_CAP (the count still includes every one).
    const TAIL_CAP = 500;
    let es = null, cursor = null, tailTopic = null, count = 0, rateTimer = null, lastCount = 0;
    let pending = [], frame = 0;
    const btn = $("#tail-toggle");
    const setState = (s) => { $("#tail-state").textContent = s; };
    const flushTail = () => {
      frame = 0;
      if (!pending.length) return;
      const frag = document.createDocumentFragment();
      const flash = pending.length < 10;
      for (let i = pending.length - 1; i >= 0; i--) {
        const row = messageRow(eventToMessage(JSON.parse(pending[i])));
        if (flash) row.className = "new";
        frag.append(row);
      }
      pending = [];
      tbody.prepend(frag);
      while (tbody.rows.length > TAIL_CAP) tbody.deleteRow(-1);
    };
    const open = () => {
      const f = form();
      const url = `/v1/topics/${encodeURIComponent(tailTopic)}/subscribe?` + qs({ lastEventId: cursor, filter: f.filter, decode: "schema" });
      es = new EventSource(url);
      es.onopen = () => setState("live: following " + tailTopic);
      es.onmessage = (ev) => {
        cursor = ev.lastEventId || cursor;
        count++;
        pending.push(ev.data);
        if (pending.length > TAIL_CAP) pending.splice(0, pending.length - TAIL_CAP);
        if (!frame) frame = requestAnimationFrame(flushTail);
      };
      es.addEventListener("dropped", (ev) => { setState("dropped by the server: " + ev.data + "; resume to continue"); pause(); });
      es.onerror = () => { if (es && es.readyState === EventSource.CLOSED) { showError(new Error("live tail closed by the server; check the filter and topic, then start again")); pause(); } };
    };
    const pause = () => {
      if (es) es.close();
      es = null;
      if (frame) cancelAnimationFrame(frame);
      flushTail();
      btn.textContent = "Resume live tail";
      if (tailTopic) setState("paused at " + (cursor || "end"));
    };
    const stopTail = () => { pause(); tailTopic = null; cursor = null; btn.textContent = "Start live tail"; setState("live tail off"); clearInterval(rateTimer); $("#tail-rate").textContent = ""; };
    btn.addEventListener("click", async () => {
      try {
        if (es) { pause(); return; }
        if (!tailTopic) {
          const f = form();
          if (!f.topic) { showError(new Error("enter a topic to tail")); return; }
          const t = await api("/v1/topics/" + encodeURIComponent(f.topic));
          tailTopic = f.topic;
          cursor = t.partitionList.map((p) => `${p.partition}:${p.highWatermark}`).join(",");
          tbody.replaceChildren();
          $("#m-more").hidden = true;
          clearInterval(rateTimer);
          rateTimer = setInterval(() => { $("#tail-rate").textContent = `${count - lastCount} msg/s · ${count} received`; $("#tail-rate").dataset.count = count; lastCount = count; }, 1000);
        }
        showError(null);
        btn.textContent = "Pause live tail";
        open();
      } catch (err) { showError(err); }
    });
    const pf = $("#produce");
    if (pf) {
      $("#p-topic").value = params.get("topic") || "";
      pf.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const body = { headers: [] };
          const topic = $("#p-topic").value.trim();
          if ($("#p-partition").value !== "") body.partition = Number($("#p-partition").value);
          if ($("#p-key").value !== "") body.key = $("#p-key").value;
          for (const line of $("#p-headers").value.split("\n")) {
            if (!line.trim()) continue;
            const i = line.indexOf(":");
            if (i <= 0) throw new Error(`header line "${line}": write key: value`);
            body.headers.push({ key: line.slice(0, i).trim(), value: line.slice(i + 1).trim() });
          }
          const v = $("#p-value").value.trim();
          if (v) {
            try { body.value = JSON.parse(v); } catch (err) { throw new Error(`The value is not JSON (${err.message}). Quote text as a JSON string, e.g. "hello".`); }
          }
          const r = await jsonPost(`/v1/topics/${encodeURIComponent(topic)}/messages`, body);
          showError(null);
          $("#p-result").textContent = `produced to ${r.topic} partition ${r.partition} at offset ${r.offset}`;
          $("#p-result").dataset.offset = r.offset;
        } catch (err) { $("#p-result").textContent = ""; showError(err); }
      });
    }
    if (params.get("topic")) await browse(false);
  },

  async groups() {
    let seen = "";
    shareResetForm();
    poll(async () => {
      const [groups, shares] = await Promise.all([api("/v1/groups"), api("/v1/share-groups")]);
      showError(null);
      // Re-render only on change, so a focused control keeps its focus.
      const now = JSON.stringify([groups, shares]);
      if (now === seen) return;
      seen = now;
      $("#sr-groups").replaceChildren(...shares.map((g) => el("option", { value: g.group })));
      fill($("#groups tbody"), groups.map((g) => el("tr", {},
        el("td", {}, el("a", { href: "/ui/groups/" + encodeURIComponent(g.group) }, g.group)),
        el("td", {}, g.type), el("td", {}, g.state), el("td", { class: "num" }, g.members), el("td", { class: "num" }, fmtNum(g.lag)),
        WRITES ? el("td", {}, el("button", { type: "button", class: "danger", "aria-label": "Delete group " + g.group, onclick: () => deleteGroup(g.group, "classic", g.members, g.lag).catch(showError) }, "Delete…")) : null)), "no consumer groups", WRITES ? 6 : 5);
      fill($("#share-groups tbody"), shares.map((g) => el("tr", {},
        el("td", {}, el("a", { href: "/ui/share-groups/" + encodeURIComponent(g.group) }, g.group)), el("td", {}, g.state),
        el("td", {}, `${g.members} members · lag ${fmtNum(g.lag)} · in flight ${fmtNum(g.in_flight)} · redelivered ${fmtNum(g.redelivered)} · dead-lettered ${fmtNum(g.dead_lettered)}`),
        WRITES ? el("td", {}, el("button", { type: "button", class: "danger", "aria-label": "Delete share group " + g.group, onclick: () => deleteGroup(g.group, "share", g.members, g.lag).catch(showError) }, "Delete…")) : null)), "no share groups", WRITES ? 4 : 3);
    });
  },

  async group() {
    const lag = [];
    resetForm();
    let last = null;
    const gd = $("#group-delete");
    if (gd) gd.addEventListener("click", () => deleteGroup(PARAM, "classic", last ? last.members.length : 0, last ? last.lag : 0, () => { location.href = "/ui/groups"; }).catch(showError));
    poll(async () => {
      const g = await api("/v1/groups/" + encodeURIComponent(PARAM));
      last = g;
      showError(null);
      $("#g-state").textContent = g.state;
      $("#g-protocol").textContent = [g.protocolType, g.protocol].filter(Boolean).join(" / ") || "–";
      $("#g-generation").textContent = g.generation;
      $("#g-lag").textContent = fmtNum(g.lag);
      lag.push(g.lag);
      if (lag.length > MAX_POINTS) lag.shift();
      drawChart($("#chart-lag"), [{ values: lag, color: "--in" }], "lag (records)");
      fill($("#members tbody"), g.members.map((m) => el("tr", {},
        el("td", {}, m.memberId), el("td", {}, m.clientId), el("td", {}, m.clientHost),
        el("td", {}, Object.entries(m.assignment || {}).map(([t, ps]) => `${t}: ${ps.join(",")}`).join("; ")))), "no members", 4);
      fill($("#offsets tbody"), g.offsets.map((o) => el("tr", {},
        el("td", {}, el("a", { href: "/ui/topics/" + encodeURIComponent(o.topic) }, o.topic)), el("td", { class: "num" }, o.partition),
        el("td", { class: "num" }, fmtNum(o.committed)), el("td", { class: "num" }, fmtNum(o.highWatermark)),
        el("td", { class: "num", "data-lag": o.lag }, fmtNum(o.lag)), el("td", {}, o.member || ""))), "no committed offsets", 6);
    });
  },

  async "share-group"() {
    const lag = [];
    let last = null;
    shareResetForm();
    const del = $("#sg-delete");
    if (del) del.addEventListener("click", () => deleteGroup(PARAM, "share", last ? last.members.length : 0, last ? last.lag : 0, () => { location.href = "/ui/groups"; }).catch(showError));
    poll(async () => {
      const g = await api("/v1/share-groups/" + encodeURIComponent(PARAM));
      last = g;
      showError(null);
      $("#sg-state").textContent = g.state;
      $("#sg-members").textContent = fmtNum(g.members.length);
      $("#sg-lag").textContent = fmtNum(g.lag);
      $("#sg-inflight").textContent = fmtNum(g.inFlight);
      $("#sg-acquired").textContent = fmtNum(g.acquired);
      $("#sg-acked").textContent = fmtNum(g.acknowledged);
      $("#sg-archived").textContent = fmtNum(g.archived);
      $("#sg-oldest").textContent = g.oldestAvailableSeconds > 0 ? fmtDur(g.oldestAvailableSeconds) : "none waiting";
      lag.push(g.lag);
      if (lag.length > MAX_POINTS) lag.shift();
      drawChart($("#chart-share-lag"), [{ values: lag, color: "--in" }], "lag (records)");
      $("#sr-topics").replaceChildren(...[...new Set(g.partitions.map((p) => p.topic))].map((t) => el("option", { value: t })));
      fill($("#sg-members-t tbody"), g.members.map((m) => el("tr", {},
        el("td", {}, m.memberId), el("td", {}, m.clientId), el("td", {}, m.clientHost), el("td", { class: "num" }, m.epoch),
        el("td", {}, m.topics.join(", ")),
        el("td", {}, Object.entries(m.assignment).map(([t, ps]) => `${t}: ${ps.join(",")}`).join("; ")))), "no members", 6);
      fill($("#sg-parts tbody"), g.partitions.map((p) => el("tr", { "data-topic": p.topic, "data-partition": p.partition },
        el("td", {}, el("a", { href: "/ui/topics/" + encodeURIComponent(p.topic) }, p.topic)), el("td", { class: "num" }, p.partition),
        el("td", { class: "num", "data-k": "start" }, p.startOffset < 0 ? "not started" : fmtNum(p.startOffset)),
        el("td", { class: "num", "data-k": "end" }, p.startOffset < 0 ? "–" : fmtNum(p.endOffset)),
        el("td", { class: "num", "data-k": "lag" }, fmtNum(p.lag)),
        el("td", { class: "num", "data-k": "inflight", title: `available ${p.available} (of which ${p.redelivering} redelivering), acquired ${p.acquired}, being dead-lettered ${p.archiving}` }, fmtNum(p.inFlight)),
        el("td", { class: "num", "data-k": "acquired" }, fmtNum(p.acquired)),
        el("td", { class: "num", "data-k": "acked" }, fmtNum(p.acknowledged)),
        el("td", { class: "num", "data-k": "archived" }, fmtNum(p.archived)),
        el("td", { class: "num", "data-k": "redelivered" }, fmtNum(p.redelivered)),
        el("td", { class: "num", "data-k": "deadlettered" }, fmtNum(p.deadLettered)))), "no partitions fetched yet", 11);
    });
  },

  async streams() {
    api("/v1/topics?limit=1000").then((p) => $("#stream-topics").replaceChildren(...p.topics.filter((t) => t.streams).map((t) => el("option", { value: t.name })))).catch(() => {});
    const params = new URLSearchParams(location.search);
    for (const k of ["topic", "prefix", "stream"]) if (params.has(k)) $("#s-" + k).value = params.get(k);
    const topic = () => $("#s-topic").value.trim();
    // Search: server-side, a page at a time; after= cursors of the pages seen.
    const stack = [""];
    let nextAfter = "";
    const search = async () => {
      if (!topic()) { showError(new Error("enter an event-store topic")); return; }
      const r = await api(`/v1/topics/${encodeURIComponent(topic())}/streams?` + qs({ prefix: $("#s-prefix").value, after: stack.at(-1), limit: 50 }));
      showError(null);
      nextAfter = r.next || "";
      $("#ss-prev").disabled = stack.length < 2;
      $("#ss-next").disabled = !nextAfter;
      $("#ss-summary").textContent = `${r.streams.length} stream(s) on this page` + (nextAfter ? ", more on the next" : "");
      fill($("#streams tbody"), r.streams.map((st) => el("tr", {},
        el("td", {}, el("button", { type: "button", class: "link", onclick: () => { $("#s-stream").value = st.stream; read(0, false).catch(showError); } }, st.stream)),
        el("td", { class: "num" }, st.partition), el("td", { class: "num" }, fmtNum(st.version)))), "no stream starts with that prefix", 3);
      history.replaceState(null, "", "?" + qs({ topic: topic(), prefix: $("#s-prefix").value, stream: $("#s-stream").value }));
    };
    $("#stream-search").addEventListener("submit", (e) => { e.preventDefault(); stack.length = 1; search().catch(showError); });
    $("#ss-next").addEventListener("click", () => { stack.push(nextAfter); search().catch(showError); });
    $("#ss-prev").addEventListener("click", () => { stack.pop(); search().catch(showError); });
    let next = null, state = {};
    const read = async (from, more) => {
      const stream = $("#s-stream").value.trim();
      if (!topic()) throw new Error("enter the stream's event-store topic above");
      const r = await api(`/v1/topics/${encodeURIComponent(topic())}/streams/${encodeURIComponent(stream)}?` + qs({ from, limit: 100 }));
      showError(null);
      const tb = $("#events tbody"), tl = $("#timeline");
      if (!more) { tb.replaceChildren(); tl.replaceChildren(); state = {}; }
      for (const e of r.events) {
        const data = e.data !== undefined ? { valueJson: e.data } : { valueBase64: e.dataBase64 };
        tb.append(el("tr", {},
          el("td", { class: "num" }, e.version), el("td", {}, e.type || ""), el("td", {}, e.time || fmtTime(e.timestamp)),
          el("td", {}, e.id || ""), el("td", {}, valueCell(data))));
        // The aggregate's state after this event: an object's fields
        // replace those of the state before it.
        const changed = [];
        if (e.data && typeof e.data === "object" && !Array.isArray(e.data)) {
          for (const [k, v] of Object.entries(e.data)) if (JSON.stringify(state[k]) !== JSON.stringify(v)) changed.push(k);
          state = { ...state, ...e.data };
        }
        tl.append(el("li", { "data-version": e.version },
          el("span", { class: "tl-dot", "aria-hidden": "true" }),
          el("div", { class: "tl-head" }, el("b", {}, `v${e.version} ${e.type || ""}`), " ", el("span", { class: "muted" }, e.time || fmtTime(e.timestamp))),
          el("div", { class: "muted" }, changed.length ? "changed: " + changed.join(", ") : "no field changed"),
          el("pre", { class: "json" }, JSON.stringify(state, null, 2))));
      }
      next = r.next ?? null;
      $("#s-more").hidden = next === null;
      $("#s-summary").textContent = `stream ${r.stream}: current version ${r.version}, starts at ${r.streamStart}; ${tb.rows.length} events shown`;
      history.replaceState(null, "", "?" + qs({ topic: topic(), prefix: $("#s-prefix").value, stream }));
    };
    $("#stream-form").addEventListener("submit", (e) => { e.preventDefault(); read($("#s-from").value, false).catch(showError); });
    $("#s-more").addEventListener("click", () => read(next, true).catch(showError));
    if (params.has("topic")) await search();
    if (params.has("topic") && params.has("stream")) await read(0, false);
  },

  async schemas() {
    const enc = encodeURIComponent;
    const COMPAT = ["BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"];
    const MODES = ["READWRITE", "READONLY", "IMPORT"];
    const srJSON = (path, method, body) => api(SR + path, { method, headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" }, body: body && JSON.stringify(body) });
    for (const [id, list] of [["#sc-compat", COMPAT], ["#sg-compat", COMPAT], ["#sc-mode", MODES], ["#sg-mode", MODES]]) if ($(id)) $(id).replaceChildren(...list.map((v) => el("option", { value: v }, v)));
    let subject = null, versions = [], all = [], subjCompat = "", subjMode = "", glob = { compat: "", mode: "" };
    const counts = {};
    const loadGlobal = async () => {
      const [c, m] = await Promise.all([api(SR + "/config"), api(SR + "/mode")]);
      glob = { compat: c.compatibilityLevel, mode: m.mode };
      $("#sg-compat-now").textContent = glob.compat;
      $("#sg-mode-now").textContent = glob.mode;
      if ($("#sg-compat")) { $("#sg-compat").value = glob.compat; $("#sg-mode").value = glob.mode; }
    };
    const listSubjects = async () => {
      const deleted = $("#sc-show-deleted").checked;
      const [live, names] = await Promise.all([api(SR + "/subjects"), deleted ? api(SR + "/subjects?deleted=true") : null]);
      const liveSet = new Set(live);
      const rows = [];
      for (const name of (names || live).sort()) {
        const vcell = el("td", { class: "num" }, "…"), ccell = el("td", {}, "…"), mcell = el("td", {}, "…");
        counts[name] = vcell;
        rows.push(el("tr", { "data-subject": name }, el("td", {}, el("button", { type: "button", onclick: () => choose(name).catch(showError) }, name), liveSet.has(name) ? "" : el("span", { class: "badge bad" }, "soft-deleted")), vcell, ccell, mcell));
        const vs = liveSet.has(name) ? api(`${SR}/subjects/${enc(name)}/versions`) : Promise.resolve([]);
        Promise.all([vs, api(`${SR}/config/${enc(name)}?defaultToGlobal=true`), api(`${SR}/mode/${enc(name)}?defaultToGlobal=true`)])
          .then(([vs, cfg, mode]) => { vcell.textContent = vs.length; ccell.textContent = cfg.compatibilityLevel; mcell.textContent = mode.mode; }).catch(showError);
      }
      fill($("#subjects tbody"), rows, "no subjects registered", 4);
    };
    $("#sc-show-deleted").addEventListener("change", () => listSubjects().catch(showError));
    await Promise.all([loadGlobal(), listSubjects()]);
    const version = (v) => api(`${SR}/subjects/${enc(subject)}/versions/${v}` + (versions.includes(Number(v)) ? "" : "?deleted=true"));
    const compare = async () => {
      const [a, b] = await Promise.all([version($("#sc-left").value), version($("#sc-right").value)]);
      $("#sc-left-h").textContent = `${subject} v${a.version} (id ${a.id}, ${a.schemaType || "AVRO"})`;
      $("#sc-right-h").textContent = `${subject} v${b.version} (id ${b.id}, ${b.schemaType || "AVRO"})`;
      const d = showDiff($("#sc-left-text"), $("#sc-right-text"), prettySchema(a).split("\n"), prettySchema(b).split("\n"));
      $("#sc-diff-summary").textContent = d.removed + d.added === 0 ? `v${a.version} and v${b.version} are the same (after formatting)` : `v${a.version} → v${b.version}: ${d.removed} line(s) removed, ${d.added} added`;
    };
    const choose = async (name) => {
      subject = name;
      // A soft-deleted subject has no live versions (its versions route
      // answers 404): ask for them only when the subject is listed.
      const live = (await api(SR + "/subjects")).includes(name);
      const [vs, allVs, cfg, mode] = await Promise.all([
        live ? api(`${SR}/subjects/${enc(name)}/versions`) : [],
        api(`${SR}/subjects/${enc(name)}/versions?deleted=true`),
        api(`${SR}/config/${enc(name)}?defaultToGlobal=true`), api(`${SR}/mode/${enc(name)}?defaultToGlobal=true`)]);
      versions = vs; all = allVs;
      subjCompat = cfg.compatibilityLevel; subjMode = mode.mode;
      if (counts[name]) counts[name].textContent = vs.length;
      const opts = (list) => list.map((v) => el("option", { value: v }, "v" + v + (vs.includes(v) ? "" : " (soft-deleted)")));
      $("#sc-left").replaceChildren(...opts(allVs));
      $("#sc-right").replaceChildren(...opts(allVs));
      const shown = vs.length ? vs : allVs;
      $("#sc-left").value = String(shown.length > 1 ? shown.at(-2) : shown.at(-1));
      $("#sc-right").value = String(shown.at(-1));
      if ($("#sc-del-v")) { $("#sc-del-v").replaceChildren(...opts(allVs)); $("#sc-del-v").value = String(allVs.at(-1)); syncDel(); }
      if ($("#sc-compat")) { $("#sc-compat").value = subjCompat; $("#sc-mode").value = subjMode; }
      const gone = allVs.length - vs.length;
      $("#sc-summary").textContent = vs.length ? `${name}: ${vs.length} version(s)` + (gone ? `, ${gone} soft-deleted` : "") : `${name}: soft-deleted (${allVs.length} version(s))`;
      $("#sc-summary").dataset.compat = subjCompat;
      $("#sc-summary").dataset.mode = subjMode;
      if (vs.length) {
        const latest = await version("latest");
        $("#sc-type").value = latest.schemaType || "AVRO";
        if (!$("#sc-new").value) $("#sc-new").value = prettySchema(latest);
      }
      await compare();
      showError(null);
    };
    $("#sc-compare").addEventListener("submit", (e) => { e.preventDefault(); if (subject) compare().catch(showError); });
    $("#sc-check").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!subject) { showError(new Error("choose a subject to check against")); return; }
      try {
        const body = { schema: $("#sc-new").value, schemaType: $("#sc-type").value };
        const r = await api(`${SR}/compatibility/subjects/${enc(subject)}/versions?verbose=true`, { method: "POST", headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" }, body: JSON.stringify(body) });
        showError(null);
        const out = $("#sc-check-result");
        out.className = r.is_compatible ? "ok" : "bad";
        out.textContent = r.is_compatible ? `compatible with ${subject}` : `not compatible: ${(r.messages || []).join("; ")}`;
        // Registering is offered for exactly the text that passed.
        if (register) { register.disabled = !r.is_compatible; checked = r.is_compatible ? body : null; }
      } catch (err) { showError(err); }
    });
    const register = $("#sc-register");
    let checked = null;
    if (register) {
      const stale = () => { register.disabled = true; checked = null; };
      $("#sc-new").addEventListener("input", stale);
      $("#sc-type").addEventListener("change", stale);
      register.addEventListener("click", async () => {
        if (!subject || !checked) return;
        const body = checked;
        if (!(await confirmAction(`Register this ${body.schemaType} schema as a new version of subject "${subject}" (now at v${versions.at(-1)})? Producers that use the subject's latest version will write with it.`, "Register version"))) return;
        try {
          const r = await api(`${SR}/subjects/${enc(subject)}/versions`, { method: "POST", headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" }, body: JSON.stringify(body) });
          const before = versions.length;
          await choose(subject);
          stale();
          const out = $("#sc-check-result");
          out.className = "ok";
          out.textContent = versions.length > before ? `registered ${subject} v${versions.at(-1)} (id ${r.id})` : `already registered in ${subject} (id ${r.id}); no new version`;
        } catch (err) { showError(err); }
      });
    }
    // Deletes, Confluent's way: a soft delete first (the version or
    // subject leaves the lists, its schema id still decodes), then
    // permanent=true for a soft-deleted one. Each button is enabled only
    // for what it can do to the selected version.
    const syncDel = () => {
      const v = Number($("#sc-del-v").value), live = versions.includes(v);
      $("#sc-delete").disabled = !live;
      $("#sc-del-perm").disabled = live || !all.includes(v);
      $("#sc-subj-del").disabled = !versions.length;
      $("#sc-subj-perm").disabled = !!versions.length || !all.length;
    };
    const after = async (what) => {
      if (!versions.length && !all.length) { location.assign("/ui/schemas"); return; }
      await listSubjects();
      await choose(subject);
      $("#sc-summary").textContent += "; " + what;
    };
    if ($("#sc-del")) {
      $("#sc-del-v").addEventListener("change", syncDel);
      $("#sc-del").addEventListener("submit", async (e) => {
        e.preventDefault();
        if (!subject) { showError(new Error("choose a subject to delete a version of")); return; }
        const v = $("#sc-del-v").value;
        try {
          const sv = await version(v);
          if (!(await confirmAction(`Delete version ${v} of subject "${subject}" (schema id ${sv.id})? This is a soft delete: the version leaves the subject's list and is no longer used for new registrations or compatibility checks, while its schema id still decodes the messages written with it.${versions.length === 1 ? " It is the subject's only version, so the subject goes too." : ""}`, "Delete version"))) return;
          await api(`${SR}/subjects/${enc(subject)}/versions/${v}`, { method: "DELETE" });
          if (versions.length === 1) { location.assign("/ui/schemas"); return; }
          await after(`deleted v${v}`);
        } catch (err) { showError(err); }
      });
      $("#sc-del-perm").addEventListener("click", async () => {
        if (!subject) return;
        const v = $("#sc-del-v").value;
        try {
          const sv = await version(v);
          if (!(await confirmAction(`Permanently delete version ${v} of subject "${subject}" (schema id ${sv.id}), soft-deleted before? Its schema text goes for good; if no other subject version has schema id ${sv.id}, messages written with it no longer decode with their schema. This cannot be undone.`, "Delete permanently"))) return;
          await api(`${SR}/subjects/${enc(subject)}/versions/${v}?permanent=true`, { method: "DELETE" });
          all = all.filter((x) => x !== Number(v));
          await after(`permanently deleted v${v}`);
        } catch (err) { showError(err); }
      });
      $("#sc-subj-del").addEventListener("click", async () => {
        if (!subject) return;
        if (!(await confirmAction(`Delete subject "${subject}" with its ${versions.length} version(s) (v${versions.join(", v")})? This is a soft delete: the subject leaves the list and takes no new registrations under its old versions' checks, while their schema ids still decode; it can be deleted permanently afterwards.`, "Delete subject"))) return;
        try {
          await api(`${SR}/subjects/${enc(subject)}`, { method: "DELETE" });
          $("#sc-show-deleted").checked = true;
          await after("subject soft-deleted");
        } catch (err) { showError(err); }
      });
      $("#sc-subj-perm").addEventListener("click", async () => {
        if (!subject) return;
        if (!(await confirmAction(`Permanently delete subject "${subject}" and its ${all.length} soft-deleted version(s)? Their schema texts go for good; schema ids no other subject uses no longer decode. This cannot be undone.`, "Delete permanently"))) return;
        try {
          await api(`${SR}/subjects/${enc(subject)}?permanent=true`, { method: "DELETE" });
          versions = []; all = [];
          await after("subject permanently deleted");
        } catch (err) { showError(err); }
      });
    }
    // Compatibility level and mode, of the subject and registry-wide.
    const MODE_WORDS = { READWRITE: "registrations and deletes are allowed", READONLY: "new versions and deletes are refused", IMPORT: "versions are registered with the ids and version numbers given (for migrating from another registry); compatibility is not checked" };
    const setting = async (kind, scope, now, to) => {
      const where = scope ? `subject "${scope}"` : "the registry (subjects without their own use it)";
      if (to === now) { showError(new Error(`${kind === "config" ? "The compatibility level" : "The mode"} of ${where} is ${now} already`)); return; }
      const text = kind === "config"
        ? `Set the compatibility level of ${where} from ${now} to ${to}? New versions${scope ? ` of ${scope}` : ""} are then checked under ${to}.`
        : `Set the mode of ${where} from ${now} to ${to}? Under ${to} ${MODE_WORDS[to]}.`;
      if (!(await confirmAction(text, kind === "config" ? "Set compatibility" : "Set mode"))) return;
      try {
        await srJSON(`/${kind}` + (scope ? `/${enc(scope)}` : ""), "PUT", kind === "config" ? { compatibility: to } : { mode: to });
        showError(null);
        await loadGlobal();
        await listSubjects();
        if (subject) await choose(subject);
      } catch (err) { showError(err); }
    };
    if ($("#sc-settings")) {
      $("#sc-compat-set").addEventListener("click", () => { if (subject) setting("config", subject, subjCompat, $("#sc-compat").value); else showError(new Error("choose a subject first")); });
      $("#sc-mode-set").addEventListener("click", () => { if (subject) setting("mode", subject, subjMode, $("#sc-mode").value); else showError(new Error("choose a subject first")); });
      $("#sg-compat-set").addEventListener("click", () => setting("config", "", glob.compat, $("#sg-compat").value));
      $("#sg-mode-set").addEventListener("click", () => setting("mode", "", glob.mode, $("#sg-mode").value));
    }
    const q = new URLSearchParams(location.search).get("subject");
    if (q) await choose(q);
  },

  async dlq() {
    const page = await api("/v1/topics?prefix=dlq.&limit=1000");
    const rows = [];
    for (const t of page.topics) {
      const td = el("td", {}, "…");
      rows.push(el("tr", {},
        el("td", {}, el("button", { type: "button", onclick: () => showDLQ(t.name).catch(showError) }, t.name)),
        el("td", { class: "num" }, fmtNum(t.records)), el("td", { class: "num" }, t.partitions), td));
      api(`/v1/topics/${encodeURIComponent(t.name)}/messages?limit=1000`).then((p) => {
        const by = {};
        for (const m of p.messages) { const r = header(m, "__dlq.errors.reason") || "unknown"; by[r] = (by[r] || 0) + 1; }
        td.textContent = Object.entries(by).map(([r, n]) => `${r}: ${n}`).join(", ") || "none";
      }).catch(showError);
    }
    fill($("#dlqs tbody"), rows, "no dead-letter topics (dlq.*)", 4);
    const redrive = $("#dl-redrive"), redriveAll = $("#dl-redrive-all");
    let current = null, stop = false;
    if (redriveAll) {
      $("#dl-stop").addEventListener("click", () => { stop = true; });
      redriveAll.addEventListener("click", async () => {
        if (!current) return;
        const t = await api("/v1/topics/" + encodeURIComponent(current.name));
        const parts = t.partitionList.filter((p) => p.highWatermark > p.logStartOffset);
        const total = parts.reduce((a, p) => a + p.highWatermark - p.logStartOffset, 0);
        const to = redriveTo();
        if (!(await confirmAction(`Redrive all ${fmtNum(total)} dead letter(s) of ${current.name} (${parts.length} partition(s)) ${to ? `to topic "${to}" instead of the topics they came from (by key, or their original partition number)` : "back to the topics and partitions they came from"}? They are written again with a __dlq.redriven.from header; the dead letters stay in ${current.name}.`, "Redrive all"))) return;
        const bar = $("#dl-progress"), out = $("#dl-result");
        bar.max = Math.max(total, 1); bar.value = 0; bar.hidden = false;
        $("#dl-stop").hidden = false;
        redriveAll.disabled = true;
        stop = false;
        let done = 0, read = 0;
        const started = performance.now();
        try {
          for (const p of parts) {
            for (let from = p.logStartOffset; from < p.highWatermark && !stop;) {
              const r = await jsonPost(`/v1/topics/${encodeURIComponent(current.name)}/redrive`, { partition: p.partition, from, count: REDRIVE_SLICE, to: to || undefined });
              done += r.redriven.length;
              read += r.next - from;
              from = r.next;
              bar.value = read;
              const rate = done / ((performance.now() - started) / 1000);
              out.textContent = `redriven ${fmtNum(done)} of ${fmtNum(total)} (${fmtCompact(rate)}/s)…`;
            }
          }
          showError(null);
          out.textContent = (stop ? "stopped: " : "") + `redriven ${fmtNum(done)} of ${fmtNum(total)}`;
          out.dataset.done = done;
        } catch (err) {
          out.textContent = `redriven ${fmtNum(done)} of ${fmtNum(total)} before the error`;
          showError(err);
        } finally {
          $("#dl-stop").hidden = true;
          redriveAll.disabled = false;
        }
      });
    }
    // redriveTo is the topic named in "Redrive to", or "" for the
    // dead letters' original topics.
    const redriveTo = () => ($("#dl-to") ? $("#dl-to").value.trim() : "");
    if ($("#dl-topics")) api("/v1/topics?limit=1000").then((all) => {
      $("#dl-topics").replaceChildren(...all.topics.filter((t) => !t.name.startsWith("dlq.")).map((t) => el("option", { value: t.name })));
    }).catch(showError);
    const selected = () => [...document.querySelectorAll("#deadletters input[type=checkbox]:checked")].map((c) => ({ partition: Number(c.dataset.partition), offset: Number(c.dataset.offset) }));
    const showDLQ = async (name) => {
      const p = await api(`/v1/topics/${encodeURIComponent(name)}/messages?limit=100`);
      current = { name, messages: p.messages };
      $("#dl-h").textContent = "Dead letters in " + name;
      $("#dl-summary").textContent = `newest ${p.messages.length}; open one in Messages for all headers`;
      if (redrive) redrive.disabled = true;
      if (redriveAll) redriveAll.disabled = false;
      fill($("#deadletters tbody"), p.messages.map((m) => el("tr", {},
        WRITES ? el("td", {}, el("input", { type: "checkbox", "aria-label": `select dead letter ${m.partition}@${m.offset}`, "data-partition": m.partition, "data-offset": m.offset, onchange: () => { redrive.disabled = !selected().length; } })) : null,
        el("td", { class: "num" }, m.partition),
        el("td", { class: "num" }, el("a", { href: "/ui/messages?" + qs({ topic: name, partition: m.partition, offset: m.offset + 1, limit: 1 }) }, m.offset)),
        el("td", {}, fmtTime(m.timestamp)), el("td", {}, header(m, "__dlq.errors.reason") || ""),
        el("td", {}, `${header(m, "__dlq.errors.topic") || "?"}-${header(m, "__dlq.errors.partition") || "?"}@${header(m, "__dlq.errors.offset") || "?"}`),
        el("td", { class: "num" }, header(m, "__dlq.errors.delivery.count") || ""), el("td", {}, header(m, "__dlq.errors.group") || ""),
        el("td", {}, keyText(m)), el("td", {}, valueCell(m)))), "no dead letters", WRITES ? 10 : 9);
    };
    if (redrive) redrive.addEventListener("click", async () => {
      const sel = selected();
      if (!current || !sel.length) return;
      const targets = [...new Set(sel.map((s) => { const m = current.messages.find((m) => m.partition === s.partition && m.offset === s.offset); return `${header(m, "__dlq.errors.topic")}/${header(m, "__dlq.errors.partition")}`; }))];
      const to = redriveTo();
      if (!(await confirmAction(`Redrive ${sel.length} dead letter(s) from ${current.name} ${to ? `to topic "${to}" instead of ${targets.join(", ")} (by key, or their original partition number)` : `back to ${targets.join(", ")}`}? They are written again with a __dlq.redriven.from header; the dead letters stay in ${current.name}.`, "Redrive"))) return;
      const byPart = {};
      for (const s of sel) (byPart[s.partition] ||= []).push(s.offset);
      const done = [];
      try {
        for (const [partition, offsets] of Object.entries(byPart)) {
          $("#dl-result").textContent = `redriving ${done.length}/${sel.length}…`;
          const res = await api(`/v1/topics/${encodeURIComponent(current.name)}/redrive`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ partition: Number(partition), offsets, to: to || undefined }) });
          done.push(...res.redriven);
        }
        showError(null);
        $("#dl-result").textContent = `redriven ${done.length}: ` + done.map((r) => `${current.name}/${r.offset} → ${r.topic}/${r.partition}@${r.newOffset}`).join(", ");
      } catch (err) {
        $("#dl-result").textContent = `redriven ${done.length} of ${sel.length} before the error`;
        showError(err);
      }
    });
  },
};

// shareResetForm drives the groups page's share-group offset reset:
// Preview is a dry run listing each partition's start before and after;
// Reset applies exactly what was previewed, after a confirmation.
function shareResetForm() {
  const apply = $("#sr-apply"), out = $("#sr-summary");
  let previewed = null;
  if ($("#sr-groups")) api("/v1/topics?limit=1000").then((p) => $("#sr-topics").replaceChildren(...p.topics.map((t) => el("option", { value: t.name })))).catch(() => {});
  const body = () => {
    const b = { topic: $("#sr-topic").value.trim(), to: $("#sr-to").value };
    if (b.to === "offset") b.offset = Number($("#sr-offset").value);
    return b;
  };
  const show = (res) => fill($("#sr-result tbody"), res.partitions.map((p) => el("tr", {},
    el("td", {}, p.topic), el("td", { class: "num" }, p.partition),
    el("td", { class: "num" }, p.startBefore < 0 ? "no state" : fmtNum(p.startBefore)), el("td", { class: "num" }, fmtNum(p.startAfter)))), "no partitions", 4);
  const stale = () => { previewed = null; if (apply) apply.disabled = true; };
  for (const id of ["#sr-group", "#sr-topic", "#sr-to", "#sr-offset"]) $(id).addEventListener("input", stale);
  $("#share-reset").addEventListener("submit", async (e) => {
    e.preventDefault();
    stale();
    const group = $("#sr-group").value.trim(), b = body();
    try {
      const res = await jsonPost(`/v1/share-groups/${encodeURIComponent(group)}/offsets/reset`, { ...b, dryRun: true });
      showError(null);
      show(res);
      out.textContent = `preview: ${res.partitions.length} partition(s) of ${b.topic} for share group ${group}`;
      previewed = { group, body: b, n: res.partitions.length };
      if (apply) apply.disabled = false;
    } catch (err) { showError(err); }
  });
  if (apply) apply.addEventListener("click", async () => {
    if (!previewed) return;
    const { group, body: b, n } = previewed;
    const to = b.to === "offset" ? `offset ${b.offset}` : b.to;
    if (!(await confirmAction(`Reset the start offsets of share group "${group}" on ${n} partition(s) of ${b.topic} to ${to}? Its in-flight records there are forgotten and delivery goes on from the new start; the group must have no members.`, "Reset share group"))) return;
    try {
      const res = await jsonPost(`/v1/share-groups/${encodeURIComponent(group)}/offsets/reset`, b);
      showError(null);
      show(res);
      out.textContent = `reset ${res.partitions.length} partition(s)`;
      stale();
    } catch (err) { showError(err); }
  });
}

// resetForm drives the group page's offset reset: Preview is a dry run
// (allowed read-only); Apply confirms, naming the group, the partitions
// and the lag change, then commits the previewed request.
function resetForm() {
  const req = () => {
    const r = { to: $("#r-to").value, topic: $("#r-topic").value.trim() };
    if (r.to === "time") {
      if (!$("#r-time").value) throw new Error("choose a time to reset to");
      r.time = new Date($("#r-time").value + "Z").getTime();
    }
    if (r.to === "offset") {
      if ($("#r-offset").value === "") throw new Error("enter an offset to reset to");
      r.offset = Number($("#r-offset").value);
    }
    return r;
  };
  const send = (body) => api(`/v1/groups/${encodeURIComponent(PARAM)}/offsets/reset`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const sum = (res, k) => res.partitions.reduce((a, p) => a + p[k], 0);
  let previewed = null;
  const apply = $("#r-apply");
  $("#reset").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const body = req();
      const res = await send({ ...body, dryRun: true });
      showError(null);
      previewed = { body, res };
      $("#reset-preview").hidden = false;
      fill($("#reset-preview tbody"), res.partitions.map((p) => el("tr", {},
        el("td", {}, p.topic), el("td", { class: "num" }, p.partition), el("td", { class: "num" }, p.current < 0 ? "none" : fmtNum(p.current)),
        el("td", { class: "num" }, fmtNum(p.target)), el("td", { class: "num" }, fmtNum(p.lagBefore)), el("td", { class: "num", "data-lag-after": p.lagAfter }, fmtNum(p.lagAfter)))), "", 6);
      $("#r-summary").textContent = `preview: ${res.partitions.length} partition(s), lag ${fmtNum(sum(res, "lagBefore"))} → ${fmtNum(sum(res, "lagAfter"))}; nothing changed yet`;
      if (apply) apply.disabled = false;
    } catch (err) { showError(err); }
  });
  for (const id of ["#r-to", "#r-topic", "#r-time", "#r-offset"]) $(id).addEventListener("input", () => { previewed = null; if (apply) apply.disabled = true; });
  if (apply) apply.addEventListener("click", async () => {
    if (!previewed) return;
    const { body, res } = previewed;
    const to = body.to === "time" ? "time " + $("#r-time").value : body.to === "offset" ? "offset " + body.offset : body.to;
    if (!(await confirmAction(`Reset the offsets of group "${PARAM}" on ${res.partitions.length} partition(s)${body.topic ? ` of ${body.topic}` : ""} to ${to}? Lag goes from ${fmtNum(sum(res, "lagBefore"))} to ${fmtNum(sum(res, "lagAfter"))}.`, "Reset offsets"))) return;
    // Applied a slice of partitions at a time (per topic, RESET_SLICE
    // partitions a request), so a reset across many partitions shows its
    // progress; each slice is one commit.
    const slices = [];
    const byTopic = {};
    for (const p of res.partitions) (byTopic[p.topic] ||= []).push(p.partition);
    for (const [topic, parts] of Object.entries(byTopic)) for (let i = 0; i < parts.length; i += RESET_SLICE) slices.push({ topic, partitions: parts.slice(i, i + RESET_SLICE) });
    const bar = $("#r-progress");
    bar.max = res.partitions.length; bar.value = 0; bar.hidden = false;
    let done = 0;
    apply.disabled = true;
    try {
      for (const sl of slices) {
        $("#r-summary").textContent = `resetting: ${fmtNum(done)} of ${fmtNum(res.partitions.length)} partition(s)…`;
        const r = await send({ ...body, topic: sl.topic, partitions: sl.partitions, dryRun: false });
        done += r.partitions.length;
        bar.value = done;
      }
      showError(null);
      $("#r-summary").textContent = `reset ${fmtNum(done)} partition(s)`;
      previewed = null;
    } catch (err) {
      $("#r-summary").textContent = `reset ${fmtNum(done)} of ${fmtNum(res.partitions.length)} partition(s) before the error; preview again to see where the group stands`;
      showError(err);
    }
  });
}

// prettySchema formats a schema for reading and diffing: JSON (Avro,
// JSON Schema) indented with its object keys in one fixed order (the
// usual Avro keys first, then the others alphabetically), so two versions
// that differ only in key order or whitespace format the same; Protobuf
// text as it is, without trailing spaces.
function prettySchema(v) {
  if (!v) return "";
  if (v.schemaType === "PROTOBUF") return v.schema.split("\n").map((l) => l.trimEnd()).join("\n").trim();
  try { return JSON.stringify(canonicalJSON(JSON.parse(v.schema)), null, 2); } catch (e) { return v.schema; }
}

const KEY_ORDER = ["type", "name", "namespace", "doc", "aliases", "symbols", "items", "values", "size", "logicalType", "precision", "scale", "default", "order", "fields"];
function canonicalJSON(x) {
  if (Array.isArray(x)) return x.map(canonicalJSON);
  if (x === null || typeof x !== "object") return x;
  const rank = (k) => { const i = KEY_ORDER.indexOf(k); return i < 0 ? KEY_ORDER.length : i; };
  const out = {};
  for (const k of Object.keys(x).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))) out[k] = canonicalJSON(x[k]);
  return out;
}

// diffLines is Myers' O((N+M)D) diff of two arrays of lines: the shortest
// edit script as ops in order, {op: "=", a, b} for a line kept (a and b
// are its indexes), {op: "-", a} removed from the left, {op: "+", b}
// added on the right. eq compares two lines (default ===).
function diffLines(A, B, eq) {
  eq = eq || ((x, y) => x === y);
  const N = A.length, M = B.length, MAX = N + M, off = MAX + 1;
  const v = new Int32Array(2 * MAX + 3);
  const trace = [];
  let D = 0;
  outer: for (; D <= MAX; D++) {
    // Only diagonals -D-1..D+1 matter at step D: keep that slice.
    trace.push(v.slice(off - D - 1, off + D + 2));
    for (let k = -D; k <= D; k += 2) {
      let x = k === -D || (k !== D && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < N && y < M && eq(A[x], B[y])) { x++; y++; }
      v[off + k] = x;
      if (x >= N && y >= M) break outer;
    }
  }
  // Walk the trace back from (N, M) to (0, 0).
  const ops = [];
  let x = N, y = M;
  for (let d = D; d > 0; d--) {
    const vp = trace[d], k = x - y, o = d + 1;
    const down = k === -d || (k !== d && vp[o + k - 1] < vp[o + k + 1]);
    const pk = down ? k + 1 : k - 1;
    const px = vp[o + pk], py = px - pk;
    while (x > px + (down ? 0 : 1) && y > py + (down ? 1 : 0)) { x--; y--; ops.push({ op: "=", a: x, b: y }); }
    if (down) { y--; ops.push({ op: "+", b: y }); } else { x--; ops.push({ op: "-", a: x }); }
  }
  while (x > 0 && y > 0) { x--; y--; ops.push({ op: "=", a: x, b: y }); }
  return ops.reverse();
}

// showDiff draws an ordered line diff of two versions side by side: kept
// lines on both sides, removed lines marked on the left and added ones on
// the right, a run of removals facing the run of additions that replaced
// it, blank filler opposite a line the other side lacks. Lines that differ
// only by a trailing comma (JSON's separator moves when a field is added
// at the end) count as kept.
function showDiff(left, right, la, lb) {
  const strip = (l) => l.replace(/,\s*$/, "");
  const ops = diffLines(la, lb, (x, y) => strip(x) === strip(y));
  const L = [], R = [];
  let dels = [], adds = [];
  const flush = () => {
    for (let i = 0; i < Math.max(dels.length, adds.length); i++) {
      L.push(i < dels.length ? el("span", { class: "del" }, "- " + la[dels[i]] + "\n") : el("span", { class: "gap" }, "\n"));
      R.push(i < adds.length ? el("span", { class: "add" }, "+ " + lb[adds[i]] + "\n") : el("span", { class: "gap" }, "\n"));
    }
    dels = []; adds = [];
  };
  let removed = 0, added = 0;
  for (const o of ops) {
    if (o.op === "-") { dels.push(o.a); removed++; continue; }
    if (o.op === "+") { adds.push(o.b); added++; continue; }
    flush();
    L.push(el("span", {}, "  " + la[o.a] + "\n"));
    R.push(el("span", {}, "  " + lb[o.b] + "\n"));
  }
  flush();
  left.replaceChildren(...L);
  right.replaceChildren(...R);
  left.dataset.changed = removed;
  right.dataset.changed = added;
  return { removed, added };
}

const SR = "/schema-registry";
const RESET_SLICE = 100; // partitions per offset-reset request
const REDRIVE_SLICE = 500; // dead letters per redrive request

function header(m, k) {
  const h = (m.headers || []).find((h) => h.key === k);
  return h ? h.value : null;
}

const keyText = (m) => (m.key !== undefined && m.key !== null ? m.key : m.keyBase64 ? "0x" + b64hex(m.keyBase64) : "null");

function b64hex(b64) {
  const bin = atob(b64);
  let out = "";
  for (let i = 0; i < bin.length && i < 4096; i++) out += bin.charCodeAt(i).toString(16).padStart(2, "0") + (i % 16 === 15 ? "\n" : " ");
  return out.trim() + (bin.length > 4096 ? " …" : "");
}

function valueCell(m) {
  if (m.valueSchema) {
    const vs = m.valueSchema;
    return el("div", {}, el("span", { class: "badge schema", title: `decoded with schema id ${vs.id}` }, `${vs.type} schema ${vs.id}` + (vs.subject ? ` (${vs.subject} v${vs.version})` : "")),
      el("pre", { class: "json" }, JSON.stringify(m.valueJson, null, 2)));
  }
  if (m.valueSchemaError) return el("div", {}, el("span", { class: "badge bad", title: m.valueSchemaError }, "does not decode with its schema"), el("pre", { class: "hex" }, b64hex(m.valueBase64)));
  if (m.valueJson !== undefined) return el("pre", { class: "json" }, JSON.stringify(m.valueJson, null, 2));
  if (m.valueText !== undefined && m.valueText !== null) return el("pre", {}, m.valueText);
  if (m.valueBase64) return el("pre", { class: "hex", title: "not UTF-8: shown as hex" }, b64hex(m.valueBase64));
  return el("span", { class: "muted" }, "null (tombstone)");
}

// headersCell shows CloudEvents attributes (ce_* headers, Kafka binary
// mode) as attributes, then the other headers.
function headersCell(headers) {
  const td = el("td", {});
  const ce = headers.filter((h) => h.key.startsWith("ce_"));
  if (ce.length) {
    td.append(el("span", { class: "badge ce" }, "CloudEvent"));
    for (const h of ce) td.append(el("span", { class: "hdr ce" }, el("b", {}, h.key.slice(3)), " ", h.value ?? "null"));
  }
  for (const h of headers.filter((h) => !h.key.startsWith("ce_"))) td.append(el("span", { class: "hdr" }, el("b", {}, h.key), " ", h.base64 ? "0x" + b64hex(h.value) : h.value ?? "null"));
  return td;
}

function messageRow(m) {
  return el("tr", { "data-offset": m.offset, "data-partition": m.partition },
    el("td", { class: "num" }, m.partition), el("td", { class: "num" }, m.offset), el("td", {}, fmtTime(m.timestamp)),
    el("td", {}, keyText(m)), headersCell(m.headers || []), el("td", {}, valueCell(m)));
}

// eventToMessage turns a subscribe event (the event-store JSON shape) into
// the browse shape: the CloudEvents attributes come back as ce_ headers.
function eventToMessage(e) {
  const headers = [];
  for (const [k, v] of [["id", e.id], ["type", e.type], ["source", e.source], ["time", e.time]]) if (v) headers.push({ key: "ce_" + k, value: v });
  if (e.contentType) headers.push({ key: "content-type", value: e.contentType });
  if (e.version >= 0) headers.push({ key: "eddy-stream-version", value: String(e.version) });
  const m = { partition: e.partition, offset: e.offset, timestamp: e.timestamp, key: e.stream, headers };
  if (e.data !== undefined) m.valueJson = e.data; else if (e.dataBase64) m.valueBase64 = e.dataBase64;
  // With decode=schema the server decoded a wire-format value with its
  // registered schema (or says why it could not).
  if (e.valueSchema) m.valueSchema = e.valueSchema;
  if (e.valueSchemaError) m.valueSchemaError = e.valueSchemaError;
  return m;
}

async function deleteGroup(name, type, members, lag, then) {
  const what = type === "share" ? "share group" : "consumer group";
  if (!(await confirmAction(`Delete ${what} "${name}" (${members} member(s), lag ${fmtNum(lag)})? Its ${type === "share" ? "delivery state" : "committed offsets"} are removed; consumers that join again start from their reset policy. This cannot be undone.`, "Delete group"))) return;
  await api(`/v1/groups/${encodeURIComponent(name)}?type=${type}`, { method: "DELETE" });
  showError(null);
  if (then) then();
}

async function deleteTopic(t, then) {
  if (!(await confirmAction(`Delete topic "${t.name}" with its ${t.partitions} partition(s) and ${fmtNum(t.records)} records? This cannot be undone.`, "Delete topic"))) return;
  try {
    await api("/v1/topics/" + encodeURIComponent(t.name), { method: "DELETE" });
    showError(null);
    await then();
  } catch (err) { showError(err); }
}

const fn = pagesJS[body.dataset.page];
if (fn) fn().catch(showError);
