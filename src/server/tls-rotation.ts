// The TLS listener's certificate files: the pair read at start, then watched (as the config file is:
// in-place writes, renames, and the Kubernetes Secret volume's `..data` swap), and a changed pair loaded
// into the running server, so new connections get it without a restart while open ones keep theirs. A
// pair that cannot be read or does not load (a half-written file, a key that does not match) is logged
// and the pair in use stays.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Http2SecureServer } from 'node:http2';
import type { Logger } from '../log/logger.js';
import { watchConfig, type ConfigWatcher } from '../config/watch.js';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
}

/** Watches the pair's files and loads each new pair into `server` (`loaded`: the pair it started with); `close()` stops watching. */
export function rotateCertificates(server: Http2SecureServer, files: CertificateFiles, loadedAtStart: CertificatePair, logger: Logger): ConfigWatcher {
  let loaded = loadedAtStart;
  const reload = () => {
    let next: CertificatePair;
    try {
      next = readPair(files);
    } catch (error) {
      logger.warn({ err: error, ...files }, 'http2.tls: the certificate or key cannot be read; the one in use stays');
      return;
    }
    if (next.cert.equals(loaded.cert) && next.key.equals(loaded.key)) return;
    try {
      server.setSecureContext(next);
    } catch (error) {
      logger.warn({ err: error, ...files }, 'http2.tls: the new certificate and key do not load; the ones in use stay');
      return;
    }
    loaded = next;
    logger.info({ ...files, ...describe(next.cert) }, 'http2.tls: new certificate loaded for new connections');
  };
  const onError = (error: Error) => logger.warn({ err: error }, 'http2.tls watch');
  const watchers = [...new Set([files.certFile, files.keyFile])].map((path) => watchConfig(path, reload, { onError }));
  return { close: () => watchers.forEach((watcher) => watcher.close()) };
}

/** The certificate (chain) and key as the files hold them; throws naming the field and file that cannot be read. */
export function readPair(files: CertificateFiles): CertificatePair {
  const read = (field: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`http2.tls.${field}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  return { cert: read('certFile', files.certFile), key: read('keyFile', files.keyFile) };
}

/** The leaf certificate's subject, expiry and fingerprint, for the log. */
function describe(cert: Buffer): { subject?: string; validTo?: string; fingerprint256?: string } {
  try {
    const leaf = new X509Certificate(cert);
    return { subject: leaf.subject, validTo: leaf.validTo, fingerprint256: leaf.fingerprint256 };
  } catch {
    return {};
  }
}
