// The format with plain Node: label values holding the delimiters of
// common formats (the ones `metrics-host plugin check` tries) read back.
// `readLine` is the format's reader: change it with `line_format.js`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { line, validSeparator } from './line_format.js';

const DELIMITERS = [',', '"', '\\', '\n', '=', '{', '}', ' ', '.', '/', ';', '\t'];

function splitUnescaped(text, at) {
  const parts = [''];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') parts[parts.length - 1] += text[i] + (text[++i] ?? '');
    else if (text[i] === at) parts.push('');
    else parts[parts.length - 1] += text[i];
  }
  return parts;
}

const unescape = (text) => text.replace(/\\(.)/gs, (_, c) => (c === 'n' ? '\n' : c));

function readLine(text, separator) {
  assert.ok(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, JSON.stringify(text));
  const [name, labels, value, ...rest] = splitUnescaped(text.slice(0, -1), ' ');
  assert.deepEqual(rest, []);
  const pairs = splitUnescaped(labels, separator).map((pair) => {
    const [key, escaped, ...more] = splitUnescaped(pair, '=');
    assert.deepEqual(more, [], pair);
    return [key, unescape(escaped)];
  });
  return [name, pairs, value];
}

test('delimiters in label values read back', () => {
  for (const separator of [',', ';']) {
    for (const d of DELIMITERS) {
      const labels = [['queue', `zz${d}zz`], ['tenant', d]];
      assert.deepEqual(readLine(line('queued', labels, 1.5, separator), separator), ['queued', labels, '1.5'], JSON.stringify([separator, d]));
    }
  }
});

test('only punctuation separators are valid', () => {
  assert.deepEqual([',', ';', '|', '=', '\\', 'a', ' ', ';;', 'é'].filter(validSeparator), [',', ';', '|']);
});

test('a series without labels', () => {
  assert.equal(line('up', [], 1), 'up 1\n');
});
