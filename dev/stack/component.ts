/** A server process of the local stack, started detached and tracked by pid. */
export interface StackProcess {
  /** Unique within the stack; names the pid and log files. */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Loopback ports it listens on; they must be free before it starts. */
  ports: number[];
  /** What `status` prints, for example `{ grpc: '127.0.0.1:7233' }`. */
  endpoints: Record<string, string>;
  /** Resolves true once the process serves requests; polled until `readyTimeoutMs`. */
  isReady(): Promise<boolean>;
  readyTimeoutMs?: number;
}

export interface StackContext {
  root: string;
  /** `.stack/` in the repository: databases, logs, pid files, generated configuration. */
  stackDir: string;
  /** The per-user tools cache (`$TNTH_CACHE`). */
  cacheDir: string;
  log(message: string): void;
}

/** One part of the stack (Temporal, the AWS emulator, Kubernetes): its processes and its env entries. */
export interface StackComponent {
  name: string;
  /** Writes what the processes need (configuration, certificates); idempotent. */
  prepare?(ctx: StackContext): Promise<void>;
  processes(ctx: StackContext): StackProcess[];
  /** Runs once every process is ready (registrations, bootstrap objects); idempotent. */
  afterReady?(ctx: StackContext): Promise<void>;
  /** The `.stack/env` entries it provides. */
  env(ctx: StackContext): Record<string, string>;
}
