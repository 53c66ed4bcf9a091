/**
 * Sources for `pipe.writeFrom`, and how a writeFrom over one must end. Each source records whether
 * it was started and whether it was given back (iterator returned, Observable unsubscribed), so a
 * run can check that writeFrom never leaves a source running after it ends, however it ends.
 */
import { BackpressureError, ClosedError } from '@dextio/core';
import { Observable } from 'rxjs';
import { sleep } from './bounded.js';
import type { WriteFromCall } from './run.js';
import { allow, type Allowance } from './session.js';

/**
 * `iterable`: an async generator, pulled as writes can start. `observable`: pushes a chunk per
 * turn of the event loop. `observable-sync`: pushes every chunk while being subscribed, so it
 * outruns the pipe at once.
 */
export type SourceKind = 'iterable' | 'observable' | 'observable-sync';

export interface SourceState {
  started: boolean;
  finalized: boolean;
}

export function chunkSource(kind: SourceKind, values: readonly unknown[]) {
  const state: SourceState = { started: false, finalized: false };
  return { state, source: kind === 'iterable' ? iterable(values, state) : observable(values, state, kind === 'observable-sync') };
}

async function* iterable(values: readonly unknown[], state: SourceState): AsyncGenerator<Uint8Array> {
  state.started = true;
  try {
    for (let i = 0; i < values.length; i++) {
      // Every other chunk comes a turn later, as from a file or a socket.
      if (i % 2 === 1) await sleep(0);
      yield values[i] as Uint8Array;
    }
  } finally {
    state.finalized = true;
  }
}

function observable(values: readonly unknown[], state: SourceState, sync: boolean): Observable<Uint8Array> {
  return new Observable<Uint8Array>((subscriber) => {
    state.started = true;
    let timer: NodeJS.Immediate | undefined;
    let i = 0;
    const emit = () => {
      while (i < values.length && !subscriber.closed) {
        subscriber.next(values[i++] as Uint8Array);
        if (!sync) break;
      }
      if (subscriber.closed) return;
      if (i < values.length) timer = setImmediate(emit);
      else subscriber.complete();
    };
    if (sync) emit();
    else timer = setImmediate(emit);
    return () => {
      clearImmediate(timer);
      state.finalized = true;
    };
  });
}

const chunkTypeError: Allowance = {
  name: 'TypeError naming the chunk',
  test: (e) => e instanceof TypeError && !(e instanceof ClosedError) && /chunk/.test(e.message),
};

/**
 * How a writeFrom must or may end. A chunk is checked when its write starts; a synchronous
 * Observable pushes everything during subscribe, where the first `inFlight` chunks start at once
 * and the next `highWaterMark` wait, so which error comes first is known. An asynchronous one may
 * or may not outrun the pipe.
 */
export function writeFromOutcome(call: WriteFromCall, count: number, badAt: number | null): { allowed: Allowance[]; mustFail: boolean } {
  const { source, inFlight, highWaterMark } = call;
  if (source === 'observable-sync') {
    const overrun = highWaterMark !== undefined && count > inFlight + highWaterMark;
    if (badAt !== null && (badAt < inFlight || !overrun)) return { allowed: [chunkTypeError], mustFail: true };
    return overrun ? { allowed: [allow(BackpressureError)], mustFail: true } : { allowed: [], mustFail: false };
  }
  const allowed = badAt === null ? [] : [chunkTypeError];
  if (source === 'observable' && highWaterMark !== undefined) allowed.push(allow(BackpressureError));
  return { allowed, mustFail: badAt !== null };
}
