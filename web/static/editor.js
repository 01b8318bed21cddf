// The Vary (Region) editor: paint a mask over the image (brush, rectangle, lasso; mouse,
// pen, touch or keyboard), then submit it with the prompt and follow the new job.
"use strict";
(() => {
  const mask = document.getElementById("mask");
  const cursor = document.getElementById("cursor");
  const ink = mask.getContext("2d");
  const marks = cursor.getContext("2d");
  const size = document.getElementById("size");
  const message = document.getElementById("message");
  const progress = document.getElementById("progress");
  const result = document.getElementById("result");
  const form = document.getElementById("region-form");
  const PAINT = "#ff3b30";
  const history = [];
  let tool = "brush";
  let stroke = null; // the pointer stroke being drawn: {x, y, points, before}
  const key = { x: mask.width / 2, y: mask.height / 2, painting: false, corner: null };

  const snapshot = () => ink.getImageData(0, 0, mask.width, mask.height);
  function remember() {
    history.push(snapshot());
    if (history.length > 40) history.shift();
  }
  function undo() {
    if (history.length) ink.putImageData(history.pop(), 0, 0);
  }
  function dab(x, y) {
    ink.fillStyle = PAINT;
    ink.beginPath();
    ink.arc(x, y, size.value / 2, 0, 2 * Math.PI);
    ink.fill();
  }
  function line(from, to) {
    ink.strokeStyle = PAINT;
    ink.lineWidth = size.value;
    ink.lineCap = "round";
    ink.beginPath();
    ink.moveTo(from.x, from.y);
    ink.lineTo(to.x, to.y);
    ink.stroke();
  }
  function box(a, b) {
    ink.fillStyle = PAINT;
    ink.fillRect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(a.x - b.x), Math.abs(a.y - b.y));
  }
  function polygon(points) {
    if (points.length < 3) return;
    ink.fillStyle = PAINT;
    ink.beginPath();
    ink.moveTo(points[0].x, points[0].y);
    points.slice(1).forEach((p) => ink.lineTo(p.x, p.y));
    ink.closePath();
    ink.fill();
  }
  function pick(name) {
    tool = name;
    document.querySelectorAll("[data-tool]").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.tool === name));
    });
    key.corner = null;
    showCursor();
  }
  function at(event) {
    const r = mask.getBoundingClientRect();
    return {
      x: ((event.clientX - r.left) * mask.width) / r.width,
      y: ((event.clientY - r.top) * mask.height) / r.height,
    };
  }
  function showCursor() {
    marks.clearRect(0, 0, cursor.width, cursor.height);
    if (document.activeElement !== mask) return;
    marks.strokeStyle = "#ffffff";
    marks.lineWidth = 2;
    marks.beginPath();
    marks.arc(key.x, key.y, Math.max(3, size.value / 2), 0, 2 * Math.PI);
    marks.stroke();
    if (key.corner) marks.strokeRect(key.corner.x, key.corner.y, key.x - key.corner.x, key.y - key.corner.y);
  }

  mask.addEventListener("pointerdown", (event) => {
    mask.setPointerCapture(event.pointerId);
    remember();
    const p = at(event);
    stroke = { start: p, last: p, points: [p], before: snapshot() };
    if (tool === "brush") dab(p.x, p.y);
  });
  mask.addEventListener("pointermove", (event) => {
    if (!stroke) return;
    const p = at(event);
    if (tool === "brush") line(stroke.last, p);
    else {
      ink.putImageData(stroke.before, 0, 0); // the shape so far, redrawn from the start
      if (tool === "rect") box(stroke.start, p);
      else polygon([...stroke.points, p]);
    }
    stroke.points.push(p);
    stroke.last = p;
  });
  const finish = () => { stroke = null; };
  mask.addEventListener("pointerup", finish);
  mask.addEventListener("pointercancel", finish);

  mask.addEventListener("focus", showCursor);
  mask.addEventListener("blur", showCursor);
  mask.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 32 : 8;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      const [dx, dy] = moves[event.key];
      const from = { x: key.x, y: key.y };
      key.x = Math.min(mask.width, Math.max(0, key.x + dx));
      key.y = Math.min(mask.height, Math.max(0, key.y + dy));
      if (key.painting) line(from, key);
    } else if (event.key === " ") {
      if (!key.painting) { remember(); dab(key.x, key.y); }
      key.painting = true;
    } else if (event.key === "Enter" && tool === "rect") {
      if (key.corner) { remember(); box(key.corner, key); key.corner = null; }
      else key.corner = { x: key.x, y: key.y };
    } else if (event.key === "Enter" && tool === "lasso") {
      key.corner = null;
    } else return;
    event.preventDefault();
    showCursor();
  });
  mask.addEventListener("keyup", (event) => {
    if (event.key === " ") key.painting = false;
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "TEXTAREA" || event.target.tagName === "INPUT") return;
    if ((event.ctrlKey || event.metaKey) && event.key === "z") { undo(); event.preventDefault(); }
    else if (event.key === "b") pick("brush");
    else if (event.key === "r") pick("rect");
    else if (event.key === "l") pick("lasso");
    else if (event.key === "[") { size.value = Number(size.value) - 4; showCursor(); }
    else if (event.key === "]") { size.value = Number(size.value) + 4; showCursor(); }
  });
  document.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => pick(b.dataset.tool)));
  document.getElementById("undo").addEventListener("click", undo);
  document.getElementById("clear").addEventListener("click", () => {
    remember();
    ink.clearRect(0, 0, mask.width, mask.height);
  });
  size.addEventListener("input", showCursor);

  const say = (text) => { message.textContent = text; };
  async function follow(url) {
    progress.hidden = false;
    for (;;) {
      const answer = await (await fetch(url)).json();
      progress.value = answer.progress;
      if (answer.done) {
        progress.hidden = true;
        result.replaceChildren(...answer.images.map((src, n) => {
          const img = document.createElement("img");
          img.src = src;
          img.alt = `Variation ${n + 1}`;
          return img;
        }));
        const open = document.createElement("a");
        open.href = answer.page;
        open.textContent = "Open the new job's page";
        result.append(open);
        result.hidden = false;
        say("Done: the new grid is in Discord too.");
        return;
      }
      if (answer.error || answer.state === "cancelled") {
        progress.hidden = true;
        say(`The job did not finish: ${answer.error || "cancelled"}`);
        return;
      }
      say(answer.state === "queued" ? "Waiting to start…" : `Rendering: ${answer.progress}%`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = document.getElementById("submit");
    submit.disabled = true;
    say("Sending…");
    const response = await fetch(location.pathname + location.search, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        csrf: form.dataset.csrf,
        prompt: document.getElementById("prompt").value,
        mask: mask.toDataURL("image/png"),
      }),
    });
    const answer = await response.json();
    if (!response.ok) {
      submit.disabled = false;
      say(`${answer.error} ${answer.hint || ""}`);
      return;
    }
    say("Queued.");
    await follow(answer.status);
  });
})();
