// The dashboard's image upload: a file picker and a drop zone, one progress bar for the whole
// trip. The first half is the upload itself (XHR upload progress, bytes sent); the second is the
// worker's processing, from image.progress events on /api/live/, or from polling the job's URL
// when no event came for a while (no bus, a proxy that buffers SSE). The thumbnail shows when done.
"use strict";

(function () {
  const card = document.getElementById("image-upload");
  if (!card) return;
  const drop = document.getElementById("image-drop");
  const input = document.getElementById("image-file");
  const bar = document.getElementById("image-progress");
  const status = document.getElementById("image-status");
  const thumb = document.getElementById("image-thumb");
  const csrf = card.querySelector("input[name=csrfmiddlewaretoken]");
  const POLL_MS = 1000;
  const QUIET_MS = 2000;
  let current = null;

  function show(state, text, percent) {
    card.dataset.state = state;
    // What the widget went through, in order (a test reads it; a person sees the bar).
    const phases = (card.dataset.phases || "").split(" ").filter(Boolean);
    if (phases[phases.length - 1] !== state) card.dataset.phases = [...phases, state].join(" ");
    status.textContent = text;
    if (percent !== undefined) bar.value = Math.max(bar.value, Math.min(100, percent));
  }

  function finish(job) {
    if (current) current.stop();
    current = null;
    if (job.status === "done") {
      show("done", `Done: ${job.variants.web.width}×${job.variants.web.height} WebP.`, 100);
      thumb.src = job.variants.thumb.url;
      thumb.alt = `Thumbnail of image ${job.id}`;
      thumb.hidden = false;
    } else {
      show("failed", `Failed: ${job.error}`, 100);
    }
  }

  async function fetchJob(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    return response.ok ? response.json() : null;
  }

  // Follow one job: live events first, the job's URL when they go quiet.
  function follow(job) {
    let lastNews = Date.now();
    let stopped = false;
    let source = null;
    const onUpdate = (update) => {
      lastNews = Date.now();
      if (update.status === "done" || update.status === "failed") {
        fetchJob(job.url).then((full) => full && !stopped && finish(full));
      } else if (update.status === "processing") {
        show("processing", `Processing on a worker: ${update.progress}%`, 50 + update.progress / 2);
      } else {
        show("queued", "Queued for a worker…", 50);
      }
    };
    if (window.EventSource) {
      source = new EventSource(card.dataset.liveUrl);
      source.addEventListener("image.progress", (message) => {
        const update = JSON.parse(message.data);
        if (update.id === job.id) onUpdate(update);
      });
    }
    const timer = setInterval(async () => {
      if (Date.now() - lastNews < QUIET_MS) return;
      const polled = await fetchJob(job.url);
      if (polled && !stopped) onUpdate(polled);
    }, POLL_MS);
    return {
      stop() {
        stopped = true;
        clearInterval(timer);
        if (source) source.close();
      },
    };
  }

  function upload(file) {
    if (current) current.stop();
    current = null;
    thumb.hidden = true;
    bar.value = 0;
    card.dataset.phases = "";
    show("uploading", `Uploading ${file.name}…`, 0);
    const form = new FormData();
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", card.dataset.uploadUrl);
    if (csrf) xhr.setRequestHeader("X-CSRFToken", csrf.value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        const percent = (event.loaded / event.total) * 50;
        show("uploading", `Uploading: ${Math.round(percent * 2)}%`, percent);
      }
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (error) { body = null; }
      if (xhr.status === 202 && body) {
        show("queued", "Queued for a worker…", 50);
        current = follow({ id: body.id, url: body.url });
      } else {
        const message = body && body.error ? body.error.message : `HTTP ${xhr.status}`;
        show("error", `Refused: ${message}`, 0);
      }
    });
    xhr.addEventListener("error", () => show("error", "The upload did not reach the server.", 0));
    xhr.send(form);
  }

  input.addEventListener("change", () => { if (input.files.length) upload(input.files[0]); });
  for (const kind of ["dragenter", "dragover"]) {
    drop.addEventListener(kind, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  for (const kind of ["dragleave", "drop"]) {
    drop.addEventListener(kind, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
  });
})();
