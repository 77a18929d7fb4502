// A listener that could not bind, said with the config field it came from and what the error means,
// instead of node's bare "listen EADDRINUSE: address already in use 127.0.0.1:8080". Pure.

const MEANING: Record<string, string> = {
  EADDRINUSE: 'the address is in use by another process',
  EADDRNOTAVAIL: 'no network interface of this machine has that address',
  EACCES: 'not permitted (ports below 1024 need privileges)',
};

/** The error to throw when `field`'s listener on `address` failed with `error`. */
export function bindFailure(field: string, address: string, error: unknown): Error {
  const code = (error as { code?: string } | null)?.code;
  const why = (code !== undefined ? MEANING[code] : undefined) ?? (error as Error).message;
  return new Error(`${field}: cannot listen on ${address}: ${why}`, { cause: error });
}
