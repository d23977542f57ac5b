/**
 * Test helper: an API server on a socket in a fresh temporary directory,
 * in front of a FakeVm (run mode) or a factory of them (serve mode; a
 * restored one gets the snapshot's config).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from './client.js';
import { VmmController, type ControllerSource } from './controller.js';
import { FakeVm } from './fake-vm.js';
import { listenApi, type ApiServer } from './server.js';

/** A server, its client and its VM(s), torn down by close(). */
export interface TestServer {
  readonly dir: string;
  readonly path: string;
  readonly controller: VmmController;
  readonly server: ApiServer;
  readonly client: ApiClient;
  /** The VM in run mode; in serve mode the last one the factory built. */
  vm(): FakeVm;
  close(): Promise<void>;
}

/** Starts a server. `mode: 'run'` gives it a running FakeVm; `'serve'` builds one on PUT /v1/vm or PUT /v1/vm/restore. */
export async function startTestServer(mode: 'run' | 'serve' = 'run'): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-api-'));
  const path = join(dir, 'api.sock');
  let last: FakeVm | null = null;
  let source: ControllerSource;
  if (mode === 'run') {
    last = new FakeVm();
    last.start();
    source = { vm: last };
  } else {
    source = {
      factory: async (config) => (last = new FakeVm(config)),
      restorer: async (snapshot) => (last = new FakeVm(snapshot.manifest.config)),
    };
  }
  const controller = new VmmController(source, { version: '0.0.0-test' });
  const server = await listenApi(path, controller, { version: '0.0.0-test' });
  return {
    dir,
    path,
    controller,
    server,
    client: new ApiClient(path),
    vm: () => {
      if (last === null) throw new Error('no VM yet');
      return last;
    },
    close: async () => {
      await server.close();
      controller.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
