// The local control plane's certificates and kubeconfigs, made with the openssl CLI (Node's crypto
// makes keys but cannot issue X.509 certificates). Everything lives under `.stack/kubernetes/pki`
// and is made once; delete the folder to start over.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** Signs and verifies ServiceAccount tokens, the service identity's credentials. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export function pkiPaths(dir: string): Pki {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
}

// Long enough that a developer's stack never meets an expired certificate.
const validDays = '3650';

const caConfig = `[req]
distinguished_name = dn
x509_extensions = v3_ca
prompt = no
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

const leafExtensions = (extendedKeyUsage: string, subjectAltName?: string) => `[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = ${extendedKeyUsage}
authorityKeyIdentifier = keyid
${subjectAltName ? `subjectAltName = ${subjectAltName}\n` : ''}`;

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ecKey(cwd: string, file: string): void {
  openssl(cwd, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
}

function issue(cwd: string, name: string, subject: string, extensions: string): void {
  ecKey(cwd, `${name}.key`);
  openssl(cwd, 'req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
  writeFileSync(join(cwd, `${name}.ext`), extensions);
  // -set_serial with random bits: two issues by one CA never share a serial.
  const serial = `0x${randomBytes(16).toString('hex')}`;
  openssl(
    cwd,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    serial,
    '-days',
    validDays,
    '-extfile',
    `${name}.ext`,
    '-extensions',
    'leaf',
    '-out',
    `${name}.crt`,
  );
  rmSync(join(cwd, `${name}.csr`));
  rmSync(join(cwd, `${name}.ext`));
}

/** Makes the CA, the serving and administrator certificates and the token key unless present. */
export function ensurePki(dir: string): Pki {
  const pki = pkiPaths(dir);
  if (existsSync(pki.serviceAccountPub)) return pki;
  // Built in a scratch folder and renamed, so an interrupted run never leaves half a PKI behind.
  const scratch = `${dir}.tmp`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  ecKey(scratch, 'ca.key');
  writeFileSync(join(scratch, 'ca.cnf'), caConfig);
  openssl(
    scratch,
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=tnth-local-ca',
    '-days',
    validDays,
    '-config',
    'ca.cnf',
    '-out',
    'ca.crt',
  );
  rmSync(join(scratch, 'ca.cnf'));
  issue(scratch, 'apiserver', '/CN=kube-apiserver', leafExtensions('serverAuth', 'IP:127.0.0.1,DNS:localhost'));
  // system:masters is the group RBAC cannot restrict: the tests' administrator.
  issue(scratch, 'admin', '/O=system:masters/CN=tnth-admin', leafExtensions('clientAuth'));
  ecKey(scratch, 'sa.key');
  openssl(scratch, 'pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
  rmSync(dir, { recursive: true, force: true });
  renameSync(scratch, dir);
  return pki;
}

export interface KubeconfigUser {
  name: string;
  clientCertificate?: string;
  clientKey?: string;
  token?: string;
}

/** A kubeconfig with one cluster, one user and one context, written atomically. */
export function writeKubeconfig(file: string, server: string, caCert: string, user: KubeconfigUser): void {
  const credentials = user.token
    ? [`    token: ${user.token}`]
    : [`    client-certificate: ${user.clientCertificate}`, `    client-key: ${user.clientKey}`];
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: tnth-local',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority: ${caCert}`,
    'users:',
    `  - name: ${user.name}`,
    '    user:',
    ...credentials.map((line) => `  ${line}`),
    'contexts:',
    `  - name: ${user.name}@tnth-local`,
    '    context:',
    '      cluster: tnth-local',
    `      user: ${user.name}`,
    `current-context: ${user.name}@tnth-local`,
    '',
  ].join('\n');
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
