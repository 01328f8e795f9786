import { hasGlobSyntax } from '../base/glob.js';
import type { ClaimValue, TrustEntry } from './types.js';

/**
 * The audience is no boundary: any workflow on a forge can ask for a token with `aud: govern`. What
 * keeps a stranger out is a trust entry that names the repository by an id the forge never gives to
 * another repository (names are re-registered after a rename or deletion).
 */
interface Forge {
  name: string;
  /** Claims holding a stable id: the repository (project) itself, or its owner (group). */
  ids: readonly [repository: string, owner: string];
  /** Claims holding a name, which binds only until the name is given to someone else. */
  names: readonly string[];
  ownerWord: string;
}

const FORGES: Readonly<Record<'github' | 'gitlab', Forge>> = {
  github: { name: 'GitHub', ids: ['repository_id', 'repository_owner_id'], names: ['repository', 'repository_owner'], ownerWord: 'organisation' },
  gitlab: { name: 'GitLab', ids: ['project_id', 'namespace_id'], names: ['project_path', 'namespace_path'], ownerWord: 'group' },
};

/** The forge whose tokens a trust entry is written for: by its issuer, or for any other issuer (GHES) by the claims it names. */
export function forgeOfEntry(entry: TrustEntry): Forge | undefined {
  if (entry.issuer === 'github' || entry.issuer === 'gitlab') return FORGES[entry.issuer];
  const claims = Object.keys(entry.claims);
  return Object.values(FORGES).find((f) => claims.some((c) => f.ids.includes(c) || f.names.includes(c)));
}

/** The forge that minted a token, by the id claims it carries. */
export function forgeOfToken(payload: Readonly<Record<string, unknown>>): Forge | undefined {
  return Object.values(FORGES).find((f) => f.ids.some((c) => payload[c] !== undefined));
}

const exact = (value: ClaimValue | readonly ClaimValue[] | undefined): boolean =>
  value !== undefined && (Array.isArray(value) ? (value as readonly ClaimValue[]) : [value as ClaimValue]).every((v) => typeof v !== 'string' || !hasGlobSyntax(v));

const namesAnId = (entry: TrustEntry, forge: Forge): boolean => forge.ids.some((c) => exact(entry.claims[c]));

/** Whether an entry binds the repository by a stable id or an exact `sub`, or says it means every repository. */
export function isPinned(entry: TrustEntry, forge: Forge): boolean {
  return entry.anyRepository === true || namesAnId(entry, forge) || exact(entry.claims.sub);
}

/** Why an entry lets in every repository on the forge, as the sentence that says what to add. */
export function unpinnedReason(forge: Forge): string {
  const [repository, owner] = forge.ids;
  return (
    `names no ${forge.name} repository by id, so it lets in every repository on the forge that asks for a token: ` +
    `add ${repository} (or ${owner} for a whole ${forge.ownerWord}) or an exact sub, ` +
    `or any_repository: true if every repository is really meant`
  );
}

/** Why an entry that is pinned still deserves a warning, if it does. */
export function weakPinning(entry: TrustEntry, forge: Forge): string | undefined {
  if (namesAnId(entry, forge)) return undefined;
  if (entry.anyRepository) return `any_repository: true lets in every repository on ${forge.name} that can get a token for this audience`;
  const byName = forge.names.filter((c) => entry.claims[c] !== undefined);
  const named = byName.length ? byName.map((c) => `${c}: ${String(entry.claims[c])}`).join(', ') : 'sub';
  return `binds the repository by name only (${named}); names are given to someone else after a rename or deletion: add ${forge.ids[0]} too`;
}
