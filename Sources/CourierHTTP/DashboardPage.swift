/// The dashboard the gateway serves at `/`: one self-contained HTML page (no external script, style, font or
/// image), so it works offline and behind any proxy.
///
/// It reads only the gateway's own routes: `GET /v1/queue` and `GET /v1/tasks` once a second, the selected task's
/// `GET /v1/tasks/{id}/events` as a stream (read with `fetch`, so a bearer token can go with it), and
/// `POST /v1/tasks/{id}/cancel` for the cancel button. Throughput and latency are worked out from the newest
/// finished tasks the listing returns, and their history is kept by the page while it is open.
enum DashboardPage {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Courier</title>
        <style>
          :root { --ink: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #3559e0; --ok: #1a7f37;
                  --bad: #c4320a; --warn: #b54708; font-family: system-ui, sans-serif; color: var(--ink); }
          body { margin: 0; background: #f6f7f9; }
          header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.5rem; background: #fff;
                   border-bottom: 1px solid var(--line); }
          header h1 { font-size: 1.15rem; margin: 0; }
          header .queue { color: var(--muted); }
          header .live { margin-left: auto; font-size: .85rem; color: var(--muted); }
          main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; padding: 1rem 1.5rem; }
          section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
          h2 { font-size: .95rem; margin: 0 0 .6rem; }
          .counts { grid-column: 1 / -1; display: flex; flex-wrap: wrap; gap: .6rem; }
          .count { min-width: 7.5rem; padding: .5rem .8rem; border: 1px solid var(--line); border-radius: 6px; }
          .count b { display: block; font-size: 1.4rem; }
          .count span { color: var(--muted); font-size: .8rem; }
          .rates { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }
          .rates svg { width: 100%; height: 70px; display: block; }
          .rates .figure { font-size: 1.2rem; font-weight: 600; }
          .rates .note { color: var(--muted); font-size: .8rem; }
          table { width: 100%; border-collapse: collapse; font-size: .85rem; }
          th, td { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
          td.id { font-family: ui-monospace, monospace; overflow: hidden; text-overflow: ellipsis; max-width: 16rem; }
          tr.task { cursor: pointer; }
          tr.task:hover, tr.selected { background: #eef2ff; }
          .status { font-weight: 600; }
          .status.completed { color: var(--ok); }
          .status.failed, .status.timeout, .status.dead_lettered { color: var(--bad); }
          .status.cancelled { color: var(--warn); }
          .status.running { color: var(--accent); }
          .bar { height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; min-width: 5rem; }
          .bar div { height: 100%; background: var(--accent); transition: width .2s; }
          #detail .bar { height: 12px; margin: .5rem 0; }
          #output { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .85rem; background: #f6f7f9;
                    border: 1px solid var(--line); border-radius: 6px; padding: .6rem; min-height: 6rem;
                    max-height: 22rem; overflow: auto; }
          button { font: inherit; padding: .35rem .9rem; border-radius: 6px; border: 1px solid var(--bad);
                   background: #fff; color: var(--bad); cursor: pointer; }
          button:disabled { opacity: .4; cursor: default; }
          .muted { color: var(--muted); }
          #token { display: none; gap: .5rem; align-items: center; }
        </style>
        </head>
        <body>
        <header>
          <h1>Courier</h1><span class="queue" id="queue"></span>
          <form id="token"><input id="token-value" type="password" placeholder="bearer token"><button>Use</button></form>
          <span class="live" id="live">connecting…</span>
        </header>
        <main>
          <section class="counts" id="counts" aria-label="queue counts"></section>
          <section class="rates">
            <div><h2>Throughput</h2><div class="figure" id="throughput">–</div><svg id="throughput-chart"></svg>
              <div class="note">tasks finished a second, over the last minute of the newest finished tasks</div></div>
            <div><h2>Latency (submitted → finished)</h2><div class="figure" id="latency">–</div>
              <svg id="latency-chart"></svg><div class="note">p50 / p95 of the newest finished tasks</div></div>
          </section>
          <section>
            <h2>Recent tasks</h2>
            <table><thead><tr><th>task</th><th>status</th><th>attempt</th><th>progress</th><th>submitted</th></tr></thead>
              <tbody id="tasks"></tbody></table>
          </section>
          <section id="detail">
            <h2>Task <span id="detail-id" class="muted">— select one</span></h2>
            <div>status <span id="detail-status" class="status">–</span>, attempt <span id="detail-attempt">–</span></div>
            <div class="bar"><div id="detail-bar" style="width: 0%"></div></div>
            <div id="detail-progress" class="muted">&nbsp;</div>
            <h2>Output</h2>
            <div id="output"></div>
            <p><button id="cancel" disabled>Cancel</button> <span id="cancel-note" class="muted"></span></p>
          </section>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        let token = sessionStorage.getItem("courier-token") || "";
        let selected = null, stream = null, history = [], shownTasks = "";
        const headers = () => token ? { Authorization: "Bearer " + token } : {};
        const text = (value) => document.createTextNode(value == null ? "" : String(value));

        async function get(path) {
          const response = await fetch(path, { headers: headers() });
          if (response.status === 401) { $("token").style.display = "flex"; throw new Error("a bearer token is needed"); }
          if (!response.ok) throw new Error(path + ": " + response.status);
          return response.json();
        }

        function showCounts(counts) {
          $("queue").textContent = "queue " + counts.queue;
          const entries = [["pending", counts.pending], ["running", counts.running]]
            .concat(Object.entries(counts.finished).sort());
          const box = $("counts");
          box.replaceChildren(...entries.map(([name, value]) => {
            const cell = document.createElement("div");
            cell.className = "count";
            cell.dataset.name = name;
            const number = document.createElement("b");
            number.append(text(value));
            const label = document.createElement("span");
            label.append(text(name.replace("_", " ")));
            cell.append(number, label);
            return cell;
          }));
        }

        function progressBar(fraction) {
          const bar = document.createElement("div");
          bar.className = "bar";
          const fill = document.createElement("div");
          fill.style.width = Math.round((fraction || 0) * 100) + "%";
          bar.append(fill);
          return bar;
        }

        function showTasks(tasks) {
          const current = tasks.find((task) => task.task_id === selected);
          if (current) showDetail(current);
          // Rows are rebuilt only when something in them changed, so a row is not replaced under a click.
          const shown = JSON.stringify(tasks.map((task) => [task.task_id, task.status, task.attempt,
            task.progress && task.progress.fraction, task.task_id === selected]));
          if (shown === shownTasks) return;
          shownTasks = shown;
          $("tasks").replaceChildren(...tasks.map((task) => {
            const row = document.createElement("tr");
            row.className = "task" + (task.task_id === selected ? " selected" : "");
            row.dataset.id = task.task_id;
            row.dataset.status = task.status;
            const cells = [task.task_id, task.status, task.attempt || "", null,
                           task.submitted_at ? new Date(task.submitted_at).toLocaleTimeString() : ""];
            cells.forEach((value, index) => {
              const cell = document.createElement("td");
              if (index === 0) cell.className = "id";
              if (index === 1) cell.className = "status " + task.status;
              if (index === 3) {
                const fraction = task.status === "completed" ? 1 : task.progress && task.progress.fraction;
                cell.append(progressBar(fraction));
              } else cell.append(text(value));
              row.append(cell);
            });
            return row;
          }));
        }

        $("tasks").addEventListener("click", (event) => {
          const row = event.target.closest("tr.task");
          if (row) select(row.dataset.id);
        });

        function percentile(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]; }
        const seconds = (value) => value < 1 ? Math.round(value * 1000) + " ms" : value.toFixed(2) + " s";

        function showRates(finished) {
          const now = Date.now();
          const recent = finished.filter((task) => task.finished_at && now - Date.parse(task.finished_at) < 60000);
          const latencies = finished.filter((task) => task.finished_at && task.submitted_at)
            .map((task) => (Date.parse(task.finished_at) - Date.parse(task.submitted_at)) / 1000).sort((a, b) => a - b);
          let rate = recent.length / 60;
          if (recent.length === finished.length && recent.length > 1) {
            const oldest = Math.min(...recent.map((task) => Date.parse(task.finished_at)));
            rate = recent.length / Math.max(1, (now - oldest) / 1000);
          }
          const p50 = latencies.length ? percentile(latencies, 0.5) : null;
          const p95 = latencies.length ? percentile(latencies, 0.95) : null;
          history.push({ at: now, rate, p50, p95 });
          history = history.filter((sample) => now - sample.at < 300000);
          $("throughput").textContent = rate.toFixed(rate < 10 ? 1 : 0) + " /s";
          $("latency").textContent = p50 == null ? "–" : seconds(p50) + " / " + seconds(p95);
          chart($("throughput-chart"), history.map((sample) => sample.rate));
          chart($("latency-chart"), history.map((sample) => sample.p95 || 0));
        }

        function chart(svg, values) {
          const width = svg.clientWidth || 300, height = 70, top = Math.max(...values, 1e-9);
          const step = width / Math.max(1, values.length - 1);
          const points = values.map((value, index) =>
            (index * step).toFixed(1) + "," + (height - 4 - (value / top) * (height - 8)).toFixed(1)).join(" ");
          svg.setAttribute("viewBox", "0 0 " + width + " " + height);
          svg.innerHTML = '<polyline fill="none" stroke="#3559e0" stroke-width="2" points="' + points + '"/>';
        }

        function showDetail(task) {
          $("detail-status").textContent = task.status;
          $("detail-status").className = "status " + task.status;
          $("detail-attempt").textContent = task.attempt || "–";
          if (task.progress) showProgress(task.progress);
          if (task.status === "completed") $("detail-bar").style.width = "100%";
          const finished = !["pending", "running"].includes(task.status);
          $("cancel").disabled = finished;
        }

        function showProgress(progress) {
          if (progress.fraction != null) $("detail-bar").style.width = Math.round(progress.fraction * 100) + "%";
          const parts = [];
          if (progress.message) parts.push(progress.message);
          if (progress.counter != null) parts.push("#" + progress.counter);
          if (progress.fraction != null) parts.push(Math.round(progress.fraction * 100) + " %");
          $("detail-progress").textContent = parts.join(" · ") || "\\u00a0";
        }

        function select(id) {
          if (stream) stream.abort();
          selected = id;
          $("detail-id").textContent = id;
          $("detail-id").className = "";
          $("output").textContent = "";
          $("detail-bar").style.width = "0%";
          $("detail-progress").textContent = "\\u00a0";
          $("cancel-note").textContent = "";
          for (const row of document.querySelectorAll("tr.task")) row.classList.toggle("selected", row.dataset.id === id);
          follow(id, 0);
        }

        // Follows a task's event stream, resuming after the last event id when the connection drops.
        async function follow(id, after) {
          const controller = new AbortController();
          stream = controller;
          let last = after;
          try {
            const response = await fetch("/v1/tasks/" + encodeURIComponent(id) + "/events",
              { headers: Object.assign({ "Last-Event-ID": String(last) }, headers()), signal: controller.signal });
            if (!response.ok) return;
            const reader = response.body.getReader();
            const decoder = new TextDecoder();
            let buffer = "";
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buffer += decoder.decode(value, { stream: true });
              let end;
              while ((end = buffer.indexOf("\\n\\n")) >= 0) {
                const block = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                const event = { name: "message", data: "", id: null };
                for (const line of block.split("\\n")) {
                  const colon = line.indexOf(":");
                  if (colon <= 0) continue;
                  const field = line.slice(0, colon), data = line.slice(colon + 1).replace(/^ /, "");
                  if (field === "event") event.name = data;
                  else if (field === "data") event.data += (event.data ? "\\n" : "") + data;
                  else if (field === "id") event.id = data;
                }
                if (event.id != null) last = Number(event.id);
                if (!event.data || selected !== id) continue;
                const data = JSON.parse(event.data);
                if (event.name === "chunk") $("output").append(text(data.text != null ? data.text : "[" + data.base64 + "]"));
                else if (event.name === "attempt") {
                  if (data.attempt > 1) $("output").replaceChildren(text("— attempt " + data.attempt + " —\\n"));
                  $("detail-attempt").textContent = data.attempt;
                  $("detail-status").textContent = "running";
                  $("detail-status").className = "status running";
                } else if (event.name === "progress") showProgress(data);
                else if (event.name === "gap") $("output").append(text("[… events " + data.after + "–" + data.through + " trimmed …]"));
                else if (event.name === "result") { showDetail(data); if (data.error) $("output").append(text("\\n" + data.error)); return; }
              }
            }
          } catch (error) {
            if (controller.signal.aborted) return;
          }
          if (selected === id && stream === controller) setTimeout(() => { if (selected === id) follow(id, last); }, 1000);
        }

        $("cancel").addEventListener("click", async () => {
          if (!selected) return;
          const response = await fetch("/v1/tasks/" + encodeURIComponent(selected) + "/cancel",
            { method: "POST", headers: headers() });
          $("cancel-note").textContent = response.ok ? "cancelled" : "could not cancel (" + response.status + ")";
          refresh();
        });

        $("token").addEventListener("submit", (event) => {
          event.preventDefault();
          token = $("token-value").value;
          sessionStorage.setItem("courier-token", token);
          $("token").style.display = "none";
          refresh();
        });

        async function refresh() {
          try {
            const [counts, listing, finished] = await Promise.all([
              get("/v1/queue"), get("/v1/tasks?limit=50"), get("/v1/tasks?status=finished&limit=200")]);
            showCounts(counts);
            showTasks(listing.tasks);
            showRates(finished.tasks);
            $("live").textContent = "updated " + new Date().toLocaleTimeString();
          } catch (error) {
            $("live").textContent = String(error.message || error);
          }
        }
        refresh();
        setInterval(refresh, 1000);
        </script>
        </body>
        </html>
        """
}
