/**
 * Turns the bytes of a manifest into text, refusing what is not UTF-8 text:
 * binary data, other encodings, NUL and other control characters.
 */
export type DecodeResult = { ok: true; text: string } | { ok: false; message: string; hint?: string; offset: number };

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function decodeManifestText(input: string | Uint8Array): DecodeResult {
  let text: string;
  if (typeof input === "string") {
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) {
      return { ok: false, message: "the manifest is UTF-16 text; slmops reads UTF-8 only", hint: "save the file as UTF-8", offset: 0 };
    }
    try {
      text = decoder.decode(input);
    } catch {
      return { ok: false, message: "the manifest is not UTF-8 text (is it a binary file?)", hint: "slmops.yaml must be a UTF-8 YAML text file", offset: firstInvalidUtf8(input) };
    }
  }
  const control = findControlCharacter(text);
  if (control !== -1) {
    const code = text.charCodeAt(control);
    const what = code === 0 ? "a NUL byte" : `the control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    return { ok: false, message: `the manifest contains ${what} (is it a binary file?)`, hint: "slmops.yaml must be a UTF-8 YAML text file", offset: control };
  }
  return { ok: true, text };
}

/** Index of the first character YAML forbids (C0 controls other than tab, LF, CR; DEL; C1 controls), or -1. */
function findControlCharacter(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f || (c >= 0x80 && c <= 0x9f && c !== 0x85)) return i;
  }
  return -1;
}

/** Byte offset of the first invalid UTF-8 sequence, for a position to report. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let low = 0;
  let high = bytes.length;
  // The longest valid prefix, found by bisection over whole-prefix decoding (bounded by the size limit).
  const valid = (end: number): boolean => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if (valid(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}
