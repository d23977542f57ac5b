/**
 * A stand-in for the lifecycle Vm in API, ctl and REPL unit tests: the
 * same states, verbs, errors and events as src/vm/vm.ts, no machine. It
 * records every call that changes it, so tests can assert that a refused
 * request changed nothing.
 */
import { EventEmitter } from 'node:events';
import type { InspectNode } from '../bus/device.js';
import { parseVmConfig, type VmConfig } from '../vm/config.js';
import type { MachineExit } from '../vm/machine.js';
import { VmStateError, type VmEvent, type VmState } from '../vm/vm.js';
import type { ManagedVm } from './controller.js';

/** A fake VM (see the file comment). */
export class FakeVm implements ManagedVm {
  state: VmState = 'created';
  exit: MachineExit | null = null;
  /** Every state-changing call, in order ("pause", "snapshot /tmp/x", ...). */
  readonly calls: string[] = [];
  /** Make the next snapshot() fail with this message. */
  snapshotFailure: string | null = null;
  /** Instructions "retired": grows on every inspect while running, as a real guest's counter. */
  instructions = 0n;
  boots = 0;
  private readonly emitter = new EventEmitter();
  private finished: Promise<MachineExit> | null = null;
  private finish: ((x: MachineExit) => void) | null = null;

  constructor(readonly config: VmConfig = parseVmConfig({ accel: 'emu', memory: 64 * 1024 * 1024 })) {}

  start(options: { readonly paused?: boolean } = {}): void {
    this.must('start', ['created']);
    this.calls.push(options.paused === true ? 'start paused' : 'start');
    this.finished = new Promise((r) => (this.finish = r));
    this.boots = 1;
    this.set(options.paused === true ? 'paused' : 'running');
  }

  wait(): Promise<MachineExit> {
    if (!this.finished) throw new VmStateError('wait for', this.state);
    return this.finished;
  }

  async pause(): Promise<void> {
    this.must('pause', ['running']);
    this.calls.push('pause');
    await new Promise((r) => setImmediate(r)); // as the driver: after the current slice
    this.set('paused');
  }

  resume(): void {
    this.must('resume', ['paused']);
    this.calls.push('resume');
    this.set('running');
  }

  reset(): void {
    this.must('reset', ['running', 'paused']);
    this.calls.push('reset');
    this.boots++;
    this.emitter.emit('event', { type: 'reboot', boot: this.boots, reason: 'the guest rebooted (host)' } satisfies VmEvent);
  }

  powerButton(): void {
    this.must('shut down', ['running', 'paused']);
    this.calls.push('powerButton');
  }

  nmi(): void {
    this.must('send an NMI to', ['running', 'paused']);
    this.calls.push('nmi');
  }

  stop(code = 0, reason = 'stopped by the host'): Promise<MachineExit> {
    this.calls.push('stop');
    if (this.state === 'stopped') return this.wait();
    this.exit = { code, reason };
    this.finished ??= Promise.resolve(this.exit);
    this.set('stopped');
    this.emitter.emit('event', { type: 'exit', code, reason } satisfies VmEvent);
    this.finish?.(this.exit);
    return this.finished;
  }

  /** Ends the VM as a guest power-off would. */
  powerOff(): void {
    void this.stop(0, 'the guest powered off');
  }

  async snapshot(dir: string): Promise<void> {
    this.must('snapshot', ['paused']);
    this.calls.push(`snapshot ${dir}`);
    const failure = this.snapshotFailure;
    this.snapshotFailure = null;
    if (failure !== null) throw new Error(failure);
  }

  inspect(path = ''): InspectNode | undefined {
    if (this.state === 'running') this.instructions += 1000n;
    const root: InspectNode = {
      children: {
        state: { value: this.state },
        boots: { value: this.boots, counter: true },
        machine: {
          children: {
            vcpus: {
              children: {
                '0': {
                  children: {
                    rip: { value: 0xffffffff81000000n, hex: true },
                    instructions: { value: this.instructions, counter: true },
                    halted: { value: false },
                  },
                },
              },
            },
            memory: { children: { bytes: { value: this.config.memory } } },
          },
        },
      },
    };
    let node: InspectNode | undefined = root;
    for (const part of path.split('/').filter((p) => p.length > 0)) node = node?.children?.[part];
    return node;
  }

  on(listener: (e: VmEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  private must(verb: string, states: readonly VmState[]): void {
    if (!states.includes(this.state)) throw new VmStateError(verb, this.state);
  }

  private set(state: VmState): void {
    this.state = state;
    this.emitter.emit('event', { type: 'state', state } satisfies VmEvent);
  }
}
