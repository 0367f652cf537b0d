/**
 * The reader's side of epg-train's export: the manifest format and its check are @epg/vit's (one
 * definition for the writer and the readers); this module adds the page's SHA-256.
 */
import { checkExportManifest, type ExportManifest } from '@epg/vit';

export { EXPORT_FORMAT, EXPORT_VERSION } from '@epg/vit';
export type Manifest = ExportManifest;
export const checkManifest = checkExportManifest;

/** Lower-case hex SHA-256 of bytes (WebCrypto: the browser's and Node's globalThis.crypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
