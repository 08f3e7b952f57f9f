// The FORMAT_NAME renderer: one line per series,
// `family label=value,label=value value`. Change `render` to write your
// format; `metrics_renderer_helpers.js` walks the batches correctly.
import { nextBatch } from 'metrics:renderer/input@0.3.0';
import { write } from 'metrics:renderer/output@0.3.0';
import { Output, OutputClosed, batches, seriesOf, goFloat } from './metrics_renderer_helpers.js';

const FORMAT = 'FORMAT_NAME';

// Most values need no escaping: test once, replace only then.
const SPECIALS = /[\\\n, =]/;
const escape = (value) => (SPECIALS.test(value) ? value.replace(/[\\, =]/g, '\\$&').replace(/\n/g, '\\n') : value);

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
        const name = family.name; // final: the host already put any ?prefix= in front
        for (const series of seriesOf(batch, family)) {
          const labels = series.labels.map(([k, v]) => `${k}=${escape(v)}`).join(',');
          out.write(labels ? `${name} ${labels} ${goFloat(series.value)}\n` : `${name} ${goFloat(series.value)}\n`);
        }
      }
      out.flush();
    } catch (error) {
      if (error instanceof OutputClosed) throw { tag: 'output-closed' };
      throw { tag: 'failed', val: String(error) };
    }
  },
};
