// The FORMAT_NAME line: `family label=value,label=value value`. Label
// values are escaped so that every value reads back (`test_line_format.mjs`
// holds the reader: change both together). Kept apart from `app.js`, which
// needs the component's bindings, so it is tested with plain Node.
import { goFloat } from './metrics_renderer_helpers.js';

// What the line uses as delimiters; most values hold none: test once,
// replace only then.
const SPECIALS = /[\\\n, =]/;
export const escape = (value) => (SPECIALS.test(value) ? value.replace(/[\\, =]/g, '\\$&').replace(/\n/g, '\\n') : value);

// One series; `name` is final (the host already put any ?prefix= in front).
export function line(name, labels, value) {
  if (labels.length === 0) return `${name} ${goFloat(value)}\n`;
  return `${name} ${labels.map(([k, v]) => `${k}=${escape(v)}`).join(',')} ${goFloat(value)}\n`;
}
