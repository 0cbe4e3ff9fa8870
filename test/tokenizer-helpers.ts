/** Test data for the tokenizer tests. */

/** Text made to stress the split patterns: runs of mixed white space, apostrophes, digits, CR/LF. */
export function adversarialText(r: () => number, n: number): string {
  const atoms = [
    ' ', ' ', '  ', '\n', '\n', '\r\n', '\n\n', '\t', ' \n', '\u00a0', '\u3000', '\u2028', '\u0085', '\ufeff',
    "'", "'s", "'S", "'re", "'LL", "'ſ", "''", '"', '.', ',', '!?', '...', '--', '(', ')', '$', '@#',
    'a', 'the', 'The', 'word', 'Zebra', 'é', 'ü', 'ß', 'ſ', 'Ω', 'жар', '中文', 'ひらがな', '한국', 'ع', 'क्षि',
    '1', '12', '123', '1234', '٣', '²', 'Ⅻ', '3.14', '😀', '👍🏽', '\u0301', '\u200d', '\u0000', '\u001f', '\u007f',
  ];
  let s = '';
  while (s.length < n) s += atoms[Math.floor(r() * atoms.length)];
  return s;
}
