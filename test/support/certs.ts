// Keys and certificates made with openssl for tests that speak TLS: for the cluster tier's control plane a CA,
// the API server's serving certificate for 127.0.0.1, an admin client certificate (group system:masters, as
// envtest's admin user) and the service-account signing key pair the TokenRequest API signs with.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Certs {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

const CLIENT_AUTH = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

export function makeCerts(dir: string): Certs {
  const file = (name: string) => join(dir, name);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=stepwise-test-ca',
    ],
    dir,
  );

  signCertificate(
    dir,
    'serving',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  signCertificate(dir, 'admin', '/O=system:masters/CN=admin', CLIENT_AUTH);
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    servingCert: file('serving.crt'),
    servingKey: file('serving.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPublicKey: file('sa.pub'),
  };
}

/** A key and a certificate `<name>.crt` signed by the CA of `dir` (ca.crt, ca.key), with the given extensions. */
export function signCertificate(dir: string, name: string, subject: string, extensions: string): void {
  const file = (n: string) => join(dir, n);
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ],
    dir,
  );
  writeFileSync(file(`${name}.ext`), extensions);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

/** A client certificate (`<name>.crt`, `<name>.key`) signed by the CA of `dir`. */
export function signClientCertificate(dir: string, name: string, subject: string): void {
  signCertificate(dir, name, subject, CLIENT_AUTH);
}

export const pem = (path: string) => readFileSync(path, 'utf8');
