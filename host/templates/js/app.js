// The FORMAT_NAME renderer: one line per series,
// `family label=value,label=value value` (written by `line_format.js`).
// Change `line_format.js` (and `render`) to write your format;
// `metrics_renderer_helpers.js` walks the batches correctly.
import { nextBatch } from 'metrics:renderer/input@0.3.0';
import { write } from 'metrics:renderer/output@0.3.0';
import { line, validSeparator } from './line_format.js';
import { Output, OutputClosed, batches, seriesOf } from './metrics_renderer_helpers.js';

const FORMAT = 'FORMAT_NAME';

export const renderer = {
  formats() {
    return [{ name: FORMAT, contentType: 'text/plain; charset=utf-8', description: 'one line per series' }];
  },

  // Checks the settings (`FORMAT_NAME.toml` beside the component) once at
  // load. Anything set here is gone in `render` (each render is a fresh
  // instance): `render` reads `options.settings` again.
  configure(settings) {
    for (const [name, value] of settings) {
      if (name !== 'label_separator') throw `unknown setting ${JSON.stringify(name)} (known: label_separator)`;
      if (!validSeparator(value)) throw `label_separator must be one ASCII punctuation character other than \\ and =, got ${JSON.stringify(value)}`;
    }
  },

  render(snapshot, format, options) {
    if (format !== FORMAT) throw { tag: 'unknown-format', val: format };
    const separator = options.settings.find(([name]) => name === 'label_separator')?.[1] ?? ',';
    const out = new Output(write);
    try {
      for (const batch of batches(nextBatch)) {
        const family = snapshot.families[batch.family];
        for (const series of seriesOf(batch, family)) out.write(line(family.name, series.labels, series.value, separator));
      }
      out.flush();
    } catch (error) {
      if (error instanceof OutputClosed) throw { tag: 'output-closed' };
      throw { tag: 'failed', val: String(error) };
    }
  },
};
