import { describe, expect, test } from 'vitest'

import { memoryStorage } from '../../src/file-sync/server/storage/memory.ts'
import { sha256Hex as sha256 } from '../support/sha256.ts'
import { isStorageError } from '../../src/file-sync/server/storage/types.ts'

const text = async (body: ReadableStream<Uint8Array> | undefined) => new Response(body).text()
const refusalCode = (promise: Promise<unknown>) =>
  promise.then(
    () => 'stored',
    (error: unknown) => (isStorageError(error) ? error.code : String(error)),
  )

describe('memoryStorage: the rules a FileStorage keeps', () => {
  test('stores bytes with their type and metadata, reads them whole or by range, and forgets deleted keys', async () => {
    const storage = memoryStorage()
    const stored = await storage.put('s/k', 'hello world', { contentType: 'text/plain', customMetadata: { a: '1' } })
    expect(stored).toMatchObject({ key: 's/k', size: 11, contentType: 'text/plain', customMetadata: { a: '1' } })
    expect(await storage.head('s/k')).toMatchObject({ size: 11, etag: stored?.etag })
    expect(await text((await storage.get('s/k'))?.body)).toBe('hello world')
    expect(await text((await storage.get('s/k', { range: { offset: 6, length: 5 } }))?.body)).toBe('world')
    await storage.delete(['s/k', 'never-there'])
    expect(await storage.head('s/k')).toBeNull()
    expect(await storage.get('s/k')).toBeNull()
  })

  test('refuses bytes that do not match the SHA-256 given, and stores nothing', async () => {
    const storage = memoryStorage()
    expect(await refusalCode(storage.put('s/k', 'other bytes', { sha256: sha256('hello') }))).toBe('content-mismatch')
    expect(await storage.head('s/k')).toBeNull()
    expect(await refusalCode(storage.put('s/k', 'hello', { sha256: sha256('hello') }))).toBe('stored')
  })

  test('writes conditionally on the etag, which changes with every write', async () => {
    const storage = memoryStorage()
    const first = await storage.put('k', 'same')
    const second = await storage.put('k', 'same')
    expect(second?.etag).not.toBe(first?.etag)
    expect(await storage.put('k', 'late', { onlyIfEtag: first?.etag as string })).toBeNull()
    expect(await storage.put('k', 'next', { onlyIfEtag: second?.etag as string })).not.toBeNull()
    expect(await storage.put('missing', 'x', { onlyIfEtag: 'anything' })).toBeNull()
  })

  test('lists by prefix in key order, a page at a time', async () => {
    const storage = memoryStorage()
    for (const key of ['a/3', 'a/1', 'b/1', 'a/2']) await storage.put(key, key)
    const first = await storage.list('a/', { limit: 2 })
    expect(first.objects.map((object) => object.key)).toEqual(['a/1', 'a/2'])
    const second = await storage.list('a/', { limit: 2, cursor: first.cursor as string })
    expect(second).toMatchObject({ objects: [{ key: 'a/3' }] })
    expect(second.cursor).toBeUndefined()
  })

  test('joins parts of one size (the last may be smaller), and refuses what R2 refuses', async () => {
    const storage = memoryStorage({ minPartBytes: 4 })
    const { uploadId } = await storage.createMultipartUpload('s/big', { contentType: 'text/plain', customMetadata: { declaredSize: '10' } })
    const p1 = await storage.uploadPart('s/big', uploadId, 1, new TextEncoder().encode('abcd'))
    const p2 = await storage.uploadPart('s/big', uploadId, 2, new TextEncoder().encode('efgh'))
    const p3 = await storage.uploadPart('s/big', uploadId, 3, new TextEncoder().encode('ij'))
    expect(await refusalCode(storage.completeMultipartUpload('s/big', uploadId, [p1, { partNumber: 2, etag: 'wrong' }, p3]))).toBe('invalid-part')
    expect(await refusalCode(storage.uploadPart('s/other', uploadId, 1, new Uint8Array(4)))).toBe('no-such-upload')
    const object = await storage.completeMultipartUpload('s/big', uploadId, [p3, p1, p2])
    expect(object).toMatchObject({ size: 10, contentType: 'text/plain', customMetadata: { declaredSize: '10' } })
    expect(await text((await storage.get('s/big'))?.body)).toBe('abcdefghij')
    expect(await refusalCode(storage.completeMultipartUpload('s/big', uploadId, [p1]))).toBe('no-such-upload')

    const small = await storage.createMultipartUpload('s/small', { contentType: 'text/plain', customMetadata: {} })
    const s1 = await storage.uploadPart('s/small', small.uploadId, 1, new Uint8Array(2))
    const s2 = await storage.uploadPart('s/small', small.uploadId, 2, new Uint8Array(2))
    expect(await refusalCode(storage.completeMultipartUpload('s/small', small.uploadId, [s1, s2]))).toBe('part-too-small')
    await storage.abortMultipartUpload('s/small', small.uploadId)
    expect(await refusalCode(storage.completeMultipartUpload('s/small', small.uploadId, [s1, s2]))).toBe('no-such-upload')
  })
})
