// The console's only script: the inbox fetches its rows again every few seconds.
// Everything else is plain HTML forms; without this script the inbox still works
// (reload the page to see new tasks).
"use strict";

(function () {
  const rows = document.getElementById("inbox-rows");
  const toggle = document.getElementById("auto-refresh");
  const status = document.getElementById("refresh-status");
  if (!rows || !toggle) {
    return;
  }
  const seconds = Number(rows.dataset.refreshSeconds) || 30;
  const url = rows.dataset.refreshUrl;

  async function refresh() {
    // Do not pull the rows from under someone using them with the keyboard.
    if (!toggle.checked || rows.contains(document.activeElement)) {
      return;
    }
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        redirect: "manual",
      });
      if (response.status !== 200) {
        return; // signed out, or the server is busy: the next round tries again
      }
      const html = await response.text();
      if (html.trim() !== rows.innerHTML.trim()) {
        rows.innerHTML = html;
      }
      if (status) {
        const now = new Date();
        const time = now.toLocaleTimeString(document.documentElement.lang, {
          hour: "2-digit",
          minute: "2-digit",
          second: "2-digit",
        });
        status.textContent = status.dataset.refreshed + " " + time;
      }
    } catch (error) {
      // The network hiccuped; the next round tries again.
    }
  }

  window.setInterval(refresh, seconds * 1000);
})();
