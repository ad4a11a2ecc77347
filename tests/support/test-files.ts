/**
 * Files for tests and the benchmark, made in Node: a real PNG, and large files that are never
 * held whole in memory, with the in-page check of their bytes (no test-runner imports here).
 */
import { createHash, randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import type { Page } from '@playwright/test'

export interface TestFile {
  name: string
  mimeType: string
  buffer: Buffer
}

/**
 * A real PNG, so that an <img> can prove it was displayed: of one colour, or of random pixels
 * (`noise`), which do not compress, so its size is about width × height × 3 bytes.
 */
export const pngFile = (name: string, { width = 8, height = 8, rgb = [47, 111, 236], noise = false } = {}): TestFile => {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, no interlace
  const solidRow = Buffer.from(Array.from({ length: width }, () => rgb).flat())
  // Each row starts with its filter type: 0, none.
  const row = () => Buffer.concat([Buffer.from([0]), noise ? randomBytes(width * 3) : solidRow])
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, row)))
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return {
    name,
    mimeType: 'image/png',
    buffer: Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]),
  }
}

/**
 * A large file whose bytes follow a pattern of `seed`, written to `path` in pieces, so neither
 * the test nor the page ever holds it whole: `patternMismatchInPage` checks a copy chunk by chunk.
 */
export interface PatternFile {
  name: string
  path: string
  size: number
  seed: number
  sha256: string
}

export const writePatternFile = async (path: string, size: number, seed: number): Promise<PatternFile> => {
  const file = await open(path, 'w')
  const hash = createHash('sha256')
  const chunkBytes = 4 * 1024 * 1024
  try {
    for (let offset = 0; offset < size; offset += chunkBytes) {
      const chunk = patternBytes(offset, Math.min(chunkBytes, size - offset), seed)
      hash.update(chunk)
      await file.write(chunk)
    }
  } finally {
    await file.close()
  }
  return { name: basename(path), path, size, seed, sha256: hash.digest('hex') }
}

/** Byte `i` of the pattern: four bytes of a multiplicative hash of `i >> 2` and the seed. */
const patternBytes = (offset: number, length: number, seed: number): Buffer => {
  const bytes = Buffer.alloc(length)
  for (let index = 0; index < length; index += 1) {
    const position = offset + index
    const word = (Math.imul((position >>> 2) + seed, 2654435761) >>> 0) ^ seed
    bytes[index] = (word >>> ((position & 3) * 8)) & 0xff
  }
  return bytes
}

/**
 * Reads `url` in the page (through its service worker) as a stream and compares every byte with
 * the pattern: the first differing offset, or -1 when all `size` bytes match (and no more came).
 */
export const patternMismatchInPage = (page: Page, storeId: string, { sha256, size, seed }: PatternFile): Promise<number> =>
  page.evaluate(
    async ({ url, size, seed }) => {
      const response = await fetch(url)
      if (!response.ok || !response.body) return 0
      const reader = response.body.getReader()
      let position = 0
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return position === size ? -1 : position
        for (let index = 0; index < value.byteLength; index += 1, position += 1) {
          const word = (Math.imul((position >>> 2) + seed, 2654435761) >>> 0) ^ seed
          if (value[index] !== ((word >>> ((position & 3) * 8)) & 0xff)) return position
        }
      }
    },
    { url: `/files/${storeId}/${sha256}`, size, seed },
  )

/**
 * The SHA-256 of every file in a device's OPFS folder of the store, computed from its bytes there,
 * by its name there (the hash it should have). Reads each file whole: for small files.
 */
export const opfsDigests = (page: Page, storeId: string): Promise<Record<string, string>> =>
  page.evaluate(async (storeId) => {
    const root = await navigator.storage.getDirectory()
    const folder = await (await root.getDirectoryHandle('files')).getDirectoryHandle(storeId)
    // TypeScript's DOM types lack the handle's async iteration (lib "DOM.AsyncIterable").
    const entries = (folder as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()
    const digests: Record<string, string> = {}
    for await (const [name, handle] of entries) {
      if (!(handle instanceof FileSystemFileHandle) || !/^[0-9a-f]{64}$/.test(name)) continue
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await (await handle.getFile()).arrayBuffer()))
      digests[name] = [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('')
    }
    return digests
  }, storeId)
