/**
 * GET /v1/events as Server-Sent Events (the WHATWG text/event-stream
 * format): one `event:`/`data:` block per VM event, the current state
 * first, a comment line as heartbeat so dead clients are noticed, and the
 * end of the stream after the VM's exit event.
 */
import type { ServerResponse } from 'node:http';
import type { VmEvent } from '../vm/vm.js';
import type { VmmController } from './controller.js';
import { toJsonText } from './http.js';

/** How often an idle stream sends a comment line (ms). */
export const HEARTBEAT_MS = 15_000;

/** Formats one event: `event: TYPE`, `id: N`, one `data:` line of JSON, a blank line. */
export function formatSse(event: { readonly type: string }, id: number): string {
  // JSON never contains a raw newline, so one data line carries the whole object.
  return `event: ${event.type}\nid: ${id}\ndata: ${toJsonText(event)}\n\n`;
}

/** The events a new subscriber sees first: the current state, and the exit if the VM has stopped. */
export function initialEvents(controller: VmmController): VmEvent[] {
  const vm = controller.vm;
  if (vm === null) return [];
  const first: VmEvent[] = [{ type: 'state', state: vm.state }];
  if (vm.state === 'stopped' && vm.exit) first.push({ type: 'exit', code: vm.exit.code, reason: vm.exit.reason });
  return first;
}

/** Streams the controller's events to `res` until the VM exits or the client goes away. */
export function streamEvents(res: ServerResponse, controller: VmmController): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  let id = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    off();
    clearInterval(heartbeat);
    res.end();
  };
  const send = (e: VmEvent) => {
    if (ended) return;
    res.write(formatSse(e, ++id));
    if (e.type === 'exit') end();
  };
  // Subscribing and sending the current state happen in one turn of the
  // event loop, so no event can fall between them.
  const off = controller.on(send);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  res.on('close', end);
  res.on('error', end);
  // Tell the client the stream is open even before the VM exists (serve mode).
  res.write(': tsvmm events\n\n');
  for (const e of initialEvents(controller)) send(e);
}
