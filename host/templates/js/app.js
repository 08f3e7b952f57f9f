// The FORMAT_NAME renderer: one line per series,
// `family label=value,label=value value` (written by `line_format.js`).
// Change `line_format.js` (and `render`) to write your format;
// `metrics_renderer_helpers.js` walks the batches correctly.
import { nextBatch } from 'metrics:renderer/input@0.3.0';
import { write } from 'metrics:renderer/output@0.3.0';
import { line } from './line_format.js';
import { Output, OutputClosed, batches, seriesOf } from './metrics_renderer_helpers.js';

const FORMAT = 'FORMAT_NAME';

export const renderer = {
  formats() {
    return [{ name: FORMAT, contentType: 'text/plain; charset=utf-8', description: 'one line per series' }];
  },

  configure(settings) {
    for (const [name] of settings) throw `unknown setting ${JSON.stringify(name)}: this plugin takes no settings`;
  },

  render(snapshot, format, options) {
    if (format !== FORMAT) throw { tag: 'unknown-format', val: format };
    const out = new Output(write);
    try {
      for (const batch of batches(nextBatch)) {
        const family = snapshot.families[batch.family];
        for (const series of seriesOf(batch, family)) out.write(line(family.name, series.labels, series.value));
      }
      out.flush();
    } catch (error) {
      if (error instanceof OutputClosed) throw { tag: 'output-closed' };
      throw { tag: 'failed', val: String(error) };
    }
  },
};
