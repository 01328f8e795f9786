import type { ApprovalResult, PendingApproval } from '../core/approvals.js';

/** `/govern approve ID` or `/govern deny ID reason`, on a line of its own anywhere in a comment. */
const COMMAND = /^[ \t]*\/govern[ \t]+(approve|deny)[ \t]+(apr_[0-9a-f]+)(?:[ \t]+(.*))?$/m;

export interface ApprovalCommand {
  approve: boolean;
  id: string;
  reason?: string;
}

export function parseCommand(body: string): ApprovalCommand | undefined {
  const m = COMMAND.exec(body);
  if (!m) return undefined;
  const reason = m[3]?.trim();
  return { approve: m[1] === 'approve', id: m[2]!, ...(reason && { reason }) };
}

/** The comment that asks for an approval: what, where, by which rule, and how to answer. */
export function requestMessage(request: PendingApproval, context: { requester?: string; approvers: readonly string[]; timeoutMs: number }): string {
  const fence = request.operation.includes('```') ? '~~~' : '```';
  const minutes = Math.round(context.timeoutMs / 60_000);
  return [
    `**govern** holds an operation for approval: request \`${request.id}\``,
    '',
    `Connection \`${request.connection}\`, rule \`${request.rule}\`${context.requester ? `, run by @${context.requester}` : ''}:`,
    '',
    `${fence}sql`,
    request.operation,
    fence,
    '',
    `Reply \`/govern approve ${request.id}\` or \`/govern deny ${request.id} <reason>\`.`,
    `Approvers: ${context.approvers.join(', ')}. Without an answer it is denied in ${minutes >= 1 ? `${minutes} min` : `${Math.round(context.timeoutMs / 1000)} s`}.`,
  ].join('\n');
}

export function outcomeLine(result: ApprovalResult): string {
  if (result.outcome === 'approved') return `**Approved** by @${result.by}.`;
  if (result.outcome === 'timeout') return '**Timed out**: nobody answered, so it was denied.';
  return `**Denied** by ${result.by === 'govern' ? 'govern' : `@${result.by}`}${result.reason ? `: ${result.reason}` : ''}.`;
}
