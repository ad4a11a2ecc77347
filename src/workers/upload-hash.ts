/**
 * The SHA-256 of an upload in parts, computed as its parts arrive, so that completing the upload
 * needs no second read of the whole object. That read cost the Worker a full pass of CPU time
 * and R2 reads at the end of every large upload, and under local R2 (Miniflare) hundreds of MB
 * of workerd's memory (scripts/worker-memory.ts: +259 MiB for 1 GiB).
 *
 * Between the part requests, the running hash lives in a small R2 object beside the upload (its
 * "chain"): SHA-256's state after the last part hashed, the state before it (so that the same
 * part may be sent again, as a retry after a lost answer does), and a digest of the parts' etags
 * in order. Parts must come one after the other, as the page sends them; a part that comes out
 * of order, or two that race, break the chain for good, and completing then reads the object
 * back as before. The chain is trusted only when it covers parts 1…n exactly, with the etags the
 * complete names: the bytes it hashed are then the bytes R2 joins.
 *
 * Why the chain never claims bytes R2 does not hold: before a part is stored, the chain is
 * written back to where that part starts (so it claims nothing of it), and it moves past the
 * part only by a write conditional on that version, once R2 has stored the part. A part stored
 * outside of the chain (out of order, or racing another) removes the chain first, and a removed
 * chain is never made again for that upload.
 */
import { type SavedState, SHA256 } from '@stablelib/sha256'

import type { FileStorage } from './storage/types.ts'

/** One point of the chain: the hash state after part `after` (0: nothing hashed yet). */
interface Link {
  after: number
  /** SHA-256's running state (stablelib's SavedState, encoded for JSON). */
  state: { words: number[]; buffer: string; bufferLength: number; bytesHashed: number }
  /** A digest of `partNumber:etag` of every part so far, in order (hex; '' before the first). */
  etags: string
}

interface Chain {
  current: Link
  /** The link before `current`: where a part sent again starts from. */
  previous: Link | null
  /**
   * New with every write. R2's etag of an object follows its content, and a conditional write
   * must see any other write in between, even one of the same content.
   */
  nonce?: string
}

/** Where an upload's chain is kept: apart from the files (`<store>/<sha256>`), never listed with them. */
export const CHAINS_PREFIX = '.upload-hashes/'
export const chainKey = (fileKey: string, uploadId: string): string => `${CHAINS_PREFIX}${fileKey}/${uploadId}`

/** What the chain needs of the storage (./storage/types.ts): a conditional put, in particular. */
export type ChainBucket = Pick<FileStorage, 'get' | 'put' | 'delete'>

/** Starts the chain of a new upload: nothing hashed yet. */
export const startChain = async (bucket: ChainBucket, key: string): Promise<void> => {
  const chain: Chain = { current: { after: 0, state: encode(new SHA256().saveState()), etags: '' }, previous: null, nonce: crypto.randomUUID() }
  await bucket.put(key, JSON.stringify(chain))
}

/** Forgets an upload's chain (completed or aborted). One that cannot be removed now is only a few hundred bytes left over. */
export const dropChain = (bucket: ChainBucket, key: string): Promise<void> => bucket.delete(key).catch(() => {})

export interface PartHashing {
  /** Hashes the part's bytes, in order, before they go to R2. */
  update(bytes: Uint8Array): void
  /** Once R2 stored the part: moves the chain past it (or breaks it, if another request moved it meanwhile). */
  stored(etag: string): Promise<void>
}

/**
 * Before part `partNumber` is stored: the hashing that moves the chain past it, or undefined
 * when the chain cannot take this part (none, broken, or the part out of order), in which case
 * the chain is removed first and completing will read the object back.
 *
 * The chain is first written back at the point this part starts from, with a nonce: a request
 * that stores the part and then fails or is cut off leaves a chain that does not claim the part,
 * and two requests at once cannot both move it (the later conditional write finds the version
 * changed and removes the chain).
 */
export const hashPart = async (bucket: ChainBucket, key: string, partNumber: number): Promise<PartHashing | undefined> => {
  const read = await readChain(bucket, key)
  if (read === undefined) return undefined
  const { chain, etag: version } = read
  let start: Chain
  if (chain.current.after === partNumber - 1) start = { current: chain.current, previous: chain.previous }
  // The same part again (a retry after a lost answer): from the link before it.
  else if (chain.current.after === partNumber && chain.previous?.after === partNumber - 1) start = { current: chain.previous, previous: null }
  else return breakChain(bucket, key)
  const started = await bucket.put(key, JSON.stringify({ ...start, nonce: crypto.randomUUID() }), { onlyIfEtag: version })
  if (started === null) return breakChain(bucket, key)

  const base = start.current
  const hasher = new SHA256().restoreState(decode(base.state))
  return {
    update: (bytes) => void hasher.update(bytes),
    async stored(partEtag) {
      const next: Chain = {
        current: { after: partNumber, state: encode(hasher.saveState()), etags: await etagsDigest(base.etags, partNumber, partEtag) },
        previous: base,
        nonce: crypto.randomUUID(),
      }
      const moved = await bucket.put(key, JSON.stringify(next), { onlyIfEtag: started.etag })
      // Another request for this upload moved the chain since: which bytes R2 kept is not
      // known here, so the chain goes.
      if (moved === null) await bucket.delete(key)
    },
  }
}

/**
 * The SHA-256 (hex) of the object that completing `parts` makes, if the chain hashed exactly
 * those parts (1…n, in order, with these etags); otherwise undefined, and the object must be
 * read back to know it.
 */
export const chainedDigest = async (
  bucket: ChainBucket,
  key: string,
  parts: ReadonlyArray<{ partNumber: number; etag: string }>,
  size: number,
): Promise<string | undefined> => {
  const read = await readChain(bucket, key)
  if (read === undefined) return undefined
  const { current } = read.chain
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber)
  if (current.after !== sorted.length || sorted.some((part, index) => part.partNumber !== index + 1)) return undefined
  if (current.state.bytesHashed !== size) return undefined
  let etags = ''
  for (const part of sorted) etags = await etagsDigest(etags, part.partNumber, part.etag)
  if (etags !== current.etags) return undefined
  return hex(new SHA256().restoreState(decode(current.state)).digest())
}

const readChain = async (bucket: ChainBucket, key: string): Promise<{ chain: Chain; etag: string } | undefined> => {
  const object = await bucket.get(key)
  if (object === null) return undefined
  try {
    return { chain: JSON.parse(await new Response(object.body).text()) as Chain, etag: object.etag }
  } catch {
    return undefined // not one of ours: treated as no chain
  }
}

/** Removes the chain for good (a part is stored outside of it); fails when it cannot be removed. */
export const breakChain = async (bucket: ChainBucket, key: string): Promise<undefined> => {
  await bucket.delete(key)
  return undefined
}

const etagsDigest = async (before: string, partNumber: number, etag: string): Promise<string> =>
  hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${before}:${partNumber}:${etag}`))))

const encode = (saved: SavedState): Link['state'] => ({
  words: [...saved.state],
  buffer: saved.buffer ? toBase64(saved.buffer.subarray(0, saved.bufferLength)) : '',
  bufferLength: saved.bufferLength,
  bytesHashed: saved.bytesHashed,
})

const decode = (state: Link['state']): SavedState => ({
  state: Int32Array.from(state.words),
  buffer: state.bufferLength > 0 ? fromBase64(state.buffer) : undefined,
  bufferLength: state.bufferLength,
  bytesHashed: state.bytesHashed,
})

const hex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
const toBase64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes))
const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (char) => char.charCodeAt(0))
