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
 * The forward proxy's certificate authority, made for this run alone: its private key exists only in
 * this process's memory and is never written anywhere. Leaf certificates share one key and are made
 * per host on first use, then cached.
 */
export class RunCertificateAuthority {
  readonly certPem: string;
  readonly #caKey: forge.pki.rsa.PrivateKey;
  readonly #caCert: forge.pki.Certificate;
  readonly #leafKey: ReturnType<typeof newKeys>;
  readonly #contexts = new Map<string, SecureContext>();

  constructor(label: string, now = Date.now()) {
    const ca = newKeys();
    const cert = baseCertificate(ca.publicKey, now);
    const name = [
      { name: 'commonName', value: `govern run CA ${label}` },
      { name: 'organizationName', value: 'govern (this CI run only)' },
    ];
    cert.setSubject(name);
    cert.setIssuer(name);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
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
      const cert = baseCertificate(this.#leafKey.publicKey, Date.now());
      cert.setSubject([{ name: 'commonName', value: host.slice(0, 64) }]);
      cert.setIssuer(this.#caCert.subject.attributes);
      const ip = isIP(host);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: host } : { type: 2, value: host }] },
        { name: 'subjectKeyIdentifier' },
        { name: 'authorityKeyIdentifier', keyIdentifier: this.#caCert.generateSubjectKeyIdentifier().getBytes() },
      ]);
      cert.sign(this.#caKey, forge.md.sha256.create());
      context = createSecureContext({ key: this.#leafKey.pem, cert: forge.pki.certificateToPem(cert) + this.certPem });
      this.#contexts.set(host, context);
    }
    return context;
  }
}
