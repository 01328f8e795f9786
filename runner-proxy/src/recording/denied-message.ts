/** What the job is told when its operation's approval is refused or runs out; the report repeats it. */
export function deniedMessage(outcome: string, by: string | undefined, reason: string | undefined, rule: string, id: string): string {
  const why = outcome === 'timeout' ? 'approval timed out' : `denied by ${by}${reason ? `: ${reason}` : ''}`;
  return `${why} (rule "${rule}", request ${id})`;
}
