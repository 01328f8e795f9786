/**
 * Every event type the recorder writes, in one place: `Recorder.append` and `Governor.note` take only
 * these, and the report, the job summary and replay read their severity, whether each is an incident
 * and their label from here. A unit test (events.test.ts) fails when a type listed here is written
 * nowhere in the sources.
 *
 * Severity: `info` is the session's course; `warning` something the gateway refused or could not
 * relay, the job going on; `error` something that failed. An incident is an event the report and the
 * summary list on their own: a refusal or a failure that no listed operation shows.
 */

export type Severity = 'info' | 'warning' | 'error';

export interface EventKind {
  readonly severity: Severity;
  readonly incident: boolean;
  /** What the report, the summary and replay call it. */
  readonly label: string;
  /** The field that says in a few words what happened, shown after the label. */
  readonly detail?: string;
  /** What the event records, in one line. */
  readonly meaning: string;
}

export const EVENTS = {
  'session.start': { severity: 'info', incident: false, label: 'session start', meaning: 'the gateway began recording: session id, identity, the policy and its digest, the signing key, the job binding' },
  'listener.ready': { severity: 'info', incident: false, label: 'listening', meaning: 'a connection of the policy listens: its protocol, target and the variables exported to the job' },
  'session.end': { severity: 'info', incident: false, label: 'session end', meaning: 'the session ended: why, and the manifest counts' },
  'process.start': { severity: 'info', incident: false, label: 'command started', detail: 'command', meaning: 'govern run started the job command (its text masked)' },
  'process.exit': { severity: 'info', incident: false, label: 'command exited', meaning: "the job command's exit status or signal and duration" },
  'connection.open': { severity: 'info', incident: false, label: 'connection opened', detail: 'peer', meaning: 'the job opened a connection through a listener: its peer, and what the protocol says of the client' },
  'connection.close': { severity: 'info', incident: false, label: 'connection closed', detail: 'reason', meaning: 'a job connection ended, naming its connection.open and why' },
  operation: { severity: 'info', incident: false, label: 'operation', detail: 'text', meaning: 'one statement, command or request as classified, with the verdict, the rule and the masks it got' },
  results: { severity: 'info', incident: false, label: 'results', meaning: 'results of earlier operations with no other event to ride on within 10 ms' },
  discovery: { severity: 'info', incident: false, label: 'discovery', meaning: 'what results revealed (source columns, detector matches), for policy suggest and policy test' },
  'approval.requested': { severity: 'info', incident: false, label: 'approval requested', detail: 'request_id', meaning: 'an operation is held until a person decides: the request id, the rule and where approvers answer' },
  'approval.decided': { severity: 'info', incident: false, label: 'approval decided', detail: 'outcome', meaning: 'a held operation was approved, denied or timed out, by whom and why' },
  cancel: { severity: 'info', incident: false, label: 'cancel request', meaning: 'a PostgreSQL cancel request was relayed to the target' },
  transfer: { severity: 'info', incident: false, label: 'file transfer', detail: 'path', meaning: 'an SFTP file transfer finished: path, direction, bytes and SHA-256' },
  tunnel: { severity: 'info', incident: false, label: 'tunnel', detail: 'host', meaning: 'a CONNECT tunnel to a host the policy lets through unread ended: bytes each way and duration' },
  'websocket.frame': { severity: 'info', incident: false, label: 'WebSocket frame', meaning: 'a WebSocket frame relayed on an upgraded HTTP connection (text frames masked)' },
  'ssh.unsupported': { severity: 'warning', incident: false, label: 'not relayed', detail: 'feature', meaning: 'a rule allowed agent or X11 forwarding, which the gateway does not relay; the operation is listed' },
  'ssh.env.refused': { severity: 'warning', incident: false, label: 'environment variable refused', detail: 'name', meaning: 'an SSH env request the target does not allow, refused (clients send LANG and LC_* routinely)' },
  'auth.failed': { severity: 'warning', incident: true, label: 'authentication refused', detail: 'message', meaning: "a job connection without the job's credentials was refused" },
  'proxy.refused': { severity: 'warning', incident: true, label: 'egress refused', detail: 'host', meaning: "the forward proxy refused a host and port not on the policy's egress list" },
  'protocol.violation': { severity: 'warning', incident: true, label: 'protocol violation', detail: 'message', meaning: 'a PostgreSQL message the gateway cannot read safely ended its connection' },
  'protocol.refused': { severity: 'warning', incident: true, label: 'command refused', detail: 'command', meaning: 'a MySQL command the gateway does not relay, or text it cannot read as the target will (sql_mode), was refused; the connection stays' },
  'http.malformed': { severity: 'warning', incident: true, label: 'malformed request', detail: 'problem', meaning: 'an HTTP request the parser refused (two lengths, bare CR or LF, oversized head…) ended its connection' },
  'http.ambiguous': { severity: 'warning', incident: true, label: 'ambiguous request', detail: 'problem', meaning: 'an HTTP request the target could read otherwise than the rules do was refused' },
  'connection.failed': { severity: 'error', incident: true, label: 'target connection failed', detail: 'message', meaning: 'the target could not be reached or refused the connection the gateway opened for the job' },
  'protocol.error': { severity: 'error', incident: true, label: 'SFTP error', detail: 'error', meaning: 'an SFTP stream the gateway could not follow was closed' },
  'gateway.fault': { severity: 'error', incident: true, label: 'gateway fault', detail: 'error', meaning: "an error escaped a connection's own handling: that connection ended and the gateway served on" },
} as const satisfies Readonly<Record<string, EventKind>>;

export type EventType = keyof typeof EVENTS;

/** The catalogue's entry for a type read from a bundle, which may come from another version of govern. */
export function eventKind(type: string): EventKind | undefined {
  return Object.hasOwn(EVENTS, type) ? EVENTS[type as EventType] : undefined;
}

/** What the report, the summary and replay call a type: its label, or the type itself when the catalogue lacks it. */
export function eventLabel(type: string): string {
  return eventKind(type)?.label ?? type;
}

/** The event's label and, when its detail field is set, that detail: how the report and replay name it. */
export function describeEvent(event: { readonly type: string; readonly [field: string]: unknown }): { kind?: EventKind; label: string; detail: string } {
  const kind = eventKind(event.type);
  const value = kind?.detail === undefined ? undefined : event[kind.detail];
  return { ...(kind && { kind }), label: eventLabel(event.type), detail: value === undefined || value === null ? '' : String(value) };
}
