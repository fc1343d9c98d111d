// Bidirectional control characters: the marks and overrides that reorder how text is displayed
// (U+202E makes "xlab \u202Eevil\u202C" show as "xlab live"). Names refuse them (validate.ts); the
// pages neutralize any in names stored before. Here, with the pages, because they may import only
// their own modules (and src/data); the store imports it from here.

/** LRM, RLM, ALM, the embeddings and overrides (U+202A–U+202E) and the isolates (U+2066–U+2069). */
export const BIDI_CONTROL = /[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/;

/** The text with every bidirectional control shown as U+FFFD, so that it displays as stored. */
export const neutralizeBidi = (s: string) => s.replace(new RegExp(BIDI_CONTROL.source, 'g'), '\ufffd');
