import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { renderApiDocs } from './api-docs.js';
import type { JsonObject } from './openapi.js';
import { startTestServer } from './test-server.js';

// Compiled, this file is dist/src/api/: the repository's docs/ is three levels up.
const committed = new URL('../../../docs/api.md', import.meta.url);

it('docs/api.md is the rendering of the OpenAPI document the server serves', async () => {
  const t = await startTestServer('run');
  try {
    const served = (await t.client.request('GET', '/openapi.json')).body as JsonObject;
    const expected = renderApiDocs(served);
    const actual = readFileSync(committed, 'utf8');
    if (actual !== expected) {
      const a = actual.split('\n');
      const e = expected.split('\n');
      const line = a.findIndex((l, i) => l !== e[i]);
      assert.fail(
        `docs/api.md is out of date (first difference at line ${line + 1}: ${JSON.stringify(a[line])} vs ${JSON.stringify(e[line])}); ` +
          'regenerate it: npm run build && node dist/src/api/api-docs.js > docs/api.md',
      );
    }
  } finally {
    await t.close();
  }
});

it('documents every error code and every endpoint', () => {
  const text = readFileSync(committed, 'utf8');
  for (const code of ['invalid-state', 'hotplug-unsupported', 'body-too-large', 'unsupported-media-type', 'not-found', 'method-not-allowed']) {
    assert.match(text, new RegExp(`\\| \`${code}\` \\| \\d{3} \\|`));
  }
  for (const ep of ['GET /v1/vm', 'PUT /v1/vm', 'POST /v1/vm/pause', 'GET /v1/vm/inspect', 'POST /v1/vm/snapshot', 'GET /v1/events']) {
    assert.ok(text.includes(`### ${ep}\n`), ep);
  }
});
