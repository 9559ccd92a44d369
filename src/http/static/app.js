// The freshet dashboard: polls the JSON API and draws with uPlot (served by
// freshet, no CDN). Plain script, no build step. Every text from the API is
// set with textContent, never parsed as HTML.
"use strict";

(() => {
  // Okabe–Ito colours: told apart with the common colour-vision deficiencies,
  // each at least 3:1 against white for lines.
  const COLOURS = [
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#000000",
  ];
  const SHOWN_DEFAULT = 5;
  const SHOWN_MAX = COLOURS.length;
  const TOP_LIMIT = 20;

  const $ = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
  const state = {
    refresh_ms: Number($("refresh").value),
    range_ms: Number($("range").value),
    /** Event ids the user chose; null until they choose. */
    chosen: null,
    /** Event ids known from the Top-N list, in rank order. */
    known: [],
    charts: { count: null, sum: null },
    seriesKey: "",
    timer: null,
  };

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function fmt(value) {
    return value === null || value === undefined ? "n/a" : number.format(value);
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "n/a";
    if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
    if (Math.abs(ms) < 120_000) return `${number.format(ms / 1000)} s`;
    return `${number.format(ms / 60_000)} min`;
  }

  function utc(iso) {
    return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "n/a";
  }

  async function getJson(path) {
    const response = await fetch(path, { cache: "no-store" });
    if (response.status === 404) return null;
    if (!response.ok) {
      throw new Error(`${path} answered ${response.status}`);
    }
    return await response.json();
  }

  function shownIds() {
    const ids = state.chosen ?? state.known.slice(0, SHOWN_DEFAULT);
    return ids.slice(0, SHOWN_MAX);
  }

  function colourOf(id) {
    const index = shownIds().indexOf(id);
    return COLOURS[index < 0 ? 0 : index];
  }

  function renderChoices() {
    const fieldset = $("shown");
    const ids = [...new Set([...state.known, ...(state.chosen ?? [])])];
    $("shown-empty").hidden = ids.length > 0;
    const wanted = new Set(ids);
    for (const label of [...fieldset.querySelectorAll("label")]) {
      if (!wanted.has(label.dataset.id)) label.remove();
    }
    const shown = new Set(shownIds());
    for (const id of ids) {
      let label = [...fieldset.querySelectorAll("label")].find((l) =>
        l.dataset.id === id
      );
      if (!label) {
        label = el("label");
        label.dataset.id = id;
        const box = el("input");
        box.type = "checkbox";
        box.addEventListener("change", () => {
          const current = new Set(shownIds());
          if (box.checked) current.add(id);
          else current.delete(id);
          state.chosen = [...current];
          renderChoices();
          poll();
        });
        label.append(box, el("span", "", "swatch"), el("span", id));
        fieldset.append(label);
      }
      const box = label.querySelector("input");
      box.checked = shown.has(id);
      box.disabled = !box.checked && shown.size >= SHOWN_MAX;
      label.querySelector(".swatch").style.background = box.checked
        ? colourOf(id)
        : "transparent";
    }
  }

  function renderTop(keys) {
    const body = $("top").querySelector("tbody");
    body.replaceChildren();
    if (keys.length === 0) {
      const row = el("tr");
      const cell = el("td", "No window closed yet.", "empty");
      cell.colSpan = 7;
      row.append(cell);
      body.append(row);
      return;
    }
    keys.forEach((key, i) => {
      const row = el("tr");
      const latest = key.latest ?? {};
      row.append(
        el("td", i + 1),
        el("th", key.event_id),
        el("td", fmt(key.count), "num"),
        el("td", fmt(latest.sum), "num"),
        el("td", fmt(latest.min), "num"),
        el("td", fmt(latest.max), "num"),
        el("td", utc(latest.window_end)),
      );
      row.children[1].scope = "row";
      body.append(row);
    });
  }

  /** One x axis (window end, seconds) for every shown id, with gaps as null. */
  function align(series) {
    const xs = [
      ...new Set(series.flatMap((s) => s.windows.map((w) => w.window_end_ms))),
    ].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const column = (s, field) => {
      const values = new Array(xs.length).fill(null);
      for (const w of s.windows) values[index.get(w.window_end_ms)] = w[field];
      return values;
    };
    return {
      count: [
        xs.map((x) => x / 1000),
        ...series.map((s) => column(s, "count")),
      ],
      sum: [xs.map((x) => x / 1000), ...series.map((s) => column(s, "sum"))],
    };
  }

  function chartOptions(ids, yLabel, width) {
    return {
      width,
      height: 260,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true } },
      series: [
        { label: "Window end (UTC)" },
        ...ids.map((id) => ({
          label: id,
          stroke: colourOf(id),
          width: 2,
          points: { show: true, size: 5 },
          // Empty until the pointer is over the chart.
          value: (_, v) => v === null || v === undefined ? "" : fmt(v),
        })),
      ],
      axes: [{}, { label: yLabel, values: (_, ticks) => ticks.map(fmt) }],
    };
  }

  function renderCharts(series) {
    const ids = series.map((s) => s.event_id);
    const data = align(series);
    const key = ids.join("\u0000");
    for (
      const [name, yLabel] of [["count", "count"], ["sum", "sum of value"]]
    ) {
      const box = $(`${name}-chart`);
      const width = Math.max(300, box.clientWidth);
      if (state.charts[name] === null || state.seriesKey !== key) {
        state.charts[name]?.destroy();
        box.replaceChildren();
        state.charts[name] = new uPlot(
          chartOptions(ids, yLabel, width),
          data[name],
          box,
        );
      } else {
        state.charts[name].setData(data[name]);
      }
      const latest = series.map((s) => {
        const last = s.windows[s.windows.length - 1];
        return last
          ? `${s.event_id}: ${fmt(last[name])} (window ending ${
            utc(last.window_end)
          })`
          : `${s.event_id}: no window in range`;
      });
      $(`${name}-summary`).textContent = ids.length === 0
        ? "No event id shown."
        : `Latest ${name === "sum" ? "sum" : "count"} per event id: ${
          latest.join("; ")
        }.`;
    }
    state.seriesKey = key;
  }

  function partitionRow(p) {
    const row = el("tr");
    const lagWarn = (p.consumer_lag_records ?? 0) > 10_000;
    const delayWarn = (p.watermark_delay_ms ?? 0) > 60_000;
    const cells = [
      el("th", `${p.topic}/${p.partition}`),
      el("td", fmt(p.input_rate_per_s), "num"),
      el("td", fmt(p.output_rate_per_s), "num"),
      el("td", fmt(p.consumer_lag_records), lagWarn ? "num warn" : "num"),
      el(
        "td",
        duration(p.watermark_delay_ms),
        delayWarn ? "num warn" : "num",
      ),
      el("td", fmt(p.late_total), "num"),
      el("td", fmt(p.dead_letter_total), "num"),
      el("td", duration(p.last_checkpoint_age_ms), "num"),
      el("td", duration(p.last_checkpoint_duration_ms), "num"),
      el("td", fmt(p.restarts_total), "num"),
    ];
    cells[0].scope = "row";
    row.append(...cells);
    return row;
  }

  const PARTITION_HEADERS = [
    "Partition",
    "In (rec/s)",
    "Out (rec/s)",
    "Lag (records)",
    "Watermark delay",
    "Late",
    "Dead letters",
    "Last checkpoint",
    "Checkpoint took",
    "Restarts",
  ];

  function renderJobs(snapshot) {
    const box = $("jobs");
    box.replaceChildren();
    if (!snapshot || snapshot.jobs.length === 0) {
      box.append(el("p", "No job reported yet.", "empty"));
      return;
    }
    for (const job of snapshot.jobs) {
      const article = el("article", undefined, "job");
      const title = el("h3");
      const id = `job-${job.job}`;
      title.id = id;
      article.setAttribute("aria-labelledby", id);
      title.append(
        el("span", job.job),
        el("span", job.state, `state state-${job.state}`),
        el("span", `restarts: ${fmt(job.restarts_total)}`, "state"),
      );
      article.append(title);
      if (job.error) article.append(el("p", job.error, "warn"));
      const table = el("table");
      const caption = el(
        "caption",
        `${job.job}: partitions`,
        "visually-hidden",
      );
      const head = el("tr");
      PARTITION_HEADERS.forEach((h, i) => {
        const th = el("th", h, i === 0 ? "" : "num");
        th.scope = "col";
        head.append(th);
      });
      const thead = el("thead");
      thead.append(head);
      const tbody = el("tbody");
      for (const p of job.partitions) tbody.append(partitionRow(p));
      if (job.partitions.length === 0) {
        const row = el("tr");
        const cell = el("td", "No partition assigned.", "empty");
        cell.colSpan = PARTITION_HEADERS.length;
        row.append(cell);
        tbody.append(row);
      }
      table.append(caption, thead, tbody);
      const wrap = el("div", undefined, "table-wrap");
      wrap.append(table);
      article.append(wrap);
      box.append(article);
    }
  }

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const keys = await getJson(`/api/analytics/keys?limit=${TOP_LIMIT}`);
      const jobs = await getJson("/api/jobs");
      if (keys === null) {
        $("shown-empty").textContent =
          "Analytics is not served by this process.";
      } else {
        state.known = keys.keys.map((k) => k.event_id);
        renderTop(keys.keys);
        renderChoices();
        const ids = shownIds();
        const from = Date.now() - state.range_ms;
        const series = await Promise.all(ids.map(async (id) => {
          const answer = await getJson(
            `/api/analytics/${encodeURIComponent(id)}/windows?from=${from}`,
          );
          return { event_id: id, windows: answer?.windows ?? [] };
        }));
        renderCharts(series);
      }
      renderJobs(jobs);
      $("status").textContent = `Updated ${
        new Date().toISOString().slice(11, 19)
      } UTC`;
    } catch (error) {
      $("status").textContent = `Cannot update: ${error.message}`;
    } finally {
      polling = false;
    }
  }

  function schedule() {
    clearInterval(state.timer);
    state.timer = state.refresh_ms > 0
      ? setInterval(poll, state.refresh_ms)
      : null;
  }

  $("refresh").addEventListener("change", (event) => {
    state.refresh_ms = Number(event.target.value);
    schedule();
  });
  $("range").addEventListener("change", (event) => {
    state.range_ms = Number(event.target.value);
    poll();
  });
  addEventListener("resize", () => {
    for (const name of ["count", "sum"]) {
      const chart = state.charts[name];
      const box = $(`${name}-chart`);
      if (chart) {
        chart.setSize({ width: Math.max(300, box.clientWidth), height: 260 });
      }
    }
  });
  poll();
  schedule();
})();
