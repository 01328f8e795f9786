import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import forge from 'node-forge';

const HOUR = 3600_000;
/** A run is a CI job: a day covers it, and the CA is worthless once the gateway stops anyway. */
const VALIDITY = 24 * HOUR;

function newKeys(): { pem: string; forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  // Node generates the key natively (fast); forge only signs.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { pem, forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

/** GeneralName tags (RFC 5280 §4.2.1.6) of the name forms the constraints speak of. */
const DNS_NAME = 2;
const IP_ADDRESS = 7;
/** Every IPv4 and every IPv6 address: address and mask all zero. */
const ANY_IP = ['\0'.repeat(8), '\0'.repeat(32)];
/** A domain that never resolves (RFC 6761), permitted when no DNS name is: a constraint binds only the forms it names. */
const NO_DNS_NAME = 'invalid';
/** forge's address parser (its type declarations omit it); null for what it cannot read. */
const bytesFromIP = (forge.util as unknown as { bytesFromIP(ip: string): string | null }).bytesFromIP;

/** An IP address as the bytes X.509 holds. IPv6 is put in canonical form first: forge cannot read `::ffff:1.2.3.4`. */
function addressBytes(ip: string): string {
  const bytes = bytesFromIP(isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip);
  if (bytes === null) throw new Error(`${ip} is not an IP address a certificate can name`);
  return bytes;
}

function subtree(tag: number, base: string): forge.asn1.Asn1 {
  const { create, Class, Type } = forge.asn1;
  return create(Class.UNIVERSAL, Type.SEQUENCE, true, [create(Class.CONTEXT_SPECIFIC, tag, false, base)]);
}

/** `{a,b}.example.com` as `a.example.com` and `b.example.com` (globs do not nest braces). */
function expandBraces(pattern: string): string[] {
  const group = /\{([^{}]*)\}/.exec(pattern);
  if (!group) return [pattern];
  return group[1]!.split(',').flatMap((choice) => expandBraces(pattern.slice(0, group.index) + choice + pattern.slice(group.index + group[0].length)));
}

/**
 * The nameConstraints extension (RFC 5280 §4.2.1.10, critical) that lets the run's CA vouch only for
 * the names it intercepts. A host name permits itself; since a dNSName constraint also permits every
 * name below it, those are excluded unless another entry reaches them. A glob permits what follows its
 * last wildcard: `*.example.com` and `**.example.com` permit `.example.com` (the names below it, not
 * the apex), `api-*.example.com` too. An IP address permits itself alone. A name form with nothing
 * permitted is closed (DNS: only `invalid`; IP: every address excluded); a glob whose last label is
 * a wildcard (`*`, `example.*`) leaves DNS names open, and one that could match an address (`10.0.*.*`)
 * leaves IP addresses open. Undefined when both are open.
 */
function nameConstraints(intercepted: readonly string[]): { id: string; critical: true; value: forge.asn1.Asn1 } | undefined {
  const dnsNames = new Set<string>();
  const addresses: string[] = [];
  let anyDnsName = false;
  let anyAddress = false;
  for (const pattern of intercepted.flatMap(expandBraces)) {
    const wildcard = Math.max(pattern.lastIndexOf('*'), pattern.lastIndexOf('?'));
    if (wildcard < 0) {
      if (isIP(pattern)) addresses.push(addressBytes(pattern));
      else dnsNames.add(pattern);
      continue;
    }
    const dot = pattern.indexOf('.', wildcard);
    if (dot < 0) anyDnsName = true;
    else dnsNames.add(pattern.slice(dot));
    if (/^[\d.*?]*$/.test(pattern) || pattern.includes(':')) anyAddress = true;
  }
  if (anyDnsName && anyAddress) return undefined;
  const { create, Class, Type } = forge.asn1;
  const permitted: forge.asn1.Asn1[] = [];
  const excluded: forge.asn1.Asn1[] = [];
  if (!anyDnsName) {
    if (!dnsNames.size) permitted.push(subtree(DNS_NAME, NO_DNS_NAME));
    for (const name of dnsNames) {
      permitted.push(subtree(DNS_NAME, name));
      if (name.startsWith('.')) continue;
      // The names below a host, unless another entry permits some of them or a glob's subtree holds the host.
      const below = `.${name}`;
      if (![...dnsNames].some((other) => other.endsWith(below) || (other.startsWith('.') && name.endsWith(other)))) excluded.push(subtree(DNS_NAME, below));
    }
  }
  if (!anyAddress) {
    for (const address of addresses) permitted.push(subtree(IP_ADDRESS, address + '\xff'.repeat(address.length)));
    if (!addresses.length) excluded.push(...ANY_IP.map((any) => subtree(IP_ADDRESS, any)));
  }
  const trees = [create(Class.CONTEXT_SPECIFIC, 0, true, permitted), create(Class.CONTEXT_SPECIFIC, 1, true, excluded)].filter((t) => (t.value as unknown[]).length);
  return { id: '2.5.29.30', critical: true, value: create(Class.UNIVERSAL, Type.SEQUENCE, true, trees) };
}

function baseCertificate(publicKey: forge.pki.PublicKey, now: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive serial: the high bit cleared.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(now - HOUR);
  cert.validity.notAfter = new Date(now + VALIDITY);
  return cert;
}

/**
 * A certificate authority made for this run alone (the forward proxy's, and the PostgreSQL listeners'):
 * its private key exists only in this process's memory and is never written anywhere, and its name
 * constraints let it vouch only for the hosts it is made for (the ones the run intercepts, loopback). Leaf certificates share one key and are made per host on first use,
 * then cached.
 */
export class RunCertificateAuthority {
  readonly certPem: string;
  readonly #caKey: forge.pki.rsa.PrivateKey;
  readonly #caCert: forge.pki.Certificate;
  readonly #leafKey: ReturnType<typeof newKeys>;
  readonly #contexts = new Map<string, SecureContext>();

  /** `intercepted`: the host names, addresses and host globs (lower case) the proxy opens. */
  constructor(label: string, intercepted: readonly string[], now = Date.now()) {
    const ca = newKeys();
    const cert = baseCertificate(ca.publicKey, now);
    const name = [
      { name: 'commonName', value: `govern run CA ${label}` },
      { name: 'organizationName', value: 'govern (this CI run only)' },
    ];
    cert.setSubject(name);
    cert.setIssuer(name);
    const constraints = nameConstraints(intercepted);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
      ...(constraints ? [constraints] : []),
    ]);
    cert.sign(ca.forgeKey, forge.md.sha256.create());
    this.#caKey = ca.forgeKey;
    this.#caCert = cert;
    this.certPem = forge.pki.certificateToPem(cert);
    this.#leafKey = newKeys();
  }

  /** The TLS context the job sees for `host`: a certificate for that name, signed by this CA. */
  contextFor(host: string): SecureContext {
    let context = this.#contexts.get(host);
    if (!context) {
      context = createSecureContext({ key: this.#leafKey.pem, cert: this.issue(host) + this.certPem });
      this.#contexts.set(host, context);
    }
    return context;
  }

  /** A certificate (PEM) for `host` signed by this CA, whether or not its name constraints allow the host. */
  issue(host: string): string {
    const cert = baseCertificate(this.#leafKey.publicKey, Date.now());
    const ip = isIP(host);
    // An address goes in the SAN alone: verifiers check a common name that looks like a DNS name (as
    // 127.0.0.1 does) against the DNS constraints. An empty subject makes the SAN critical (RFC 5280).
    cert.setSubject(ip ? [] : [{ name: 'commonName', value: host.slice(0, 64) }]);
    cert.setIssuer(this.#caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [ip ? { type: IP_ADDRESS, value: addressBytes(host) } : { type: DNS_NAME, value: host }], critical: ip > 0 },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.#caCert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    cert.sign(this.#caKey, forge.md.sha256.create());
    return forge.pki.certificateToPem(cert);
  }
}
