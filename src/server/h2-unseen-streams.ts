// Counts the client streams of an HTTP/2 session that node reset before its 'stream' event (a header list
// over SETTINGS_MAX_HEADER_LIST_SIZE once acknowledged: RST_STREAM ENHANCE_YOUR_CALM), which node reports
// nowhere: as the stream ids the session processed (state.lastProcStreamID) that the handler never got.
// Never touches a stream or the session's frames.
import type { ServerHttp2Session } from 'node:http2';
import { http2StreamsRefusedTotal } from '../metrics/registry.js';

/**
 * Counts the gap before each delivered stream, and on the client's GOAWAY the streams after the last one
 * delivered (node keeps no state once the session is destroyed, so a connection dropped without GOAWAY
 * leaves its trailing refusals uncounted). Client stream ids are odd and rise (RFC 9113 §5.1.1); node's
 * client uses each in turn, so a skipped id is a refused stream.
 */
export function countUnseenStreams(session: ServerHttp2Session): void {
  let accountedId = -1; // the highest client stream id delivered or counted; the first stream is 1
  const countUpTo = (lastUnseenId: number): void => {
    const unseen = Math.floor((lastUnseenId - accountedId) / 2);
    if (unseen > 0) http2StreamsRefusedTotal.inc(unseen);
    accountedId = Math.max(accountedId, lastUnseenId);
  };
  session.on('stream', (stream) => {
    const id = stream.id ?? 0;
    countUpTo(id - 2);
    accountedId = Math.max(accountedId, id);
  });
  session.on('goaway', () => countUpTo(session.state.lastProcStreamID ?? 0));
}
