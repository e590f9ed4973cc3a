// Moderator page. Every string from a report or manifest is untrusted: it is only ever
// set with textContent (never innerHTML), so markup in a manifest shows as text.
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

function addFact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = String(value);
  list.append(dt, dd);
}

function watermarkText(mark) {
  if (!mark) return "not checked";
  if (!mark.detected) return "not found";
  const agrees = mark.agrees === false ? " (does not match the credentials)" : "";
  return `found, record ${mark.payload}${agrees}`;
}

function show(report) {
  const verdict = String(report.verdict || "error");
  const box = $("verdict");
  box.textContent = WORDS[verdict] || verdict;
  box.className = "verdict verdict-" + (verdict in WORDS ? verdict : "error");
  $("summary").textContent = report.summary || report.error || "";
  const facts = $("facts");
  facts.replaceChildren();
  const cred = report.credentials || {};
  addFact(facts, "File", report.path);
  addFact(facts, "Type", report.media_type);
  addFact(facts, "AI-generated", report.ai_generated === null ? null : report.ai_generated ? "yes" : "no");
  addFact(facts, "Signer", cred.signer);
  addFact(facts, "Issuer", cred.issuer);
  addFact(facts, "Model", cred.model);
  addFact(facts, "Created", cred.created_at);
  addFact(facts, "Time-stamped", cred.signed_at);
  addFact(facts, "Generator", cred.generator);
  addFact(facts, "Watermark", watermarkText(report.watermark));
  const failures = [...(cred.failures || []), ...(cred.ingredient_failures || []).map((c) => "ingredient: " + c)];
  const list = $("failures");
  list.replaceChildren();
  for (const code of failures) {
    const item = document.createElement("li");
    item.textContent = String(code);
    list.append(item);
  }
  $("failures-box").hidden = failures.length === 0;
  $("manifest").textContent = report.manifest ? JSON.stringify(report.manifest, null, 2) : "(none)";
  $("result").hidden = false;
}

async function check(file) {
  show({ verdict: "none", summary: "Checking " + file.name + "…" });
  $("verdict").textContent = "Checking…";
  const form = new FormData();
  form.append("file", file);
  try {
    const response = await fetch("/v1/verify?include_manifest=true", { method: "POST", body: form });
    const body = await response.json();
    show(response.ok ? body : { verdict: "error", summary: body.error || response.statusText, path: file.name });
  } catch (err) {
    show({ verdict: "error", summary: "The server could not be reached", path: file.name });
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
