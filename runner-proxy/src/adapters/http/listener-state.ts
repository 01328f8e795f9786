import type { AdapterGovernor } from '../../core/governor.js';
import type { AdapterContext } from '../adapter.js';
import { faultSink, type FaultSink } from '../guard.js';
import type { HttpTarget } from './target.js';

/** One target as the job reaches it: through its connection's listener, or intercepted by the forward proxy. */
export interface ListenerState {
  name: string;
  target: HttpTarget;
  governor: AdapterGovernor;
  log: AdapterContext['log'];
  /** Where an error that escaped a request's handling goes: logged and recorded as a gateway fault. */
  fault: FaultSink;
}

export function listenerState(name: string, target: HttpTarget, governor: AdapterGovernor, log: AdapterContext['log']): ListenerState {
  return { name, target, governor, log, fault: faultSink(governor, log) };
}
