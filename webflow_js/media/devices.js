// getUserMedia with errors a page can show: every failure becomes a MediaError with a stable
// `code` (for the page's logic) and a sentence for the user (`message`).

export class MediaError extends Error {
  constructor(code, message, cause) {
    super(message);
    this.name = "MediaError";
    this.code = code;
    this.cause = cause;
  }
}

// DOMException name -> [code, message]; {what} is "camera" or "microphone".
const REASONS = {
  NotAllowedError: ["permission-denied", "Permission to use the {what} was denied. Allow it for this site (the icon beside the address bar) and reload the page."],
  SecurityError: ["permission-denied", "This page is not allowed to use the {what} (blocked by its permissions policy)."],
  NotFoundError: ["no-device", "No {what} was found. Connect one and reload the page."],
  NotReadableError: ["device-busy", "The {what} could not be started: another application may be using it."],
  AbortError: ["device-busy", "The {what} could not be started."],
  OverconstrainedError: ["unsupported-settings", "The {what} cannot provide the requested settings ({constraint})."],
};

export async function requestStream(what, constraints) {
  if (!globalThis.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new MediaError("insecure-context", `The ${what} is only available on secure pages (https:// or http://localhost).`);
  }
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (e) {
    const [code, text] = REASONS[e?.name] || ["unavailable", `The ${what} could not be opened ({detail}).`];
    const message = text.replace("{what}", what).replace("{constraint}", e?.constraint || "").replace("{detail}", `${e?.name}: ${e?.message}`);
    throw new MediaError(code, message, e);
  }
}
