// The FORMAT_NAME line: `family label=value,label=value value` (the
// separator between labels is the `label_separator` setting). Label
// values are escaped so that every value reads back (`test_line_format.mjs`
// holds the reader: change both together). Kept apart from `app.js`, which
// needs the component's bindings, so it is tested with plain Node.
import { goFloat } from './metrics_renderer_helpers.js';

// What the line uses as delimiters; most values hold none: test once,
// replace only then.
const SPECIALS = /[\\\n, =]/;
const ESCAPED = { '\\': '\\\\', '\n': '\\n', ',': '\\,', ' ': '\\ ', '=': '\\=' };

// One ASCII punctuation character that is not an escape or `=`.
export const validSeparator = (separator) => /^[!-\/:-@\[-`{-~]$/.test(separator) && separator !== '\\' && separator !== '=';

export function escape(value, separator = ',') {
  if (!SPECIALS.test(value) && !value.includes(separator)) return value;
  return Array.from(value, (c) => ESCAPED[c] ?? (c === separator ? `\\${c}` : c)).join('');
}

// One series; `name` is final (the host already put any ?prefix= in front).
export function line(name, labels, value, separator = ',') {
  if (labels.length === 0) return `${name} ${goFloat(value)}\n`;
  return `${name} ${labels.map(([k, v]) => `${k}=${escape(v, separator)}`).join(separator)} ${goFloat(value)}\n`;
}
