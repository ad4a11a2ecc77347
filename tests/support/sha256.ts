/** The SHA-256 of some bytes (or a string's UTF-8) as lowercase hex: how every test names content. */
import { createHash } from 'node:crypto'

export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')
