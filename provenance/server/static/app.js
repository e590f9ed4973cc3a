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

function explanationFor(cred, code) {
  const words = cred.explanations;
  if (!words || typeof words !== "object" || !Object.prototype.hasOwnProperty.call(words, code)) {
    return null;
  }
  const text = words[code];
  return typeof text === "string" && text ? text : null;
}

// The plain words of a failure; its code, when words were sent, only as the item's tooltip
// (for whoever reports it on), never beside the words.
function failureItem(cred, code, prefix) {
  const item = document.createElement("li");
  const plain = explanationFor(cred, code);
  const words = document.createElement("span");
  words.className = "failure-words";
  words.textContent = prefix + (plain === null ? String(code) : plain);
  item.append(words);
  if (plain !== null) item.title = String(code);
  return item;
}

// The codes that say this copy's bytes are not the ones that were signed.
const CONTENT_MISMATCHES = new Set([
  "assertion.dataHash.mismatch",
  "assertion.boxesHash.mismatch",
  "assertion.bmffHash.mismatch",
  "assertion.collectionHash.mismatch",
]);

// Recovered credentials are the original's, found through the watermark: this copy is not the
// file they signed, so its bytes cannot match them. That is said once, in words, and is not
// listed as a failure; anything else that failed still is.
const RECOVERED_NOTE =
  "This copy is not the signed file: its bytes differ from those the credentials cover. " +
  "The original's credentials were found through the watermark this copy still carries.";

function asList(value) {
  return Array.isArray(value) ? value : [];
}

// The ingredient tree is bounded: a hostile report cannot make the page draw without end.
const TREE_DEPTH = 8;
const TREE_NODES = 200;

// One ingredient (what the content was made from): title, relationship, its credentials.
function ingredientFacts(ingredient) {
  const state =
    ingredient.state === null || ingredient.state === undefined
      ? "no credentials"
      : "credentials " + String(ingredient.state);
  let ai = "";
  if (ingredient.ai_generated === true) ai = ", AI-generated";
  else if (ingredient.ai_generated === false) ai = ", not AI-generated";
  else if (ingredient.state !== null && ingredient.state !== undefined) ai = ", AI-generated unknown";
  return ` (${String(ingredient.relationship || "ingredient")}): ${state}${ai}`;
}

function ingredientNode(cred, ingredient, depth, budget) {
  const item = document.createElement("li");
  const title = document.createElement("span");
  title.className = "ingredient-title";
  title.textContent = String(ingredient.title || "untitled");
  const facts = document.createElement("span");
  facts.className = "ingredient-facts";
  facts.textContent = ingredientFacts(ingredient);
  item.append(title, facts);
  const failures = asList(ingredient.failures);
  if (failures.length) {
    const list = document.createElement("ul");
    list.className = "ingredient-failures";
    for (const code of failures.slice(0, 20)) list.append(failureItem(cred, code, "failed: "));
    item.append(list);
  }
  const children = asList(ingredient.ingredients);
  if (children.length && depth + 1 >= TREE_DEPTH) {
    const more = document.createElement("p");
    more.className = "tree-cut";
    more.textContent = `(${children.length} more ingredient${children.length === 1 ? "" : "s"} deeper, not shown)`;
    item.append(more);
  } else if (children.length) {
    item.append(ingredientList(cred, children, depth + 1, budget));
  }
  return item;
}

function ingredientList(cred, ingredients, depth, budget) {
  const list = document.createElement("ul");
  for (const ingredient of ingredients) {
    if (!ingredient || typeof ingredient !== "object") continue;
    if (budget.left <= 0) {
      const cut = document.createElement("li");
      cut.className = "tree-cut";
      cut.textContent = "(more ingredients, not shown)";
      list.append(cut);
      break;
    }
    budget.left -= 1;
    list.append(ingredientNode(cred, ingredient, depth, budget));
  }
  return list;
}

function showIngredients(cred) {
  const box = $("ingredients");
  const ingredients = asList(cred.ingredients);
  box.replaceChildren();
  if (ingredients.length) {
    const tree = ingredientList(cred, ingredients, 0, { left: TREE_NODES });
    box.append(...tree.children);
  }
  $("ingredients-box").hidden = box.children.length === 0;
}

// The report's verdict if it is one this page knows ("constructor" is not), else "error".
function verdictOf(report) {
  const verdict = String(report.verdict || "error");
  return Object.prototype.hasOwnProperty.call(WORDS, verdict) ? verdict : "error";
}

// The detail view of one file: its name, verdict, preview, facts, ingredients and manifest.
function show(entry) {
  const report = entry.report;
  const verdict = String(report.verdict || "error");
  const known = verdictOf(report);
  const box = $("verdict");
  box.textContent = known === verdict ? WORDS[verdict] : verdict;
  box.className = "verdict verdict-" + known;
  $("summary").textContent = report.summary || report.error || "";
  $("verdict-note").textContent = verdict === "recovered" ? RECOVERED_NOTE : "";
  $("verdict-note").hidden = verdict !== "recovered";
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
  addFact(facts, "Watermark", watermarkText(report.watermark));
  const coverage = verdict === "error" ? [] : coverageOf(report.watermark);
  if (coverage.length) addFact(facts, "Watermark coverage", regionsText(coverage));
  showIngredients(cred);
  const list = $("failures");
  list.replaceChildren();
  for (const code of asList(cred.failures)) {
    if (verdict === "recovered" && CONTENT_MISMATCHES.has(code)) continue;
    list.append(failureItem(cred, code, ""));
  }
  for (const code of asList(cred.ingredient_failures)) list.append(failureItem(cred, code, "ingredient: "));
  $("failures-box").hidden = list.children.length === 0;
  const manifest = report.manifest && typeof report.manifest === "object" ? report.manifest : null;
  $("manifest").textContent = manifest ? JSON.stringify(manifest, null, 2) : "";
  $("manifest-box").hidden = manifest === null;
  setPreview(entry.file, typeof report.media_type === "string" ? report.media_type : null);
  showRegions(coverage);
  $("result").hidden = false;
}

function showChecking(entry) {
  clearPreview();
  const box = $("verdict");
  box.textContent = "Checking…";
  box.className = "verdict verdict-none";
  $("summary").textContent = "Checking " + entry.file.name + "…";
  $("verdict-note").hidden = true;
  $("facts").replaceChildren();
  $("ingredients").replaceChildren();
  $("ingredients-box").hidden = true;
  $("failures").replaceChildren();
  $("failures-box").hidden = true;
  $("manifest").textContent = "";
  $("manifest-box").hidden = true;
  $("result").hidden = false;
}

// The report for one file (never throws: a failure is an "error" report naming the file).
async function verify(file, signal) {
  const form = new FormData();
  form.append("file", file);
  let response;
  try {
    response = await fetch("/v1/verify?include_manifest=true", { method: "POST", body: form, signal });
  } catch (err) {
    return { verdict: "error", summary: "The server could not be reached", path: file.name };
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null; // e.g. an HTML error page from a proxy
  }
  if (response.ok && body && typeof body === "object") return body;
  const reason = (body && body.error) || `${response.status} ${response.statusText}`.trim();
  return { verdict: "error", summary: String(reason), path: file.name };
}

// Several files at once: one request each, at most this many in flight (the server
// refuses work beyond its --concurrency, 4 by default, with 503).
const IN_FLIGHT = 3;
const SHORT_WORDS = {
  trusted: "Trusted",
  valid: "Valid, signer not trusted",
  invalid: "Invalid",
  recovered: "Recovered through the watermark",
  watermarked: "Watermark only",
  none: "No provenance",
  error: "Not checked",
};
let entries = []; // {file, report (null while checking), row (null for one file)}
let opened = null; // the entry in the detail view
let cancel = new AbortController(); // stops the requests of files no longer shown

function open(entry) {
  opened = entry;
  $("result-name").textContent = entry.file.name;
  for (const other of entries) {
    if (other.row) other.row.classList.toggle("opened", other === entry);
  }
  if (entry.report) show(entry);
  else showChecking(entry);
}

function batchRow(entry) {
  const row = document.createElement("tr");
  const name = document.createElement("td");
  name.className = "batch-name";
  name.textContent = entry.file.name;
  const verdict = document.createElement("td");
  verdict.className = "batch-verdict verdict-none";
  verdict.textContent = "Checking…";
  const summary = document.createElement("td");
  summary.className = "batch-summary";
  const action = document.createElement("td");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Open";
  button.setAttribute("aria-label", "Open " + entry.file.name);
  button.addEventListener("click", () => {
    open(entry);
    $("result-name").focus();
  });
  action.append(button);
  row.append(name, verdict, summary, action);
  return row;
}

function fillRow(entry) {
  const [, verdict, summary] = entry.row.children;
  const key = verdictOf(entry.report);
  verdict.className = "batch-verdict verdict-" + key;
  verdict.textContent = SHORT_WORDS[key];
  summary.textContent = String(entry.report.summary || entry.report.error || "");
}

async function checkAll(batch, signal) {
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      const entry = batch[next++];
      entry.report = await verify(entry.file, signal);
      if (entries !== batch) return; // other files were dropped meanwhile
      if (entry.row) fillRow(entry);
      if (opened === entry) show(entry);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, batch.length) }, worker));
}

// One file goes straight to its detail view; several make a table of verdicts.
function checkFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  const several = files.length > 1;
  const batch = files.map((file) => ({ file, report: null, row: null }));
  cancel.abort();
  cancel = new AbortController();
  entries = batch;
  opened = null;
  const rows = $("batch-rows");
  rows.replaceChildren();
  if (several) {
    for (const entry of batch) {
      entry.row = batchRow(entry);
      rows.append(entry.row);
    }
    $("batch-count").textContent = `${batch.length} files`;
    clearPreview();
    $("result").hidden = true;
  } else {
    open(batch[0]);
  }
  $("batch").hidden = !several;
  checkAll(batch, cancel.signal);
}

const drop = $("drop");
$("file").addEventListener("change", (event) => checkFiles(event.target.files));
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  checkFiles(event.dataTransfer.files);
});
