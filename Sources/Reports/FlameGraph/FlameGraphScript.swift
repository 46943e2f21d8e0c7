/// The graph's behaviour: hover details, click to zoom into a frame (within its
/// track), Search to highlight frames matching a regular expression with the
/// share of samples they cover. Frames keep their drawn geometry in data-x/w.
enum FlameGraphScript {
  static let source = #"""

var svg, details, matchedText, unzoomButton, searchButton, frames, fullWidth, left;
var fontSize = 12, fontWidth = 0.59;
function init(evt) {
  svg = document.documentElement;
  details = document.getElementById("details").firstChild;
  matchedText = document.getElementById("matched");
  unzoomButton = document.getElementById("unzoom");
  searchButton = document.getElementById("search");
  frames = Array.prototype.slice.call(document.querySelectorAll("g.f"));
  left = 10;
  fullWidth = parseFloat(svg.getAttribute("width")) - 2 * left;
  frames.forEach(function (g) {
    var r = rect(g);
    g.dataset.x = r.getAttribute("x");
    g.dataset.w = r.getAttribute("width");
    g.addEventListener("click", function () { zoom(g); });
    g.addEventListener("mouseover", function () { details.nodeValue = g.querySelector("title").textContent; });
    g.addEventListener("mouseout", function () { details.nodeValue = " "; });
  });
  unzoomButton.addEventListener("click", unzoom);
  searchButton.addEventListener("click", function () {
    var term = prompt("Search for (regular expression):", "");
    if (term !== null) search(term);
  });
}
function rect(g) { return g.querySelector("rect"); }
function place(g, x, w) {
  var r = rect(g), t = g.querySelector("text"), name = g.dataset.name;
  r.setAttribute("x", x);
  r.setAttribute("width", w);
  t.setAttribute("x", x + 3);
  var room = Math.floor((w - 6) / (fontSize * fontWidth));
  t.textContent = room < 3 ? "" : (name.length <= room ? name : name.substring(0, room - 2) + "..");
}
function zoom(target) {
  var x = parseFloat(target.dataset.x), w = parseFloat(target.dataset.w), depth = +target.dataset.depth;
  var scale = fullWidth / w;
  unzoomButton.classList.remove("hide");
  frames.forEach(function (g) {
    var gx = parseFloat(g.dataset.x), gw = parseFloat(g.dataset.w), gd = +g.dataset.depth;
    g.classList.remove("parent", "hide");
    if (g.dataset.track !== target.dataset.track) { g.classList.add("hide"); return; }
    if (gd < depth) {
      if (gx <= x + 0.0001 && gx + gw >= x + w - 0.0001) { g.classList.add("parent"); place(g, left, fullWidth); }
      else g.classList.add("hide");
    } else if (gx >= x - 0.0001 && gx + gw <= x + w + 0.0001) {
      place(g, left + (gx - x) * scale, gw * scale);
    } else g.classList.add("hide");
  });
}
function unzoom() {
  unzoomButton.classList.add("hide");
  frames.forEach(function (g) {
    g.classList.remove("parent", "hide");
    place(g, parseFloat(g.dataset.x), parseFloat(g.dataset.w));
  });
}
function search(term) {
  var re;
  try { re = new RegExp(term); } catch (e) { alert(e); return; }
  var total = 0, covered = 0, spans = [];
  frames.forEach(function (g) {
    var r = rect(g);
    if (+g.dataset.depth === 0) total += +g.dataset.v;
    if (g.dataset.fill === undefined) g.dataset.fill = r.getAttribute("fill");
    var hit = term !== "" && re.test(g.dataset.name);
    r.setAttribute("fill", hit ? "rgb(230,0,230)" : g.dataset.fill);
    if (hit) spans.push({ t: g.dataset.track, x: parseFloat(g.dataset.x), w: parseFloat(g.dataset.w), v: +g.dataset.v });
  });
  // Count a match only when no matching caller already covers it.
  spans.sort(function (a, b) { return a.t === b.t ? a.x - b.x || b.w - a.w : (a.t < b.t ? -1 : 1); });
  var last = null;
  spans.forEach(function (s) {
    if (last && last.t === s.t && s.x + s.w <= last.x + last.w + 0.0001) return;
    covered += s.v;
    last = s;
  });
  matchedText.textContent = term === "" ? " " : "Matched: " + (total ? (100 * covered / total).toFixed(2) : "0") + "%";
}
"""#
}
