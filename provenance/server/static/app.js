// Moderator page. Every string from a report or manifest is untrusted: it is only ever
// set with textContent (never innerHTML), so markup in a manifest shows as text.
// Every answer says exactly what it knows: "unknown" and "not checked" are never shown as "no".
"use strict";

const WORDS = {
  trusted: "Trusted: signed by a known signer, unaltered",
  valid: "Valid signature, but the signer is not trusted here",
  invalid: "Invalid: altered, or the credentials are bad",
  recovered: "Credentials recovered through the watermark",
  watermarked: "Watermark found, no credentials for it",
  none: "No provenance found",
  error: "Could not be checked",
};

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
let previewReady = Promise.resolve(null); // resolves to the preview's {width, height}
let previewToken = {}; // the file the preview is of

function addFact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = String(value);
  list.append(dt, dd);
}

// true / false / null (unknown); a file that could not be checked says so.
function aiGeneratedText(report, verdict) {
  if (verdict === "error") return "not checked";
  if (report.ai_generated === true) return "yes";
  if (report.ai_generated === false) return "no";
  return "unknown";
}

// "not found" and "does not match" are different sentences; a missing key says why.
function watermarkText(mark) {
  if (!mark || typeof mark !== "object") return "not checked";
  const status = mark.status || (mark.detected ? "found" : "not_found"); // older reports
  if (status === "not_checked") return mark.note ? `not checked (${mark.note})` : "not checked";
  if (status !== "found") return "not found";
  const record = mark.record || mark.payload;
  let text = record ? `found, record ${record}` : "found";
  if (mark.agrees === true) text += ", matches the credentials";
  else if (mark.agrees === false) text += ", does NOT match the credentials";
  return text;
}

// The cells of the report's grid where a found watermark is missing ("altered") or cannot
// be checked ("unknown"), in the file's pixels. Anything malformed is left out.
function regionsOf(mark) {
  if (!mark || typeof mark !== "object" || !Array.isArray(mark.altered_regions)) return [];
  const ok = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
  return mark.altered_regions.filter(
    (r) => r && typeof r === "object" && (r.state === "altered" || r.state === "unknown")
      && ok(r.x) && ok(r.y) && ok(r.width) && ok(r.height) && ok(r.share),
  );
}

function areaText(regions) {
  const share = regions.reduce((sum, r) => sum + r.share, 0);
  const pct = 100 * Math.min(share, 1);
  return pct > 0 && pct < 1 ? "under 1%" : `${Math.round(pct)}%`;
}

function regionsText(regions) {
  const altered = regions.filter((r) => r.state === "altered");
  const unknown = regions.filter((r) => r.state === "unknown");
  const count = (list) => `${list.length} region${list.length === 1 ? "" : "s"}`;
  const parts = [];
  if (altered.length) {
    const verb = altered.length === 1 ? "carries" : "carry";
    parts.push(`${count(altered)} (${areaText(altered)} of the image) no longer ${verb} the watermark`);
  } else if (unknown.length) {
    parts.push("no region was found to have lost the watermark");
  }
  if (unknown.length) {
    parts.push(`${count(unknown)} (${areaText(unknown)}) cannot be checked (too little texture)`);
  }
  return parts.join("; ");
}

// The preview is decoded from the file itself (no URL: the page's policy allows none) in
// the file's stored pixel grid, which the report's boxes are in (no EXIF turn).
async function decodePreview(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "none" });
  } catch (err) {
    return createImageBitmap(file);
  }
}

function setPreview(file) {
  const token = {};
  previewToken = token;
  $("regions").replaceChildren();
  $("preview-box").hidden = true;
  if (!file || typeof file.type !== "string" || !file.type.startsWith("image/")) {
    previewReady = Promise.resolve(null);
    return;
  }
  previewReady = decodePreview(file).then(
    (bitmap) => {
      if (previewToken !== token) return null; // another file was dropped meanwhile
      const canvas = $("preview");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      return { width: bitmap.width, height: bitmap.height };
    },
    () => null, // a format this browser cannot show: no preview
  );
}

// The preview with the regions drawn over it (altered: red, unknown: grey hatching).
async function showRegions(report, verdict) {
  const token = previewToken;
  const layer = $("regions");
  layer.replaceChildren();
  const regions = verdict === "error" ? [] : regionsOf(report.watermark);
  $("regions-caption").textContent = regionsText(regions);
  $("regions-legend").hidden = regions.length === 0;
  const size = await previewReady;
  if (!size || previewToken !== token) return;
  $("overlay").setAttribute("viewBox", `0 0 ${size.width} ${size.height}`);
  const ordered = [...regions].sort((a, b) => (a.state === "altered") - (b.state === "altered"));
  for (const r of ordered) {
    const rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("class", `region region-${r.state}`);
    rect.setAttribute("x", String(r.x));
    rect.setAttribute("y", String(r.y));
    rect.setAttribute("width", String(r.width));
    rect.setAttribute("height", String(r.height));
    rect.setAttribute("vector-effect", "non-scaling-stroke");
    layer.append(rect);
  }
  $("preview-box").hidden = false;
}

function explanationFor(cred, code) {
  const words = cred.explanations;
  if (!words || typeof words !== "object" || !Object.prototype.hasOwnProperty.call(words, code)) {
    return null;
  }
  const text = words[code];
  return typeof text === "string" && text ? text : null;
}

function failureItem(cred, code, prefix) {
  const item = document.createElement("li");
  const plain = explanationFor(cred, code);
  const words = document.createElement("span");
  words.className = "failure-words";
  words.textContent = prefix + (plain === null ? String(code) : plain);
  item.append(words);
  if (plain !== null) {
    const tag = document.createElement("span");
    tag.className = "failure-code";
    tag.textContent = String(code);
    item.append(" ", tag);
  }
  return item;
}

function asList(value) {
  return Array.isArray(value) ? value : [];
}

// One ingredient (what the content was made from): title, relationship, its credentials.
function ingredientText(ingredient) {
  if (!ingredient || typeof ingredient !== "object") return null;
  const state =
    ingredient.state === null || ingredient.state === undefined
      ? "no credentials"
      : "credentials " + String(ingredient.state);
  let ai = "";
  if (ingredient.ai_generated === true) ai = ", AI-generated";
  else if (ingredient.ai_generated === false) ai = ", not AI-generated";
  const title = String(ingredient.title || "untitled");
  return `${title} (${String(ingredient.relationship || "ingredient")}): ${state}${ai}`;
}

function show(report) {
  const verdict = String(report.verdict || "error");
  const box = $("verdict");
  box.textContent = WORDS[verdict] || verdict;
  box.className = "verdict verdict-" + (verdict in WORDS ? verdict : "error");
  $("summary").textContent = report.summary || report.error || "";
  const facts = $("facts");
  facts.replaceChildren();
  const cred = report.credentials && typeof report.credentials === "object" ? report.credentials : {};
  addFact(facts, "File", report.path);
  addFact(facts, "Type", report.media_type);
  addFact(facts, "AI-generated", aiGeneratedText(report, verdict));
  addFact(facts, "Signer", cred.signer);
  addFact(facts, "Issuer", cred.issuer);
  addFact(facts, "Model", cred.model);
  addFact(facts, "Created", cred.created_at);
  addFact(facts, "Time-stamped", cred.signed_at);
  addFact(facts, "Generator", cred.generator);
  for (const ingredient of asList(cred.ingredients)) {
    addFact(facts, "Made from", ingredientText(ingredient));
  }
  addFact(facts, "Watermark", watermarkText(report.watermark));
  if (verdict !== "error") addFact(facts, "Where edited", regionsText(regionsOf(report.watermark)));
  const list = $("failures");
  list.replaceChildren();
  for (const code of asList(cred.failures)) list.append(failureItem(cred, code, ""));
  for (const code of asList(cred.ingredient_failures)) list.append(failureItem(cred, code, "ingredient: "));
  $("failures-box").hidden = list.children.length === 0;
  $("manifest").textContent = report.manifest ? JSON.stringify(report.manifest, null, 2) : "(none)";
  showRegions(report, verdict);
  $("result").hidden = false;
}

function showChecking(name) {
  const box = $("verdict");
  box.textContent = "Checking…";
  box.className = "verdict verdict-none";
  $("summary").textContent = "Checking " + name + "…";
  $("facts").replaceChildren();
  $("failures").replaceChildren();
  $("failures-box").hidden = true;
  $("manifest").textContent = "";
  $("preview-box").hidden = true;
  $("result").hidden = false;
}

async function check(file) {
  setPreview(file);
  showChecking(file.name);
  const form = new FormData();
  form.append("file", file);
  let response;
  try {
    response = await fetch("/v1/verify?include_manifest=true", { method: "POST", body: form });
  } catch (err) {
    show({ verdict: "error", summary: "The server could not be reached", path: file.name });
    return;
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null; // e.g. an HTML error page from a proxy
  }
  if (response.ok && body && typeof body === "object") {
    show(body);
  } else {
    const reason = (body && body.error) || `${response.status} ${response.statusText}`.trim();
    show({ verdict: "error", summary: String(reason), path: file.name });
  }
}

const drop = $("drop");
$("file").addEventListener("change", (event) => {
  if (event.target.files.length) check(event.target.files[0]);
});
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) check(event.dataTransfer.files[0]);
});
