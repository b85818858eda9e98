// The report's inline CSS and scripts (see html.h). Written here, no libraries.
#include "reports/html.h"

namespace chaos::reports {

const char kReportCss[] = R"CSS(
body{font-family:system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;margin:0 24px 40px;
  color:#1d1d1f;background:#fff;font-size:14px}
h1{margin:0;font-size:26px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:12px 0 6px}
.cycle .edge{stroke:#555;stroke-width:1.5}.cycle .edge.rw{stroke:#c62828;stroke-dasharray:5 3}
.cycle .edge-label{font-size:12px;fill:#333}.cycle .txn{fill:#fff;stroke:#333;stroke-width:1.5}
.anomaly-case{border-left:3px solid #c62828;padding:2px 12px;margin:8px 0}
.top{display:flex;align-items:center;gap:28px;padding:18px 0 10px;border-bottom:6px solid #999}
.top.valid{border-color:#1a7f37}.top.invalid{border-color:#c62828}.top.unknown{border-color:#b26a00}
.verdict{font-size:64px;font-weight:800;letter-spacing:2px;padding:4px 22px;border-radius:10px;color:#fff}
.verdict.valid{background:#1a7f37}.verdict.invalid{background:#c62828}.verdict.unknown{background:#b26a00}
.sub{color:#555;margin-top:4px}
.cause{font-size:17px;padding:10px 14px;border-radius:6px;margin:12px 0}
.cause.invalid{background:#fdecea;color:#8a1010}.cause.unknown{background:#fff4e0;color:#6b4000}
.cause.valid{background:#e8f5ec}
.first{display:grid;grid-template-columns:minmax(280px,420px) 1fr;gap:24px;margin-top:10px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #eee;
  text-align:left;vertical-align:top}
th{background:#f6f6f6}.config th{width:110px}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.sum td{font-weight:bold;border-top:2px solid #ccc}
pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
.badge{padding:1px 8px;border-radius:8px;color:#fff;font-weight:bold}
.badge.valid{background:#1a7f37}.badge.invalid{background:#c62828}.badge.unknown{background:#b26a00}
.two{display:grid;grid-template-columns:1fr 1fr;gap:24px}
.small{color:#666;font-size:12px}.notes{color:#8a5a00}
.files{columns:3;padding-left:18px;margin:0}
svg.chart{width:100%;max-width:1200px;height:auto;display:block}
svg.cx{width:100%;height:auto;display:block}
.cxwrap{display:grid;grid-template-columns:repeat(auto-fit,minmax(640px,1fr));gap:18px}
.why{font-size:16px;font-weight:bold;color:#8a1010}
.step{display:inline-block;background:#eef4fb;border-radius:4px;padding:1px 5px;margin:1px}
td.bad{color:#b00;font-weight:bold}
#chaos-errors{background:#fdd;color:#800;border:2px solid #c00}
.tlbar{margin:6px 0}.tlbar button{margin-right:4px}
#tl-wrap{position:relative;border:1px solid #ccc}
#timeline{display:block;width:100%;cursor:grab}
#tl-tip{position:absolute;pointer-events:none;background:rgba(30,30,30,.92);color:#fff;
  padding:5px 8px;border-radius:4px;font-size:12px;white-space:pre;z-index:2}
.runs td{white-space:nowrap}.runs tr.valid td:first-child{border-left:8px solid #1a7f37}
.runs tr.invalid td:first-child{border-left:8px solid #c62828}
.runs tr.unknown td:first-child{border-left:8px solid #b26a00}
)CSS";

const char kErrorTrapJs[] = R"JS(
(function(){
  var errs = [];
  function show(){
    var e = document.getElementById('chaos-errors');
    if (e && errs.length) { e.textContent = errs.join('\n'); e.hidden = false; }
  }
  function rec(m){ errs.push(String(m)); show(); }
  window.addEventListener('error', function(ev){
    rec('error: ' + ev.message + ' at ' + ev.filename + ':' + ev.lineno);
  });
  window.addEventListener('unhandledrejection', function(ev){ rec('unhandled rejection: ' + ev.reason); });
  var ce = console.error.bind(console);
  console.error = function(){ rec('console.error: ' + Array.prototype.join.call(arguments, ' ')); ce.apply(null, arguments); };
  document.addEventListener('DOMContentLoaded', show);
})();
)JS";

const char kTimelineJs[] = R"JS(
(function(){
'use strict';
function el(id){ return document.getElementById(id); }
function blob(id, T){
  var s = atob(el(id).textContent.trim()), n = s.length, u = new Uint8Array(n);
  for (var i = 0; i < n; i++) u[i] = s.charCodeAt(i);
  return new T(u.buffer);
}
var meta = JSON.parse(el('d-meta').textContent);
var N = meta.n;
var start = blob('d-start', Float32Array), dur = blob('d-dur', Float32Array);
var inv = blob('d-inv', Int32Array), comp = blob('d-comp', Int32Array);
var laneP = blob('d-lane', Uint16Array), type = blob('d-type', Uint8Array);
var fidx = blob('d-f', Uint8Array), nodeI = blob('d-node', Uint8Array);
// The decoded arrays hold the data now: drop the text (memory, DOM size).
['d-start', 'd-dur', 'd-inv', 'd-comp', 'd-lane', 'd-type', 'd-f', 'd-node'].forEach(function(id){
  el(id).textContent = '';
});
var vals = null;  // parsed on first hover: the page is interactive sooner
function val(i){ if (!vals) vals = JSON.parse(el('d-vals').textContent); return vals[i]; }
var COLORS = ['#3d8fe0', '#e0508e', '#f0a020', '#9a9a9a'];
var TYPES = ['ok', 'fail', 'info', 'pending'];
var END = Math.max(meta.end, 1e-6);
var cv = el('timeline'), ctx = cv.getContext('2d'), tip = el('tl-tip');
var HEAD = 34, LEFT = 64;
var v0 = 0, v1 = END;
var mode = 'process', names = [], lanes = [], maxDur = [], longs = [];
var highlight = new Int32Array(meta.highlight);

// Per-lane lists of op ids sorted by start; ops that never completed (info,
// pending) run to the end and are kept apart so the scan stays short.
function buildLanes(){
  var laneOf, count;
  if (mode === 'process') {
    names = meta.lanes.slice();
    laneOf = function(i){ return laneP[i]; };
  } else {
    names = meta.nodes.slice();
    var none = false;
    for (var i = 0; i < N && !none; i++) if (nodeI[i] === 255) none = true;
    if (none) names.push('(no node)');
    laneOf = function(i){ return nodeI[i] === 255 ? meta.nodes.length : nodeI[i]; };
  }
  if (names.length === 0) names = ['(none)'];
  count = new Int32Array(names.length);
  for (var i = 0; i < N; i++) count[laneOf(i)]++;
  lanes = []; maxDur = []; longs = [];
  for (var l = 0; l < names.length; l++) { lanes.push(new Int32Array(count[l])); maxDur.push(0); }
  var fill = new Int32Array(names.length);
  for (var i = 0; i < N; i++) {
    var l = laneOf(i);
    lanes[l][fill[l]++] = i;
    if (type[i] >= 2) longs.push(i); else if (dur[i] > maxDur[l]) maxDur[l] = dur[i];
  }
  for (var l = 0; l < lanes.length; l++) {
    var a = lanes[l], sorted = true;
    for (var k = 1; k < a.length; k++) if (start[a[k]] < start[a[k - 1]]) { sorted = false; break; }
    if (!sorted) a.sort(function(x, y){ return start[x] - start[y]; });
  }
}
function lowerBound(a, t){  // first k with start[a[k]] >= t
  var lo = 0, hi = a.length;
  while (lo < hi) { var m = (lo + hi) >> 1; if (start[a[m]] < t) lo = m + 1; else hi = m; }
  return lo;
}
function laneOfOp(i){
  if (mode === 'process') return laneP[i];
  return nodeI[i] === 255 ? meta.nodes.length : nodeI[i];
}
function yOf(t){ return HEAD + (t - v0) / (v1 - v0) * (cv.height - HEAD); }
function tOf(y){ return v0 + (y - HEAD) / (cv.height - HEAD) * (v1 - v0); }
function fmtT(t, span){
  if (!meta.timed) return 'pos ' + Math.round(t);
  var d = span < 10 ? 3 : span < 1000 ? 2 : span < 100000 ? 1 : 0;
  return (t / 1000).toFixed(d + 1) + ' s';
}
function laneW(){ return (cv.width - LEFT) / names.length; }

function draw(){
  var W = cv.width, H = cv.height, lw = laneW();
  ctx.clearRect(0, 0, W, H);
  ctx.font = '10px sans-serif';
  // Fault windows: bands across every column, labelled on the left.
  meta.faults.forEach(function(f){
    var a = Math.max(HEAD, yOf(f.start)), b = Math.min(H, yOf(f.end));
    if (b < HEAD || a > H) return;
    ctx.fillStyle = f.color; ctx.globalAlpha = 0.12;
    ctx.fillRect(LEFT, a, W - LEFT, Math.max(1, b - a));
    ctx.globalAlpha = 1;
    ctx.fillText(f.label.slice(0, 60), LEFT + 3, Math.max(a + 10, HEAD + 10));
  });
  // Time axis.
  var span = v1 - v0, step = Math.pow(10, Math.floor(Math.log10(span / 8)));
  if (span / step > 16) step *= 5; else if (span / step > 8) step *= 2;
  ctx.fillStyle = '#333'; ctx.strokeStyle = '#eee';
  for (var t = Math.ceil(v0 / step) * step, k = 0; t <= v1 && k < 40; t += step, k++) {
    var y = yOf(t);
    ctx.fillText(fmtT(t, span), 2, y + 3);
    ctx.beginPath(); ctx.moveTo(LEFT, y); ctx.lineTo(W, y); ctx.stroke();
  }
  // Column headers.
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, HEAD);
  ctx.fillStyle = '#333';
  var every = Math.max(1, Math.ceil(26 / lw));
  for (var l = 0; l < names.length; l += every) {
    ctx.fillText(names[l].slice(0, Math.max(2, Math.floor(lw * every / 6))), LEFT + l * lw + 2, HEAD - 8);
  }
  ctx.save(); ctx.beginPath(); ctx.rect(LEFT, HEAD, W - LEFT, H - HEAD); ctx.clip();
  var gap = lw > 6 ? 1 : 0;
  // Completed ops: per column, only those on screen; ops that land in the
  // same pixel rows as the one before them (same type) are not drawn again.
  for (var l = 0; l < lanes.length; l++) {
    var a = lanes[l], x = LEFT + l * lw + gap, w = Math.max(1, lw - 2 * gap);
    var lastBottom = -1, lastType = -1;
    for (var k = lowerBound(a, v0 - maxDur[l]); k < a.length; k++) {
      var i = a[k];
      if (start[i] > v1) break;
      var ty = type[i];
      if (ty >= 2) continue;
      var y0 = Math.floor(yOf(start[i])), y1 = Math.max(y0 + 1, Math.ceil(yOf(start[i] + dur[i])));
      if (y1 <= lastBottom && ty === lastType) continue;
      ctx.fillStyle = COLORS[ty];
      ctx.fillRect(x, y0, w, y1 - y0 > 3 ? y1 - y0 - 1 : y1 - y0);
      lastBottom = y1; lastType = ty;
    }
  }
  // Info ops (to their completion) and ops never completed (to the end), faded.
  ctx.globalAlpha = 0.45;
  for (var j = 0; j < longs.length; j++) {
    var i = longs[j];
    if (start[i] > v1 || start[i] + dur[i] < v0) continue;
    var l = laneOfOp(i), y0 = Math.floor(yOf(start[i]));
    ctx.fillStyle = COLORS[type[i]];
    ctx.fillRect(LEFT + l * lw + gap, y0, Math.max(1, lw - 2 * gap), Math.max(2, yOf(start[i] + dur[i]) - y0));
  }
  ctx.globalAlpha = 1;
  // The counterexample's ops, outlined.
  ctx.strokeStyle = '#000'; ctx.lineWidth = 2;
  for (var j = 0; j < highlight.length; j++) {
    var i = highlight[j], l = laneOfOp(i), y0 = yOf(start[i]);
    var y1 = type[i] >= 2 ? Math.min(H, yOf(start[i] + dur[i])) : yOf(start[i] + dur[i]);
    ctx.strokeRect(LEFT + l * lw + 1, y0, Math.max(3, lw - 2), Math.max(4, y1 - y0));
  }
  ctx.lineWidth = 1;
  ctx.restore();
  el('tl-range').textContent = fmtT(v0, span) + ' – ' + fmtT(v1, span) + ' · ' + N + ' ops';
}

var pending = false;
function redraw(){ if (!pending) { pending = true; requestAnimationFrame(function(){ pending = false; draw(); }); } }
function resize(){
  var w = Math.max(320, Math.floor(el('tl-wrap').clientWidth || 960));
  if (cv.width !== w) cv.width = w;
  cv.height = Math.max(420, Math.min(900, Math.floor(window.innerHeight * 0.8)));
}
function zoom(factor, at){
  var span = Math.max((v1 - v0) * factor, END * 1e-7, 1e-4);
  var frac = (at - v0) / (v1 - v0);
  v0 = at - frac * span; v1 = v0 + span;
  redraw();
}
function opAt(x, y){
  var l = Math.floor((x - LEFT) / laneW());
  if (l < 0 || l >= lanes.length || y < HEAD) return -1;
  var t = tOf(y), slack = (v1 - v0) / (cv.height - HEAD) * 2;
  var a = lanes[l], k = lowerBound(a, t + slack) - 1;
  for (var s = 0; k >= 0 && s < 256; k--, s++) {
    var i = a[k];
    if (start[i] - slack <= t && t <= start[i] + dur[i] + slack) return i;
  }
  return -1;
}
function describe(i){
  var s = '#' + inv[i] + (comp[i] >= 0 ? '–#' + comp[i] : ' (never completed)');
  s += '\nprocess ' + meta.lanes[laneP[i]];
  if (nodeI[i] !== 255) s += ' on ' + meta.nodes[nodeI[i]];
  s += '\n' + TYPES[type[i]] + ' ' + meta.fs[fidx[i]] + ' ' + val(i);
  s += '\nat ' + fmtT(start[i], 1);
  if (type[i] < 2 && meta.timed) s += ', took ' + dur[i].toFixed(3) + ' ms';
  return s;
}
var drag = null;
cv.addEventListener('wheel', function(ev){
  ev.preventDefault();
  zoom(Math.exp(ev.deltaY * 0.0015), tOf(ev.offsetY));
}, {passive: false});
cv.addEventListener('mousedown', function(ev){ drag = {y: ev.clientY, v0: v0, v1: v1}; cv.style.cursor = 'grabbing'; });
window.addEventListener('mouseup', function(){ drag = null; cv.style.cursor = 'grab'; });
cv.addEventListener('mousemove', function(ev){
  if (drag) {
    var dt = (ev.clientY - drag.y) / (cv.height - HEAD) * (drag.v1 - drag.v0);
    v0 = drag.v0 - dt; v1 = drag.v1 - dt; tip.hidden = true; redraw(); return;
  }
  var i = opAt(ev.offsetX, ev.offsetY);
  if (i < 0) { tip.hidden = true; return; }
  tip.textContent = describe(i);
  tip.hidden = false;
  tip.style.left = Math.min(ev.offsetX + 14, cv.clientWidth - 260) + 'px';
  tip.style.top = (ev.offsetY + 14) + 'px';
});
cv.addEventListener('mouseleave', function(){ tip.hidden = true; });
el('tl-in').onclick = function(){ zoom(0.5, (v0 + v1) / 2); };
el('tl-out').onclick = function(){ zoom(2, (v0 + v1) / 2); };
el('tl-reset').onclick = function(){ v0 = 0; v1 = END; redraw(); };
el('tl-lanes').onchange = function(ev){ mode = ev.target.value; buildLanes(); redraw(); };
var show = el('cx-show');
if (show && highlight.length) {
  show.onclick = function(){
    var lo = Infinity, hi = -Infinity;
    for (var j = 0; j < highlight.length; j++) {
      var i = highlight[j];
      lo = Math.min(lo, start[i]);
      hi = Math.max(hi, type[i] >= 2 ? start[i] : start[i] + dur[i]);
    }
    var pad = Math.max((hi - lo) * 0.3, 1e-3);
    v0 = lo - pad; v1 = hi + pad; redraw();
    el('timeline-section').scrollIntoView();
  };
}
window.addEventListener('resize', function(){ resize(); redraw(); });
// Crashed processes are replaced by new ones: with many, one column per node reads better.
if (meta.lanes.length > 64 && meta.nodes.length) { mode = 'node'; el('tl-lanes').value = 'node'; }
buildLanes();
resize();
draw();
document.body.setAttribute('data-ready-ms', performance.now().toFixed(0));
})();
)JS";

}  // namespace chaos::reports
