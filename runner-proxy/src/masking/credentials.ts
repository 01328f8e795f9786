/**
 * Credentials written into text the gateway records (a command line, a statement): a password in a
 * URL (postgres://u:p@h/db) or in a key=value connection string (password=p), and shell assignments to
 * variables named like secrets (PGPASSWORD=p). Names and users stay; the secret is replaced.
 */
// Every repetition that can start anywhere is bounded, so a multi-megabyte statement stays linear.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@'"]{1,256}):[^\s@/'"]{1,256}@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)\s{0,8}=\s{0,8}('[^']{0,256}'|"[^"]{0,256}"|[^\s'";]{1,256})/gi;
const SECRET_ASSIGNMENT = /\b([A-Z][A-Z0-9_]{0,63}(?:PASSWORD|SECRET|TOKEN|_KEY))=('[^']{0,256}'|"[^"]{0,256}"|[^\s'"]{1,256})/g;

/** What every pattern above needs somewhere in the text: one quick scan spares the three for most statements. */
const MAYBE_CREDENTIAL = /:\/\/|pass|pwd|secret|token|_key/i;

export function hideCredentials(text: string): string {
  if (!MAYBE_CREDENTIAL.test(text)) return text;
  return text
    .replace(URL_PASSWORD, '$1:[masked]@')
    .replace(KEY_VALUE_PASSWORD, '$1=[masked]')
    .replace(SECRET_ASSIGNMENT, '$1=[masked]');
}
