// Live updates for the console: polls the JSON API while the tab is
// visible and rewrites the counts, the cost and the table rows. The page
// works without it; nothing here is needed to act.
"use strict";
(function () {
  function text(el, s) { if (el) el.textContent = s; }
  function plural(n, noun) { return n === 1 ? "1 " + noun : n + " " + noun + "s"; }
  function when(t) {
    if (!t || t.startsWith("0001-")) return "-";
    return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
  }
  // A submitted form is replacing the page: a poll's reload then would
  // cancel that navigation and lose its answer (the notice of what was
  // done), so polling stops. No form here cancels its submission.
  var leaving = false;
  document.addEventListener("submit", function () { leaving = true; });
  function poll(ms, fn) {
    var timer = null;
    function tick() {
      if (leaving) return;
      if (document.hidden) { timer = setTimeout(tick, ms); return; }
      fn().catch(function () {}).then(function () { timer = setTimeout(tick, ms); });
    }
    timer = setTimeout(tick, ms);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { clearTimeout(timer); tick(); }
    });
  }
  function get(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }

  function renderSummary(s) {
    text(document.getElementById("total"), s.total + " in all");
    s.states.forEach(function (c) {
      var li = document.querySelector('#counts [data-state="' + c.state + '"] .n');
      text(li, String(c.count));
    });
    text(document.getElementById("cost-run"), s.cost.text);
    text(document.getElementById("cost-run-units"), plural(s.cost.clips, "clip") + ", " + plural(s.cost.stills, "still"));
    text(document.getElementById("cost-today"), s.today.text);
    text(document.getElementById("cost-today-units"), plural(s.today.clips, "clip") + ", " + plural(s.today.stills, "still"));
    text(document.getElementById("as-of"), when(s.as_of));
  }
  function cell(tr, cls, child) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (typeof child === "string") td.textContent = child; else if (child) td.appendChild(child);
    tr.appendChild(td);
    return td;
  }
  function renderRows(rows, checked) {
    var tbody = document.getElementById("rows");
    if (!tbody) return;
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.key = r.key;
      tr.className = "st-" + r.state;
      var box = null;
      if (r.replayable || r.reviewable || r.delivery_retryable) {
        box = document.createElement("input");
        box.type = "checkbox"; box.name = "key"; box.value = r.key;
        box.setAttribute("aria-label", "select " + r.sku);
        box.checked = checked.has(r.key);
      }
      cell(tr, "sel", box);
      var a = document.createElement("a");
      a.href = "job?key=" + encodeURIComponent(r.key); a.textContent = r.sku;
      cell(tr, "", a);
      var badge = document.createElement("span");
      badge.className = "badge st-" + r.state; badge.textContent = r.state_label;
      cell(tr, "", badge);
      cell(tr, "wide", r.collection || "");
      cell(tr, "wide", r.target_surface || "");
      var td = cell(tr, "", r.buyer_status);
      if (r.error) {
        td.appendChild(document.createElement("br"));
        var small = document.createElement("small");
        small.className = "error"; small.textContent = r.error;
        td.appendChild(small);
      }
      cell(tr, "wide", r.cost);
      cell(tr, "wide", when(r.updated_at));
      frag.appendChild(tr);
    });
    if (rows.length === 0) {
      var tr = document.createElement("tr"); tr.className = "empty";
      var td = cell(tr, "", "No jobs match."); td.colSpan = 8;
      frag.appendChild(tr);
    }
    tbody.replaceChildren(frag);
  }

  var live = document.getElementById("live");
  if (live) {
    var form = document.getElementById("replay-form");
    var sync = function () {
      if (!form) return;
      var none = !form.querySelector('input[name="key"]:checked');
      form.querySelectorAll("button.selected-only").forEach(function (b) { b.disabled = none; });
    };
    if (form) { form.addEventListener("change", sync); sync(); }
    poll(Number(live.dataset.poll) || 5000, function () {
      return get(live.dataset.api).then(function (d) {
        var checked = new Set(Array.from(document.querySelectorAll('#rows input[name="key"]:checked')).map(function (b) { return b.value; }));
        renderSummary(d.summary);
        renderRows(d.rows, checked);
        sync();
      });
    });
  }

  var video = document.getElementById("video");
  if (video) {
    var showError = function () { var p = document.getElementById("video-error"); if (p) p.hidden = false; };
    video.addEventListener("error", showError);
    if (video.error) showError();
  }

  var liveJob = document.getElementById("live-job");
  if (liveJob) {
    poll(Number(liveJob.dataset.poll) || 5000, function () {
      return get(liveJob.dataset.api).then(function (v) {
        // A job page is mostly static: reload only when the job moved on,
        // so a playing video is not interrupted by a no-op refresh.
        if (v.state !== liveJob.dataset.state && !leaving) location.reload();
      });
    });
  }
})();
