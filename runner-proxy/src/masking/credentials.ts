/**
 * Credentials written into text the gateway records (a command line, a statement): a password in a
 * URL (postgres://u:p@h/db) or in a key=value connection string (password=p), and shell assignments to
 * variables named like secrets (PGPASSWORD=p). Names and users stay; the secret is replaced.
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]+):[^\s@/'"]+@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)\s*=\s*('[^']*'|"[^"]*"|[^\s'";]+)/gi;
const SECRET_ASSIGNMENT = /\b([A-Z][A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|_KEY))=('[^']*'|"[^"]*"|[^\s'"]+)/g;

export function hideCredentials(text: string): string {
  return text
    .replace(URL_PASSWORD, '$1:[masked]@')
    .replace(KEY_VALUE_PASSWORD, '$1=[masked]')
    .replace(SECRET_ASSIGNMENT, '$1=[masked]');
}
