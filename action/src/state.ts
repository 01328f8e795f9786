import * as core from '@actions/core';

/** What main leaves for post, through the runner's GITHUB_STATE. */
export interface SavedState {
  outDir: string;
  pid: number;
  publicKey: string;
}

export const State = {
  save(state: SavedState): void {
    core.saveState('govern', JSON.stringify(state));
  },
  /** Undefined when main never got as far as starting the gateway. */
  load(): SavedState | undefined {
    const raw = core.getState('govern');
    return raw ? (JSON.parse(raw) as SavedState) : undefined;
  },
};
