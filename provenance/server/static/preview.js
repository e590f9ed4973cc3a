// The preview of the file a verdict is about, made from the LOCAL file only: never from a
// manifest (no thumbnail, no URL from a report). Images are decoded onto a canvas, audio and
// video play from a blob: URL of the file itself (never autoplay), text shows its first lines.
// The element is chosen from the file's media type as the server sniffed it from the bytes,
// else from the file's own leading bytes; what the browser cannot render says so in a line.
"use strict";

const $ = (id) => document.getElementById(id); // app.js, loaded after this file, uses it too
const SVG_NS = "http://www.w3.org/2000/svg";
const TEXT_PREVIEW_BYTES = 4096;
const TEXT_PREVIEW_LINES = 12;
let previewReady = Promise.resolve(null); // resolves to the image preview's {width, height}
let previewToken = {}; // the file the preview is of
let mediaUrl = null; // the blob: URL the audio or video preview plays, revoked when replaced

// "image" | "audio" | "video" | "text" | null, from a media type such as "audio/wav".
function kindOfType(mediaType) {
  if (typeof mediaType !== "string") return null;
  const major = mediaType.split("/", 1)[0];
  return ["image", "audio", "video", "text"].includes(major) ? major : null;
}

const ascii = (bytes, start, end) => String.fromCharCode(...bytes.subarray(start, end));

// The kind from a file's first bytes (the formats the server reads), or null.
function sniffKind(bytes) {
  const at = (i, ...values) => values.every((v, j) => bytes[i + j] === v);
  if (at(0, 0xff, 0xd8, 0xff) || at(0, 0x89, 0x50, 0x4e, 0x47)) return "image";
  if (ascii(bytes, 0, 4) === "GIF8" || at(0, 0x49, 0x49, 0x2a, 0) || at(0, 0x4d, 0x4d, 0, 0x2a)) {
    return "image";
  }
  if (ascii(bytes, 0, 4) === "RIFF") {
    return { WEBP: "image", WAVE: "audio", "AVI ": "video" }[ascii(bytes, 8, 12)] || null;
  }
  if (ascii(bytes, 0, 4) === "fLaC" || ascii(bytes, 0, 3) === "ID3") return "audio";
  if (ascii(bytes, 0, 4) === "OggS") return "audio"; // Opus, Vorbis or FLAC in Ogg
  if (at(0, 0x1a, 0x45, 0xdf, 0xa3)) return "video"; // WebM (Matroska)
  if (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0) return "audio"; // an MPEG audio frame
  if (ascii(bytes, 4, 8) === "ftyp") {
    const brands = [ascii(bytes, 8, 12)];
    for (let i = 16; i + 4 <= Math.min(bytes.length, 64); i += 4) brands.push(ascii(bytes, i, i + 4));
    if (brands.some((b) => ["avif", "avis", "heic", "heix", "mif1", "msf1"].includes(b))) return "image";
    return brands[0].startsWith("M4A") || brands[0] === "M4B " ? "audio" : "video";
  }
  return looksLikeText(bytes) ? "text" : null;
}

// UTF-8 without control characters other than tab and line ends (a cut last character is fine).
function looksLikeText(bytes) {
  if (!bytes.length) return false;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
    return !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text);
  } catch (err) {
    return false;
  }
}

async function previewKind(file, mediaType) {
  const known = kindOfType(mediaType);
  if (known) return known;
  try {
    return sniffKind(new Uint8Array(await file.slice(0, 64).arrayBuffer()));
  } catch (err) {
    return null;
  }
}

function clearPreview() {
  previewToken = {};
  previewReady = Promise.resolve(null);
  if (mediaUrl !== null) URL.revokeObjectURL(mediaUrl);
  mediaUrl = null;
  $("media").replaceChildren();
  $("media-box").hidden = true;
  $("no-preview").hidden = true;
  $("regions").replaceChildren();
  $("preview-box").hidden = true;
}

function noPreview(token, why) {
  if (previewToken !== token) return;
  $("media").replaceChildren();
  if (mediaUrl !== null) URL.revokeObjectURL(mediaUrl);
  mediaUrl = null;
  $("no-preview").textContent = why;
  $("no-preview").hidden = false;
}

// The image is decoded from the file itself in its stored pixel grid, which the report's
// boxes are in (no EXIF turn): a canvas needs no URL, so the page's policy allows none.
async function decodeImage(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "none" });
  } catch (err) {
    return createImageBitmap(file);
  }
}

function imagePreview(file, token) {
  return decodeImage(file).then(
    (bitmap) => {
      if (previewToken !== token) return null; // another file was opened meanwhile
      const canvas = $("preview");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      return { width: bitmap.width, height: bitmap.height };
    },
    () => {
      noPreview(token, "No preview: this browser cannot show this image.");
      return null;
    },
  );
}

// <audio> or <video> with the browser's own controls, playing the local file; nothing plays
// until the moderator presses play, and a video starts muted.
function mediaPreview(file, kind, token) {
  const element = document.createElement(kind);
  element.controls = true;
  element.preload = "metadata";
  if (kind === "video") {
    element.muted = true;
    element.playsInline = true;
    element.setAttribute("muted", "");
    element.setAttribute("playsinline", "");
  }
  element.addEventListener("error", () => {
    noPreview(token, `No preview: this browser cannot play this ${kind}.`);
  });
  mediaUrl = URL.createObjectURL(file);
  element.src = mediaUrl;
  $("media").append(element);
  $("media-box").hidden = false;
}

async function textPreview(file, token) {
  let text;
  try {
    // As a stream: a character cut at the end of the slice (the invisible C2PA wrapper is
    // made of 4-byte characters) is left out, never shown as a replacement character.
    const head = await file.slice(0, TEXT_PREVIEW_BYTES).arrayBuffer();
    text = new TextDecoder().decode(head, { stream: true });
  } catch (err) {
    noPreview(token, "No preview: the text could not be read.");
    return;
  }
  if (previewToken !== token) return;
  const lines = text.split(/\r\n|\r|\n/);
  const shown = lines.slice(0, TEXT_PREVIEW_LINES).join("\n");
  const pre = document.createElement("pre");
  pre.className = "text-preview";
  pre.textContent = lines.length > TEXT_PREVIEW_LINES || file.size > TEXT_PREVIEW_BYTES ? shown + "\n…" : shown;
  $("media").append(pre);
  $("media-box").hidden = false;
}

// The preview of ``file``; ``mediaType`` is the report's (null when it has none).
function setPreview(file, mediaType) {
  clearPreview();
  const token = previewToken;
  previewReady = previewKind(file, mediaType).then((kind) => {
    if (previewToken !== token) return null;
    if (kind === "image") return imagePreview(file, token);
    if (kind === "audio" || kind === "video") mediaPreview(file, kind, token);
    else if (kind === "text") return textPreview(file, token).then(() => null);
    else noPreview(token, "No preview for this kind of file.");
    return null;
  });
}

// The cells of the report's grid where a found watermark is missing ("altered") or cannot
// be checked ("unknown"), in the file's pixels. Anything malformed is left out.
// The grid is the watermark's coverage, not a map of edits: it is what was observed.
function regionsOf(mark) {
  if (!mark || typeof mark !== "object" || !Array.isArray(mark.altered_regions)) return [];
  const ok = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
  return mark.altered_regions.filter(
    (r) => r && typeof r === "object" && (r.state === "altered" || r.state === "unknown")
      && ok(r.x) && ok(r.y) && ok(r.width) && ok(r.height) && ok(r.share),
  );
}

// The coverage worth showing: only when it localised something (a region that no longer
// carries the mark); cells that cannot be checked alone (sky, flat colour) say nothing.
function coverageOf(mark) {
  const regions = regionsOf(mark);
  return regions.some((r) => r.state === "altered") ? regions : [];
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
  }
  if (unknown.length) {
    parts.push(`${count(unknown)} (${areaText(unknown)}) cannot be checked (too little texture)`);
  }
  return parts.join("; ");
}

// The image preview with the watermark's coverage drawn over it when it localised something
// (``coverageOf``; altered: red, unknown: grey hatching).
async function showRegions(regions) {
  const token = previewToken;
  const layer = $("regions");
  layer.replaceChildren();
  $("regions-caption").textContent = regions.length ? "Watermark coverage: " + regionsText(regions) : "";
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
