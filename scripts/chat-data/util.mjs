// Seeded randomness and hashing for the instruction-set builder: the same seed gives the same
// files byte for byte, and the train/held-out split depends only on the fact, not on the order.

/** mulberry32: small and seedable; the data needs reproducibility, not statistical quality. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the UTF-16 units: a stable 32-bit hash of a string. */
export function hash32(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** True for the held-out share of facts: decided by the fact alone (task and key), never by order. */
export function isHeldOut(task, key, percent) {
  return hash32(`${task}\u0000${key}`) % 100 < percent;
}

export const pick = (r, xs) => xs[Math.floor(r() * xs.length)];

export const int = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));

export function shuffle(r, xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Fills {slot} placeholders; a missing slot is a bug in the builder, so it throws. */
export function fill(template, slots) {
  const text = template.replace(/\{(\w+)\}/g, (_, k) => {
    if (!(k in slots)) throw new Error(`template '${template}' needs slot '${k}'`);
    return slots[k];
  });
  // A phrasing that starts with its slot ("{ax} is a type of what?") still starts a sentence.
  return template.startsWith('{') ? capitalize(text) : text;
}

export const capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** 0..999 as English words (for "write numbers as words"). */
export function numberWords(n) {
  const ones = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
    'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
  const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
  if (!Number.isInteger(n) || n < 0 || n > 999) throw new RangeError(`numberWords: ${n}`);
  if (n < 20) return ones[n];
  if (n < 100) return tens[Math.floor(n / 10)] + (n % 10 ? `-${ones[n % 10]}` : '');
  const rest = n % 100;
  return `${ones[Math.floor(n / 100)]} hundred${rest ? ` and ${numberWords(rest)}` : ''}`;
}
