/**
 * Fills a store with many files at once, as if a device had added them: their events pushed to
 * the Worker's sync backend over LiveStore's own socket protocol (sync-socket.ts), and, when
 * asked, their bytes uploaded through the file API. For the browser tests and the benchmark of
 * large stores: thousands of files in seconds instead of thousands of picks. No test-runner
 * imports here.
 */
import { sha256Hex } from './sha256.ts'
import { call, openSocket, syncUrlOf } from './sync-socket.ts'

export interface SeedFile {
  id: string
  name: string
  mimeType: string
  bytes: Uint8Array<ArrayBuffer>
  /** The hash its events name instead of its bytes' (as a faulty or malicious device may write one); its bytes are then not uploaded. */
  contentHash?: string
}

export interface SeedOptions {
  /** The Worker's origin. */
  baseUrl: string
  storeId: string
  files: readonly SeedFile[]
  /** Upload the bytes too (and record them as uploaded); otherwise the files wait for a device that has them. */
  upload?: boolean
  /** Uploads at once. */
  concurrency?: number
  /**
   * How many files each event carries: 1 (the default) makes an event per fact, as stores made
   * before batch events; more makes `v1.FilesCreated` and its kin (batch-events.ts), at most 100.
   */
  factsPerEvent?: number
  /** Milliseconds since the epoch of the first file; each next one is a millisecond later. A year ago by default: a library's files are old. */
  createdAt?: number
}

/** LiveStore's sync backend takes at most 100 events per push. */
const eventsPerPush = 100

export const seedStore = async ({
  baseUrl,
  storeId,
  files,
  upload = false,
  concurrency = 8,
  factsPerEvent = 1,
  createdAt = Date.now() - 365 * 24 * 60 * 60 * 1000,
}: SeedOptions): Promise<void> => {
  const { token } = (await (await fetch(`${baseUrl}/api/auth/${storeId}`)).json()) as { token: string }
  const hashes = files.map((file) => file.contentHash ?? sha256Hex(file.bytes))

  if (upload) {
    let next = 0
    const uploadNext = async (): Promise<void> => {
      const index = next++
      const file = files[index]
      if (!file) return
      if (file.contentHash !== undefined) return uploadNext()
      const response = await fetch(`${baseUrl}/api/files/${storeId}/${hashes[index]}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': file.mimeType },
        body: file.bytes,
      })
      if (!response.ok) throw new Error(`seeding ${file.name}: the upload answered ${response.status} ${await response.text()}`)
      return uploadNext()
    }
    await Promise.all(Array.from({ length: concurrency }, uploadNext))
  }

  const facts = files.map((file, index) => {
    const at = createdAt + index
    const contentHash = hashes[index]!
    return {
      created: { id: file.id, name: file.name, mimeType: file.mimeType, size: file.bytes.byteLength, contentHash, createdAt: at },
      added: { id: `item-${file.id}`, fileId: file.id, addedAt: at },
      uploaded: upload ? { id: file.id, contentHash, remoteKey: `${storeId}/${contentHash}` } : undefined,
    }
  })
  const events: Array<{ name: string; args: unknown }> = []
  for (let start = 0; start < facts.length; start += factsPerEvent) {
    const group = facts.slice(start, start + factsPerEvent)
    const uploads = group.flatMap((fact) => (fact.uploaded ? [fact.uploaded] : []))
    if (factsPerEvent === 1) {
      events.push({ name: 'v1.FileCreated', args: group[0]!.created }, { name: 'v1.GalleryItemAdded', args: group[0]!.added })
      if (uploads[0]) events.push({ name: 'v1.FileUploaded', args: uploads[0] })
      continue
    }
    events.push({ name: 'v1.FilesCreated', args: { files: group.map((fact) => fact.created) } })
    events.push({ name: 'v1.GalleryItemsAdded', args: { items: group.map((fact) => fact.added) } })
    if (uploads.length > 0) events.push({ name: 'v1.FilesUploaded', args: { uploads } })
  }
  const socket = await openSocket(syncUrlOf(baseUrl, storeId, { authToken: token }))
  try {
    const clientId = `seed-${crypto.randomUUID().slice(0, 8)}`
    for (let start = 0; start < events.length; start += eventsPerPush) {
      const batch = events.slice(start, start + eventsPerPush).map((event, offset) => ({
        ...event,
        seqNum: start + offset + 1,
        parentSeqNum: start + offset,
        clientId,
        sessionId: clientId,
      }))
      const answer = await call(socket, 'SyncWsRpc.Push', { storeId, payload: { authToken: token }, batch, backendId: { _tag: 'None' } })
      if (answer._tag !== 'Success') throw new Error(`seeding ${storeId}: the sync backend refused a push: ${JSON.stringify(answer).slice(0, 500)}`)
    }
  } finally {
    socket.close()
  }
}
