// The figures table every bench prints: a markdown table whose two middle columns (our figure,
// the raw limit beside it) are right-aligned.
export const printFigures = (header, rows) => {
  const widths = header.map((_, c) => Math.max(...[header, ...rows].map((r) => r[c].length)));
  const numeric = (c) => c === 1 || c === 2;
  const line = (cells) => `| ${cells.map((cell, c) => (numeric(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ')} |`;
  console.log();
  console.log(line(header));
  console.log(`|${widths.map((w, c) => (numeric(c) ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
};
