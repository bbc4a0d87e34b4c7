// Optional comfort; every page works without it. Theme toggle (saved), local times.
(function () {
  var root = document.documentElement;
  var button = document.getElementById('theme-toggle');
  function dark() {
    var t = root.dataset.theme;
    return t ? t === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  }
  if (button) {
    button.hidden = false;
    button.setAttribute('aria-pressed', String(dark()));
    button.addEventListener('click', function () {
      var next = dark() ? 'light' : 'dark';
      root.dataset.theme = next;
      try { localStorage.setItem('verta-theme', next); } catch (e) {}
      button.setAttribute('aria-pressed', String(next === 'dark'));
    });
  }
  var full = { dateStyle: 'medium', timeStyle: 'short' };
  var time = { timeStyle: 'short' };
  var styles = { t: time, T: { timeStyle: 'medium' }, d: { dateStyle: 'short' },
    D: { dateStyle: 'long' }, f: { dateStyle: 'long', timeStyle: 'short' },
    F: { dateStyle: 'full', timeStyle: 'short' }, R: full };
  document.querySelectorAll('time[data-local],time[data-style]').forEach(function (el) {
    var d = new Date(el.getAttribute('datetime'));
    if (isNaN(d)) return;
    var opts = el.dataset.local === 'time' ? time
      : el.dataset.local ? full : styles[el.dataset.style] || full;
    try {
      el.title = d.toISOString();
      el.textContent = d.toLocaleString(undefined, opts);
    } catch (e) {}
  });
})();
