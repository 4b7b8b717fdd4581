/**
 * Turns the bytes of a manifest into text, refusing what is not UTF-8 text:
 * binary data, other encodings, NUL and other control characters.
 */
import type { SourcePosition } from "@slmops/diagnostics";

/** A refusal carries the line and column of the offending character (or byte). */
export type DecodeResult = { ok: true; text: string } | { ok: false; message: string; hint?: string; position: SourcePosition };

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
/** For the valid prefix only, where it cannot fail; non-fatal so a position is always found. */
const lenient = new TextDecoder("utf-8", { ignoreBOM: false });

export function decodeManifestText(input: string | Uint8Array): DecodeResult {
  let text: string;
  if (typeof input === "string") {
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) {
      return { ok: false, message: "the manifest is UTF-16 text; slmops reads UTF-8 only", hint: "save the file as UTF-8", position: { line: 1, column: 1 } };
    }
    try {
      text = decoder.decode(input);
    } catch {
      // Everything before the first bad byte is valid text: the byte sits right after it.
      const valid = lenient.decode(input.subarray(0, firstInvalidUtf8(input)));
      return { ok: false, message: "the manifest is not UTF-8 text (is it a binary file?)", hint: "slmops.yaml must be a UTF-8 YAML text file", position: positionOfOffset(valid, valid.length) };
    }
  }
  const control = findControlCharacter(text);
  if (control !== -1) {
    const code = text.charCodeAt(control);
    const what = code === 0 ? "a NUL byte" : `the control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    return { ok: false, message: `the manifest contains ${what} (is it a binary file?)`, hint: "slmops.yaml must be a UTF-8 YAML text file", position: positionOfOffset(text, control) };
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

/**
 * Byte offset where the first invalid UTF-8 sequence starts (a stray
 * continuation byte, a lead byte not followed by its continuation bytes, an
 * overlong form, a surrogate or a code point past U+10FFFF), following the
 * rules the WHATWG decoder applies.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const extra = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (extra === 0 || i + extra >= bytes.length) return i;
    const [low, high] = lead === 0xe0 ? [0xa0, 0xbf] : lead === 0xed ? [0x80, 0x9f] : lead === 0xf0 ? [0x90, 0xbf] : lead === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    const second = bytes[i + 1] as number;
    if (second < low || second > high) return i;
    for (let k = 2; k <= extra; k++) {
      const next = bytes[i + k] as number;
      if (next < 0x80 || next > 0xbf) return i;
    }
    i += extra + 1;
  }
  return i;
}

/** Line and column (1-based, columns in UTF-16 code units as the YAML parser counts them) of an offset into `text`. */
export function positionOfOffset(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
