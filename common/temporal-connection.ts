import { readFile } from 'node:fs/promises';
import type { Config } from './config.js';

/** What both the client's Connection and the worker's NativeConnection accept. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

/** Address, TLS / mTLS and API key (Temporal Cloud) from the configuration, for client and worker. */
export async function temporalConnectionOptions(config: Config): Promise<TemporalConnectionOptions> {
  const tlsWanted =
    config.TEMPORAL_TLS || config.TEMPORAL_TLS_CERT_FILE !== undefined || config.TEMPORAL_API_KEY !== undefined;
  const read = async (file: string | undefined, variable: string) => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (error) {
      throw new Error(`${variable}=${file}: cannot read the file (${(error as Error).message})`, { cause: error });
    }
  };
  const [ca, cert, key] = await Promise.all([
    read(config.TEMPORAL_TLS_CA_FILE, 'TEMPORAL_TLS_CA_FILE'),
    read(config.TEMPORAL_TLS_CERT_FILE, 'TEMPORAL_TLS_CERT_FILE'),
    read(config.TEMPORAL_TLS_KEY_FILE, 'TEMPORAL_TLS_KEY_FILE'),
  ]);
  return {
    address: config.TEMPORAL_ADDRESS,
    ...(tlsWanted
      ? {
          tls: {
            ...(config.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME } : {}),
            ...(ca ? { serverRootCACertificate: ca } : {}),
            ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
          },
        }
      : {}),
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}
