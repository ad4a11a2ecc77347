import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { type ChainBucket, chainedDigest, hashPart, startChain } from '../../src/workers/upload-hash.ts'

/**
 * R2 for the chain, in memory: an object's etag follows its content (as R2's MD5 does), and a
 * conditional put stores nothing when the etag moved on, or the object is gone.
 */
const memoryBucket = () => {
  const objects = new Map<string, string>()
  const etagOf = (text: string) => createHash('md5').update(text).digest('hex')
  const described = (key: string, text: string) => ({
    key,
    size: text.length,
    uploaded: new Date(),
    contentType: 'application/json',
    customMetadata: {},
    etag: etagOf(text),
  })
  const bucket: ChainBucket = {
    get: async (key) => {
      const text = objects.get(key)
      return text === undefined ? null : { ...described(key, text), body: new Response(text).body as ReadableStream<Uint8Array> }
    },
    put: async (key, value, options) => {
      if (typeof value !== 'string') throw new Error('the chain is JSON text')
      const current = objects.get(key)
      if (options?.onlyIfEtag !== undefined && (current === undefined || etagOf(current) !== options.onlyIfEtag)) return null
      objects.set(key, value)
      return described(key, value)
    },
    delete: async (keys) => {
      for (const key of [keys].flat()) objects.delete(key)
    },
  }
  return { bucket, objects }
}

const key = '.upload-hashes/store/abc/upload-1'
const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex')
}
/** Sizes that do not fall on SHA-256's 64-byte blocks, so that the saved state carries a partial block. */
const parts = [randomBytes(1_000), randomBytes(1_000), randomBytes(333)]
const size = parts.reduce((total, part) => total + part.byteLength, 0)

/** Stores part `partNumber` as the Worker does: through the hashing, then the chain moves on. */
const send = async (bucket: ChainBucket, partNumber: number, bytes: Uint8Array, etag = `etag-${partNumber}-${sha256(bytes).slice(0, 8)}`) => {
  const hashing = await hashPart(bucket, key, partNumber)
  if (hashing) {
    // In chunks, as a request body arrives.
    // In pieces that do not fall on SHA-256's blocks either.
    for (let offset = 0; offset < bytes.byteLength; offset += 100) hashing.update(bytes.subarray(offset, offset + 100))
    await hashing.stored(etag)
  }
  return { partNumber, etag, hashed: hashing !== undefined }
}

describe('the SHA-256 of an upload in parts, hashed as the parts arrive', () => {
  test('parts sent one after the other give the SHA-256 of the whole, with no read of it', async () => {
    const { bucket } = memoryBucket()
    await startChain(bucket, key)
    const sent = []
    for (const [index, bytes] of parts.entries()) sent.push(await send(bucket, index + 1, bytes))
    expect(sent.every((part) => part.hashed)).toBe(true)
    expect(await chainedDigest(bucket, key, sent, size)).toBe(sha256(...parts))
  })

  test('a part sent again (its answer was lost) is hashed again from the part before', async () => {
    const { bucket } = memoryBucket()
    await startChain(bucket, key)
    const first = await send(bucket, 1, parts[0]!)
    await send(bucket, 2, randomBytes(1_000)) // stored, then sent again with other bytes
    const second = await send(bucket, 2, parts[1]!)
    const third = await send(bucket, 3, parts[2]!)
    expect(third.hashed).toBe(true)
    expect(await chainedDigest(bucket, key, [first, second, third], size)).toBe(sha256(...parts))
  })

  test('says nothing unless it hashed exactly the parts completed: other etags, a part missing, another size', async () => {
    const { bucket } = memoryBucket()
    await startChain(bucket, key)
    const sent = []
    for (const [index, bytes] of parts.entries()) sent.push(await send(bucket, index + 1, bytes))
    expect(await chainedDigest(bucket, key, [sent[0]!, { ...sent[1]!, etag: 'another' }, sent[2]!], size)).toBeUndefined()
    expect(await chainedDigest(bucket, key, sent.slice(0, 2), size)).toBeUndefined()
    expect(await chainedDigest(bucket, key, sent, size + 1)).toBeUndefined()
    expect(await chainedDigest(bucket, key, [...sent].reverse(), size)).toBe(sha256(...parts))
  })

  test('a part out of order breaks the chain for good: completing then reads the object back', async () => {
    const { bucket, objects } = memoryBucket()
    await startChain(bucket, key)
    const first = await send(bucket, 1, parts[0]!)
    const third = await send(bucket, 3, parts[2]!)
    expect(third.hashed).toBe(false)
    expect(objects.has(key)).toBe(false)
    const second = await send(bucket, 2, parts[1]!)
    expect(second.hashed).toBe(false)
    expect(await chainedDigest(bucket, key, [first, second, third], size)).toBeUndefined()
  })

  test('an earlier part sent again after later ones breaks the chain, so its old bytes are never vouched for', async () => {
    const { bucket } = memoryBucket()
    await startChain(bucket, key)
    const sent = []
    for (const [index, bytes] of parts.entries()) sent.push(await send(bucket, index + 1, bytes))
    // Part 1 replaced by other bytes that R2 happens to give the same etag.
    const again = await send(bucket, 1, randomBytes(1_000), sent[0]!.etag)
    expect(again.hashed).toBe(false)
    expect(await chainedDigest(bucket, key, sent, size)).toBeUndefined()
  })

  test('two requests for the same part at once break the chain, whichever order they end in', async () => {
    for (const order of [[0, 1], [1, 0]]) {
      const { bucket } = memoryBucket()
      await startChain(bucket, key)
      const first = await send(bucket, 1, parts[0]!)
      const racing = [await hashPart(bucket, key, 2), await hashPart(bucket, key, 2)]
      for (const index of order) await racing[index]?.stored(`etag-2-${index}`)
      expect(await chainedDigest(bucket, key, [first, { partNumber: 2, etag: `etag-2-${order[1]}` }], 2_000)).toBeUndefined()
    }
  })

  test('a request cut off after R2 stored its part leaves a chain that does not claim it', async () => {
    const { bucket } = memoryBucket()
    await startChain(bucket, key)
    const first = await send(bucket, 1, parts[0]!)
    const second = await send(bucket, 2, parts[1]!)
    // Part 2 sent again with other bytes: R2 stores them, and the Worker is stopped before
    // it records them (the client went away).
    const cutOff = await hashPart(bucket, key, 2)
    expect(cutOff).toBeDefined()
    expect(await chainedDigest(bucket, key, [first, second], 2_000)).toBeUndefined()
  })

  test('an upload without a chain (started before it existed, or its chain removed) is simply not hashed', async () => {
    const { bucket } = memoryBucket()
    expect(await hashPart(bucket, key, 1)).toBeUndefined()
    expect(await chainedDigest(bucket, key, [{ partNumber: 1, etag: 'e' }], 1)).toBeUndefined()
  })
})
