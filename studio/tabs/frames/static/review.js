/* Frame review viewer: stepping and scrubbing happen in the browser.
 *
 * The frame index is held here; frames are fetched by index from the checked
 * route /api/v1/review/<id>/frame/<n> (with the signed link the tab's Gradio
 * event made after checking the owner), kept in a small cache and prefetched
 * around the cursor, so fast arrow presses never get lost. Marks (F, L) and
 * Next (N) are Gradio events: the cursor is written into #frames-cursor first.
 * Keys work only while the Review panel is visible and never while typing.
 */
(function () {
  if (window.__framesReview) return;
  window.__framesReview = true;
  var PREFETCH = 6, CACHE_MAX = 160;
  var S = {video: null, token: '', n: 0, index: 0, times: [], cache: new Map(), corner: null};

  function $(sel) { return document.querySelector(sel); }
  function field(id) { return document.querySelector('#' + id + ' textarea, #' + id + ' input'); }
  function setField(id, value) {
    var el = field(id);
    if (!el || el.value === String(value)) return;
    el.value = String(value);
    el.dispatchEvent(new Event('input', {bubbles: true}));
  }
  function url(i) {
    return 'api/v1/review/' + encodeURIComponent(S.video) + '/frame/' + i + '?max_side=720&t=' +
      encodeURIComponent(S.token);
  }
  function fetchFrame(i) {
    if (i < 0 || i >= S.n || S.cache.has(i)) return;
    var img = new Image();
    img.decoding = 'async';
    img.src = url(i);
    S.cache.set(i, img);
    if (S.cache.size > CACHE_MAX) {  // drop the frames furthest from the cursor
      var far = Array.from(S.cache.keys()).sort(function (a, b) {
        return Math.abs(b - S.index) - Math.abs(a - S.index); });
      far.slice(0, S.cache.size - CACHE_MAX).forEach(function (k) { S.cache.delete(k); });
    }
  }
  function ms(i) { return S.times.length > i ? (S.times[i] * 1000).toFixed(1) : '—'; }
  function show(i) {
    var v = $('#frames-viewer');
    if (!v || !S.video || !S.n) return;
    S.index = Math.max(0, Math.min(S.n - 1, i | 0));
    v.dataset.index = String(S.index);
    fetchFrame(S.index);
    var img = $('#frames-img');
    if (img) img.src = S.cache.get(S.index).src;
    var pos = $('#frames-pos');
    if (pos) pos.textContent = 'Frame ' + S.index + ' at ' + ms(S.index) + ' ms · ' + S.n + ' frames';
    var scrub = $('#frames-scrub');
    if (scrub && +scrub.value !== S.index) scrub.value = String(S.index);
    setField('frames-cursor', S.index);
    for (var d = 1; d <= PREFETCH; d++) { fetchFrame(S.index + d); fetchFrame(S.index - d); }
    fetchFrame(S.index + 10); fetchFrame(S.index - 10);
  }
  function sync() {
    var v = $('#frames-viewer');
    var video = v && v.dataset.video || null;
    if (video === S.video && (!v || v.dataset.token === S.token)) {
      if (v && S.video && v.dataset.index !== String(S.index)) show(S.index);  // re-rendered by Gradio
      return;
    }
    S.video = video; S.cache = new Map(); S.corner = null;
    if (!video) return;
    S.token = v.dataset.token || '';
    S.n = +v.dataset.n || 0;
    S.times = JSON.parse(v.dataset.times || '[]');
    show(+v.dataset.start || 0);
    drawRegions();
  }
  function regionLines() {
    var el = field('frames-exclusions');
    return el ? el.value.split('\n').filter(function (l) { return l.trim(); }) : [];
  }
  function drawRegions() {
    var layer = $('#frames-regions');
    if (!layer) return;
    layer.innerHTML = '';
    regionLines().forEach(function (line) {
      var p = line.split(',').map(Number);
      if (p.length !== 4 || p.some(isNaN)) return;
      var box = document.createElement('div');
      box.className = 'frames-region';
      box.style.left = p[0] * 100 + '%'; box.style.top = p[1] * 100 + '%';
      box.style.width = p[2] * 100 + '%'; box.style.height = p[3] * 100 + '%';
      layer.appendChild(box);
    });
  }
  function clickButton(id) {
    var el = document.getElementById(id);
    var b = el && (el.tagName === 'BUTTON' ? el : el.querySelector('button'));
    if (b) b.click();
  }
  function act(id) {  // a Gradio event that reads the cursor: write it first, click on the next tick
    setField('frames-cursor', S.index);
    setTimeout(function () { clickButton(id); }, 0);
  }
  window.framesReview = {state: S, show: show, sync: sync};

  document.addEventListener('keydown', function (e) {
    var t = e.target, tag = (t && t.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select' || (t && t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var panel = document.getElementById('frames-review');
    if (!panel || panel.offsetParent === null) return;
    sync();
    var k = (e.key || '').toLowerCase();
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      if (!S.video) return;
      e.preventDefault();
      show(S.index + (e.key === 'ArrowRight' ? 1 : -1) * (e.shiftKey ? 10 : 1));
    } else if (k === 'f' && S.video) { e.preventDefault(); act('frames-mark-first'); }
    else if (k === 'l' && S.video) { e.preventDefault(); act('frames-mark-last'); }
    else if (k === 'n') { e.preventDefault(); clickButton('frames-next'); }
  });
  document.addEventListener('input', function (e) {
    if (e.target && e.target.id === 'frames-scrub') { sync(); show(+e.target.value); }
    else if (e.target && e.target.closest && e.target.closest('#frames-exclusions')) drawRegions();
  });
  document.addEventListener('click', function (e) {
    var t = e.target;
    if (!t || !t.closest) return;
    var step = t.closest('[data-step]');
    if (step && step.closest('#frames-viewer')) { sync(); show(S.index + (+step.dataset.step)); return; }
    var cand = t.closest('.frames-cand');
    if (cand) { sync(); show(+cand.dataset.index); return; }
    if (t.id === 'frames-img' && S.video) {  // two clicks: opposite corners of an exclusion region
      var r = t.getBoundingClientRect();
      var x = (e.clientX - r.left) / r.width, y = (e.clientY - r.top) / r.height;
      var note = $('#frames-region-note');
      if (!S.corner) { S.corner = [x, y]; if (note) note.textContent = 'Corner set: click the opposite corner.'; return; }
      var c = S.corner; S.corner = null;
      var w = Math.abs(x - c[0]), h = Math.abs(y - c[1]);
      if (w < 0.005 || h < 0.005) { if (note) note.textContent = 'Too small: click two opposite corners.'; return; }
      var line = [Math.min(x, c[0]), Math.min(y, c[1]), w, h].map(function (v) { return v.toFixed(3); }).join(',');
      setField('frames-exclusions', regionLines().concat([line]).join('\n'));
      if (note) note.textContent = 'Region added: re-detect to use it.';
      drawRegions();
    }
  });
  var queued = false;
  new MutationObserver(function () {
    if (queued) return;
    queued = true;
    requestAnimationFrame(function () { queued = false; sync(); });
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                        attributeFilter: ['data-video', 'data-token']});
})();
