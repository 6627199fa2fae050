"""The sweep's page: every trial on two charts (variance reduction against cost, and against trades), the
frontier drawn over them, and the table of trials. One self-contained file that opens offline.

The charts are drawn by uPlot, the chart library the dashboard serves (bot/control/static/vendor/uplot), copied
into the page with the page's own script, as the backtest report does (bot/report/charts.py: its plots are time
series, these are scatters); a Content-Security-Policy allows exactly those scripts and styles (by their
SHA-256) and nothing from any network. Pure but for reading the vendored files.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.report.charts import UPLOT  # the one vendored copy, which the dashboard serves
from bot.research.frontier import frontier

if TYPE_CHECKING:
    from bot.research.trials import TrialResult


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin-top: 16px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.frontier td { font-weight: 600; }
figure { margin: 16px 0; }
"""

_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("sweep-data").textContent);
  function chart(id, key, label) {
    var order = data.trials.map(function (t, i) { return i; });
    order.sort(function (a, b) { return data.trials[a][key] - data.trials[b][key]; });
    var xs = [], all = [], front = [];
    order.forEach(function (i) {
      var t = data.trials[i];
      xs.push(t[key]);
      all.push(t.variance_reduction);
      front.push(data.frontier.indexOf(t.trial) >= 0 ? t.variance_reduction : null);
    });
    var opts = {
      width: 900, height: 320, title: "variance reduction against " + label,
      scales: { x: { time: false } },
      axes: [{ label: label }, { label: "variance reduction" }],
      series: [
        { label: label },
        { label: "trial", stroke: "#8a8a8a", paths: function () { return null; }, points: { show: true, size: 6 } },
        { label: "frontier", stroke: "#1f5fbf", width: 2, spanGaps: true, points: { show: true, size: 8 } }
      ]
    };
    new uPlot(opts, [xs, all, front], document.getElementById(id));
  }
  chart("by-cost", "cost", "cost (fees + slippage)");
  chart("by-trades", "trades", "trades");
})();
"""


def render_frontier(results: Sequence[TrialResult], *, title: str, uplot_dir: Path = UPLOT) -> str:
    """The page of a sweep's results."""
    front = frontier(results)
    data = {"trials": [r.as_json() for r in results], "frontier": [r.index for r in front]}
    library = (uplot_dir / "uPlot.iife.min.js").read_text(encoding="utf-8")
    css = (uplot_dir / "uPlot.min.css").read_text(encoding="utf-8")
    scripts, styles = [library, _SCRIPT], [css, _STYLE]
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_hash(text) for text in scripts),
            "style-src " + " ".join(_hash(text) for text in styles),
        ]
    )
    marked = {r.index for r in front}
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
            f"<title>{escape(title)}</title>",
            *(f"<style>{text}</style>" for text in styles),
            "</head><body>",
            f"<h1>{escape(title)}</h1>",
            f"<p>{len(results)} trials; {len(front)} on the frontier (no other trial reduces variance more for"
            " no more cost and no more trades), in bold below and drawn in blue.</p>",
            '<figure id="by-cost" data-plot="cost"></figure>',
            '<figure id="by-trades" data-plot="trades"></figure>',
            _table(results, marked),
            f'<script type="application/json" id="sweep-data">{_json_in_html(data)}</script>',
            *(f"<script>{text}</script>" for text in scripts),
            "</body></html>",
        ]
    )


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _json_in_html(data: Any) -> str:
    """JSON that cannot end its <script> element early."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _table(results: Sequence[TrialResult], marked: set[int]) -> str:
    keys = list(dict.fromkeys(key for r in results for key, _ in r.overrides))
    head = ["trial", *keys, "period", "variance reduction", "drawdown reduction", "cost", "funding", "trades", "P&L"]
    rows = ["<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in results:
        values = dict(r.overrides)
        cells = [
            str(r.index),
            *(escape(str(values.get(key, ""))) for key in keys),
            f"{r.start} → {r.end}",
            f"{r.variance_reduction:.4f}",
            f"{r.drawdown_reduction:.4f}",
            f"{r.cost:,.2f}",
            f"{r.funding:+,.2f}",
            str(r.trades),
            f"{r.pnl:,.2f}",
        ]
        css = ' class="frontier"' if r.index in marked else ""
        rows.append(f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)
