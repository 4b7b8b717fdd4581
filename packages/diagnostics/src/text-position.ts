/**
 * Where in a text file a character or byte is, as a 1-based line and column:
 * for pointing at the invalid UTF-8 in a file a user gave (a manifest, an
 * eval dataset), rather than at its first line.
 */
import type { SourcePosition } from "./index.js";

/** Line and column (1-based; columns in UTF-16 code units, as the YAML parser and editors count them) of an offset into `text`. */
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

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
/** For the valid prefix only; non-fatal so a position is always found. */
const lenient = new TextDecoder("utf-8", { ignoreBOM: false });

/**
 * Decodes UTF-8 (a leading byte-order mark dropped), or gives the line and
 * column of the first byte that is not UTF-8, counted as the text before it.
 */
export function decodeUtf8(bytes: Uint8Array): { ok: true; text: string } | { ok: false; position: SourcePosition; byteOffset: number } {
  try {
    return { ok: true, text: strict.decode(bytes) };
  } catch {
    const byteOffset = firstInvalidUtf8(bytes);
    // Everything before the first bad byte is valid text: the byte sits right after it.
    const valid = lenient.decode(bytes.subarray(0, byteOffset));
    return { ok: false, position: positionOfOffset(valid, valid.length), byteOffset };
  }
}

/**
 * Byte offset where the first invalid UTF-8 sequence starts (a stray
 * continuation byte, a lead byte not followed by its continuation bytes, an
 * overlong form, a surrogate or a code point past U+10FFFF), following the
 * rules the WHATWG decoder applies.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
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

