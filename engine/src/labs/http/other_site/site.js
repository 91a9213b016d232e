// The second site's demos: read the workbench's CORS notes three ways, and
// post a forged form. Everything the query string brings is data: it is
// shown with textContent and used only through the URL parser.
"use strict";

const params = new URLSearchParams(location.search);
const key = params.get("key") || "";
let workbench = null;
try {
  const url = new URL(params.get("workbench") || "");
  if (url.protocol === "http:" || url.protocol === "https:") workbench = url.origin;
} catch (_) { /* no usable address: say so below */ }

const text = (id, value) => { document.getElementById(id).textContent = value; };
text("own-origin", location.origin);
text("allow-origin", location.origin);

const ways = {
  simple: {},
  preflight: { headers: { "X-Demo-Note": "sent from another origin" } },
  credentials: { credentials: "include" },
};

async function readNotes(way) {
  const url = new URL("/labs/http/cors/notes", workbench);
  url.searchParams.set("key", key);
  const out = document.getElementById("cors-result");
  out.textContent = "Sending…";
  try {
    // The default cache mode: "no-store" would also skip the browser's
    // preflight cache, and the lesson shows that cache at work. The notes
    // answer with Cache-Control: no-store, so each press reaches the server.
    const response = await fetch(url, ways[way]);
    const body = await response.text();
    out.textContent = `Read it: ${response.status} ${response.statusText}\n${body}`;
  } catch (error) {
    out.textContent =
      `Blocked: the browser did not give this page the answer (${error}).\n` +
      "The page cannot tell why; your browser's console and the workbench's trace can.";
  }
}

if (workbench && key) {
  text("workbench-origin", workbench);
  document.getElementById("forged").action = new URL("/labs/auth/products", workbench).href;
  for (const button of document.querySelectorAll("button[data-demo]")) {
    button.addEventListener("click", () => readNotes(button.dataset.demo));
  }
} else {
  document.getElementById("missing").hidden = false;
  for (const button of document.querySelectorAll("button")) button.disabled = true;
}
