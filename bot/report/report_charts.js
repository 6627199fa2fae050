// Builds every plot of a hedgebot HTML report with uPlot (inlined before this script): drag to zoom on time,
// double-click to zoom back out, the values under the cursor in the legend, marks as vertical lines. UTC throughout.
(function () {
  "use strict";
  var formats = {
    money: function (v) {
      var whole = Math.abs(v - Math.round(v)) < 1e-9;
      return v.toLocaleString("en-US", { minimumFractionDigits: whole ? 0 : 2, maximumFractionDigits: whole ? 0 : 2 });
    },
    percent: function (v) { return (v * 100).toPrecision(3) + "%"; },
    plain: function (v) { return v.toFixed(2); }
  };

  function marksPlugin(marks) {
    return {
      hooks: {
        draw: function (u) {
          var ctx = u.ctx;
          ctx.save();
          ctx.lineWidth = 1.5;
          ctx.setLineDash([4, 3]);
          marks.forEach(function (mark) {
            var x = u.valToPos(mark.t, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) { return; }
            ctx.strokeStyle = mark.color;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          });
          ctx.restore();
        }
      }
    };
  }

  // The marks within a few pixels of the cursor: a mark is a thin line, hovering it names it.
  function marksNear(u, marks) {
    return marks.filter(function (m) { return Math.abs(u.valToPos(m.t, "x") - u.cursor.left) <= 6; })
      .map(function (m) { return m.label; });
  }

  function build(figure) {
    var holder = figure.querySelector(".chart");
    var block = figure.querySelector("script.plot-data");
    if (!holder || !block) { return; }
    var spec = JSON.parse(block.textContent);
    var format = formats[spec.format] || formats.plain;
    var marks = spec.marks || [];
    var value = function (u, v) { return v == null ? "–" : format(v); };
    var series = [{ label: "UTC", value: "{YYYY}-{MM}-{DD} {HH}:{mm}" }].concat(spec.series.map(function (s) {
      return { label: s.label, stroke: s.color, width: 1.6, dash: s.dash ? [6, 4] : undefined, value: value };
    }));
    var options = {
      width: Math.max(320, holder.clientWidth || 940),
      height: 300,
      scales: { x: { time: true } },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      series: series,
      axes: [{ stroke: "#444" }, { stroke: "#444", size: 84, values: function (u, ticks) { return ticks.map(format); } }],
      plugins: [marksPlugin(marks)],
      hooks: {
        setCursor: [function (u) {
          if (!marks.length || u.cursor.left == null || u.cursor.left < 0) { return; }
          figure.querySelector(".marks").textContent = marksNear(u, marks).join(" · ");
        }]
      }
    };
    figure.chart = new uPlot(options, spec.data, holder);  // for a reader's console (and the browser test)
    figure.setAttribute("data-points", String(spec.data[0].length));
    figure.setAttribute("data-drawn", "true");
  }

  Array.prototype.forEach.call(document.querySelectorAll("figure[data-plot]"), build);
})();
