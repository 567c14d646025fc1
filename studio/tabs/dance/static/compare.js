// Synchronised players of the Compare grid: playing, pausing or seeking one video
// does the same to the others. Runs as the grid's js_on_load (``element`` is the grid).
const vids = () => Array.from(element.querySelectorAll('video.dance-sync'));
const others = (src) => vids().filter((v) => v !== src);
element.addEventListener('play', (e) => {
  if (!e.target.matches || !e.target.matches('video.dance-sync')) return;
  others(e.target).forEach((v) => {
    if (Math.abs(v.currentTime - e.target.currentTime) > 0.1) v.currentTime = e.target.currentTime;
    if (v.paused) v.play().catch(() => {});
  });
}, true);
element.addEventListener('pause', (e) => {
  if (!e.target.matches || !e.target.matches('video.dance-sync')) return;
  others(e.target).forEach((v) => { if (!v.paused) v.pause(); });
}, true);
element.addEventListener('seeked', (e) => {
  if (!e.target.matches || !e.target.matches('video.dance-sync')) return;
  others(e.target).forEach((v) => {
    if (Math.abs(v.currentTime - e.target.currentTime) > 0.1) v.currentTime = e.target.currentTime;
  });
}, true);
element.addEventListener('click', (e) => {
  const b = e.target.closest && e.target.closest('button[data-dance]');
  if (!b) return;
  const all = vids();
  if (b.dataset.dance === 'play') all.forEach((v) => v.play().catch(() => {}));
  if (b.dataset.dance === 'pause') all.forEach((v) => v.pause());
  if (b.dataset.dance === 'restart') all.forEach((v) => { v.currentTime = 0; });
});
