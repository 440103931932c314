"use strict";
// The theory review page: a view per question listing every team; the TA's marks live in
// localStorage and in the CSV of grade/review/marks.py.  Text from the PDFs is untrusted: it
// only ever enters the page as text nodes.
(function () {
  const DATA = JSON.parse(document.getElementById("review-data").textContent);
  const IMAGES = JSON.parse(document.getElementById("review-images").textContent);
  const RUBRIC = DATA.rubric, TEAMS = DATA.teams, STORE = "theory-review:" + DATA.review_id;
  const HEADER = ["team", "question", "id", "kind", "max", "value"];
  const ENTRY = {};
  RUBRIC.questions.forEach(q => {
    q.items.forEach(i => { ENTRY[i.id] = {q: q.id, kind: "item", max: i.points}; });
    q.mistakes.forEach(m => { ENTRY[m.id] = {q: q.id, kind: "mistake", max: m.deduction}; });
  });
  let state = {values: {}, comments: {}};

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    children.flat(Infinity).forEach(c => { if (c !== null && c !== undefined) e.append(c); });
    return e;
  }
  const fmt = x => String(Math.round(x * 100) / 100);

  // Scores come from Scoring (static/scoring.js, the rules of marks.py): no score while an item is unmarked.
  const score = (team, q) => Scoring.question(q, state.values[team] || {});
  const total = team => Scoring.team(RUBRIC, state.values[team] || {});
  const shown = (s, max) => s.points === null ? `not all marked (${fmt(s.earned)} so far) / ${max}` : `${fmt(s.points)} / ${max}`;

  // ------------------------------------------------------------------ the marks file (CSV)
  const cell = x => { const s = String(x); return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  function toCsv() {
    const rows = [HEADER];
    TEAMS.forEach(t => RUBRIC.questions.forEach(q => {
      const v = state.values[t.team] || {};
      q.items.forEach(i => rows.push([t.team, q.id, i.id, "item", i.points, v[i.id] ?? ""]));
      q.mistakes.forEach(m => rows.push([t.team, q.id, m.id, "mistake", m.deduction, v[m.id] ?? ""]));
      rows.push([t.team, q.id, "", "comment", "", (state.comments[t.team] || {})[q.id] || ""]);
    }));
    return rows.map(r => r.map(cell).join(",")).join("\r\n") + "\r\n";
  }
  function parseCsv(text) {
    const rows = []; let row = [], field = "", quoted = false;
    text = text.replace(/^\ufeff/, "");
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') quoted = false; else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += c;
    }
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows;
  }
  function importCsv(text) {
    const rows = parseCsv(text), errors = [], next = {values: {}, comments: {}};
    const teams = new Set(TEAMS.map(t => t.team));
    if (!rows.length || rows[0].join(",") !== HEADER.join(",")) return {errors: ["the first line must be " + HEADER.join(",")]};
    rows.slice(1).forEach((r, k) => {
      const line = k + 2;
      if (r.every(c => c.trim() === "")) return;
      if (r.length !== 6) { errors.push(`line ${line}: expected 6 fields, received ${r.length}`); return; }
      const [team, q, id, kind, max, value] = r.map((c, j) => j === 5 ? c : c.trim());
      if (!teams.has(team)) { errors.push(`line ${line}: team ${team} was not reviewed here`); return; }
      if (kind === "comment") { (next.comments[team] = next.comments[team] || {})[q] = value.trim(); return; }
      const e = ENTRY[id];
      if (!e || e.q !== q || e.kind !== kind) { errors.push(`line ${line}: ${id} is not a ${kind} of question ${q}`); return; }
      if (max !== "" && Number(max) !== e.max) { errors.push(`line ${line}: ${id}: max ${max}, the rubric gives ${e.max}`); return; }
      if (value.trim() === "") return;
      const n = Number(value);
      if (Number.isNaN(n) || n < 0 || n > (e.kind === "item" ? e.max : 1) || (e.kind === "mistake" && n !== 0 && n !== 1)) {
        errors.push(`line ${line}: ${team} ${id}: ${value} is out of range`); return;
      }
      (next.values[team] = next.values[team] || {})[id] = n;
    });
    if (!errors.length) state = next;
    return {errors};
  }
  function save() {
    try {
      localStorage.setItem(STORE, JSON.stringify(state));
      status(`marks kept in this browser (${new Date().toLocaleTimeString()}); "Download marks" saves the file`);
    } catch (err) { status("this browser does not keep the marks: use Download marks"); }
  }
  const status = text => { document.getElementById("status").textContent = text; };

  // ------------------------------------------------------------------ views
  function answerText(a) {
    const lines = a.lines.filter(l => l[1].trim());
    const indent = Math.min(...lines.map(l => l[1].match(/^ */)[0].length), 1e9);
    const pre = el("pre", {class: "answer"});
    let page = null;
    a.lines.forEach(([p, text]) => {
      if (p !== page) { pre.append(el("span", {class: "pagebreak"}, `── page ${p} ──\n`)); page = p; }
      pre.append(text.slice(Math.min(indent, text.length)) + "\n");
    });
    return pre;
  }
  function premarkList(marks) {
    if (!marks.length) return null;
    return el("ul", {class: "premarks", title: "pre-marks: suggestions read off the text, for the TA to confirm"}, marks.map(m => el("li", {class: m.verdict === "cannot tell" ? "" : m.verdict},
      `${m.label}: `, el("span", {class: "verdict"}, `${m.verdict}${m.confidence ? " (" + m.confidence + " confidence)" : ""}`),
      ` — ${m.message}`,
      m.rubric.filter(id => ENTRY[id]).length ? el("span", {class: "evidence"}, ` [${m.rubric.filter(id => ENTRY[id]).join(", ")}]`) : null,
      m.evidence.map(e => el("div", {class: "evidence"}, `p. ${e.page}: “${e.quote}”`)))));
  }
  function pageImages(team, a) {
    const all = Object.keys(team.image_refs).map(Number).sort((x, y) => x - y);
    const pages = a && a.pages.length ? a.pages : all;
    return el("div", {class: "pages"}, pages.filter(p => team.image_refs[p]).map(p => [
      el("div", {class: "pagelabel"}, `page ${p} of ${team.n_pages}`),
      el("img", {src: "data:image/jpeg;base64," + IMAGES[team.image_refs[p]], alt: `page ${p}`, loading: "lazy",
                 onclick: ev => ev.target.classList.toggle("zoom")})]));
  }
  function markRows(team, q, refresh) {
    const v = state.values[team] = state.values[team] || {};
    const set = (id, n) => { if (n === undefined) delete v[id]; else v[id] = n; save(); refresh(); };
    const rows = q.items.map(i => {
      const input = el("input", {type: "number", min: 0, max: i.points, step: 0.25, "data-team": team, "data-id": i.id,
                                 value: v[i.id] ?? ""});
      input.addEventListener("input", () => {
        const n = input.value === "" ? undefined : Number(input.value);
        const bad = n !== undefined && (Number.isNaN(n) || n < 0 || n > i.points);
        input.style.background = bad ? "#fdd" : "";
        if (!bad) set(i.id, n);
      });
      const button = (label, n, cls) => el("button", {type: "button", class: cls, onclick: () => { input.value = n; set(i.id, n); }}, label);
      return el("tr", {}, el("td", {}, el("b", {}, `${i.id} `), `(${i.points}) ${i.description}`),
                el("td", {}, input, " ", button("0", 0, "zero"), button("full", i.points, "full"), " ",
                   el("span", {class: "itemscore", "data-team": team, "data-id": i.id})));
    });
    q.mistakes.forEach(m => {
      const box = el("input", {type: "checkbox", "data-team": team, "data-id": m.id});
      box.checked = v[m.id] === 1;
      box.addEventListener("change", () => set(m.id, box.checked ? 1 : 0));
      rows.push(el("tr", {}, el("td", {class: "mistake"}, el("b", {}, `${m.id} `),
                `(−${m.deduction}, caps ${m.applies_to}) ${m.description}`), el("td", {}, el("label", {}, box, " mistake"))));
    });
    const c = state.comments[team] = state.comments[team] || {};
    const area = el("textarea", {placeholder: "comment for the team", "data-team": team, "data-question": q.id});
    area.value = c[q.id] || "";
    area.addEventListener("input", () => { c[q.id] = area.value; save(); });
    return [el("table", {class: "marks"}, rows), area];
  }
  function teamCard(team, q) {
    const a = team.answers[q.id];
    const scoreEl = el("span", {class: "score"});
    let card = null;
    const refresh = () => {
      const s = score(team.team, q);
      scoreEl.textContent = shown(s, q.points);
      if (card) card.querySelectorAll("span.itemscore").forEach(e => {  // an item capped by a ticked mistake
        const v = s.item_scores[e.dataset.id], marked = (state.values[team.team] || {})[e.dataset.id];
        e.textContent = v !== null && v !== marked ? `→ ${fmt(v)} after mistakes` : "";
      });
    };
    refresh();
    const where = !team.pdf ? el("div", {class: "notfound"}, "no readable theory PDF")
      : a && a.found ? el("div", {class: "where"}, `heading “${a.heading.text}” on page ${a.heading.page}; ${a.stripped} line${a.stripped === 1 ? "" : "s"} of the statement left out${a.note ? "; " + a.note : ""}`)
      : el("div", {class: "notfound"}, (a && a.note) || "not found");
    card = el("section", {class: "team", id: "team-" + team.team},
      el("h3", {}, team.team, el("span", {class: "where"}, team.pdf ? `${team.pdf}, ${team.n_pages} pages` : ""), scoreEl),
      team.problem ? el("div", {class: "problem"}, team.problem) : null,
      el("div", {class: "cols"},
        el("div", {}, where, a && a.found ? answerText(a) : null, premarkList((team.premarks || {})[q.id] || []), markRows(team.team, q, refresh)),
        pageImages(team, a)));
    refresh();
    return card;
  }
  function questionView(q) {
    const rubric = el("div", {class: "rubric"}, el("h2", {}, `${q.id} ${q.title} (${q.points} points)`),
      el("ul", {}, q.items.map(i => el("li", {}, `${i.id} (${i.points}): ${i.description}`)),
        q.mistakes.map(m => el("li", {class: "mistake"}, `mistake ${m.id} (−${m.deduction}, caps ${m.applies_to}): ${m.description}`))));
    return [rubric, TEAMS.map(t => teamCard(t, q))];
  }
  function totalsView() {
    const head = el("tr", {}, el("th", {}, "team"), RUBRIC.questions.map(q => el("th", {}, `${q.id} (${q.points})`)),
                    el("th", {}, `total (${RUBRIC.total})`));
    const rows = TEAMS.map(t => {
      const r = total(t.team);
      return el("tr", {}, el("td", {}, t.team), RUBRIC.questions.map(q => {
        const s = r.questions[q.id];
        return el("td", {class: s.marked ? "" : "unmarked", "data-team": t.team, "data-question": q.id},
                  s.marked ? fmt(s.points) : `– (${fmt(s.earned)} so far)`);
      }), el("td", {class: r.complete ? "" : "unmarked", "data-team": t.team, "data-question": "total"},
             r.complete ? fmt(r.total) : "no total yet"));
    });
    return [el("p", {}, "“–”: not every item of the question is marked, so it has no score yet (and the team no total); " +
                        "“so far” counts the items marked.  A ticked mistake caps the item it applies to."),
            el("table", {class: "totals"}, head, rows)];
  }
  function render(view) {
    view = view || (location.hash.match(/q=([\w.]+)/) || [])[1] || DATA.questions[0];
    const tabs = document.getElementById("tabs");
    tabs.replaceChildren(...[...DATA.questions, "totals"].map(id => el("button", {type: "button", class: id === view ? "active" : "",
      onclick: () => { location.hash = "q=" + id; }}, id)));
    const q = RUBRIC.questions.find(x => x.id === view);
    document.getElementById("view").replaceChildren(...(q ? questionView(q) : totalsView()).flat());
  }

  document.getElementById("download").addEventListener("click", () => {
    const a = el("a", {href: "data:text/csv;charset=utf-8," + encodeURIComponent(toCsv()), download: "theory_marks.csv"});
    document.body.append(a); a.click(); a.remove();
  });
  document.getElementById("load").addEventListener("change", ev => {
    const file = ev.target.files[0];
    if (!file) return;
    file.text().then(text => {
      const res = importCsv(text);
      if (res.errors.length) alert("Marks not loaded:\n" + res.errors.slice(0, 15).join("\n"));
      else { save(); render(); status(`loaded ${file.name}`); }
    });
  });
  window.addEventListener("hashchange", () => render());

  let stored = null;
  try { stored = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (err) { stored = null; }
  if (stored) { state = stored; status("marks restored from this browser"); }
  else if (DATA.initial_csv) { const res = importCsv(DATA.initial_csv); status(res.errors.length ? res.errors[0] : "marks from the file given to the grader"); }
  const selftest = (location.hash.match(/selftest=([\w-]+)/) || [])[1];
  if (selftest) {  // tests: load a CSV as "Load marks" does, press one "full" button, export as "Download marks" does,
                   // read the totals view
    const bytes = Uint8Array.from(atob(selftest.replace(/-/g, "+").replace(/_/g, "/")), c => c.charCodeAt(0));
    const res = importCsv(new TextDecoder().decode(bytes));
    render(DATA.questions[0]);
    const full = document.querySelector("button.full");
    if (full) full.click();
    const out = document.getElementById("selftest-result");
    const clicked = full ? {...full.parentNode.querySelector("input").dataset} : null;
    render("totals");
    const totals = {};
    document.querySelectorAll("table.totals td[data-team]").forEach(td => {
      (totals[td.dataset.team] = totals[td.dataset.team] || {})[td.dataset.question] = td.textContent;
    });
    out.textContent = JSON.stringify({errors: res.errors, clicked, csv: toCsv(), totals});
  } else render();
})();
