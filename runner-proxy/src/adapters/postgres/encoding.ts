/**
 * Client encodings as PostgreSQL names them (src/common/encnames.c): a name is looked up with every
 * character but letters and digits dropped and letters lower-cased, so `UTF-8`, `utf8` and `Unicode`
 * are all UTF8. The server reports the value as it was set when it is `UNICODE`, so ParameterStatus
 * can carry an alias.
 */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  SQL_ASCII: ['sqlascii'],
  EUC_JP: ['eucjp'],
  EUC_CN: ['euccn'],
  EUC_KR: ['euckr'],
  EUC_TW: ['euctw'],
  EUC_JIS_2004: ['eucjis2004'],
  UTF8: ['utf8', 'unicode'],
  MULE_INTERNAL: ['muleinternal'],
  LATIN1: ['latin1', 'iso88591'],
  LATIN2: ['latin2', 'iso88592'],
  LATIN3: ['latin3', 'iso88593'],
  LATIN4: ['latin4', 'iso88594'],
  LATIN5: ['latin5', 'iso88599'],
  LATIN6: ['latin6', 'iso885910'],
  LATIN7: ['latin7', 'iso885913'],
  LATIN8: ['latin8', 'iso885914'],
  LATIN9: ['latin9', 'iso885915'],
  LATIN10: ['latin10', 'iso885916'],
  WIN1256: ['win1256', 'windows1256'],
  WIN1258: ['win1258', 'windows1258', 'abc', 'tcvn', 'tcvn5712', 'vscii'],
  WIN866: ['win866', 'windows866', 'alt'],
  WIN874: ['win874', 'windows874'],
  KOI8R: ['koi8r', 'koi8'],
  WIN1251: ['win1251', 'windows1251', 'win'],
  WIN1252: ['win1252', 'windows1252'],
  ISO_8859_5: ['iso88595'],
  ISO_8859_6: ['iso88596'],
  ISO_8859_7: ['iso88597'],
  ISO_8859_8: ['iso88598'],
  WIN1250: ['win1250', 'windows1250'],
  WIN1253: ['win1253', 'windows1253'],
  WIN1254: ['win1254', 'windows1254'],
  WIN1255: ['win1255', 'windows1255'],
  WIN1257: ['win1257', 'windows1257'],
  KOI8U: ['koi8u'],
  SJIS: ['sjis', 'shiftjis', 'mskanji', 'win932', 'windows932'],
  BIG5: ['big5', 'win950', 'windows950'],
  GBK: ['gbk', 'win936', 'windows936'],
  UHC: ['uhc', 'win949', 'windows949'],
  GB18030: ['gb18030'],
  JOHAB: ['johab'],
  SHIFT_JIS_2004: ['shiftjis2004'],
};

/**
 * Client-only encodings: a second byte of their characters can be an ASCII byte (a quote, a
 * backslash), so the gateway's parser and the server could read a statement's quoting differently.
 * Every server encoding keeps ASCII bytes for ASCII characters.
 */
const CLIENT_ONLY = new Set(['SJIS', 'BIG5', 'GBK', 'UHC', 'GB18030', 'JOHAB', 'SHIFT_JIS_2004']);

const CANONICAL = new Map(Object.entries(ALIASES).flatMap(([name, aliases]) => aliases.map((alias) => [alias, name] as const)));

/** The encoding's own name for any spelling PostgreSQL accepts; undefined for one it does not know. */
export function canonicalEncoding(name: string): string | undefined {
  return CANONICAL.get(name.replace(/[^A-Za-z0-9]/g, '').toLowerCase());
}

/** Whether statements in this client encoding quote as they read in UTF-8 (unknown names are not). */
export function quotesReadAlike(name: string): boolean {
  const canonical = canonicalEncoding(name);
  return canonical !== undefined && !CLIENT_ONLY.has(canonical);
}
